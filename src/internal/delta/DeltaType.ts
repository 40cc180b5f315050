/**
 * The Delta Lake type model: primitive types (including `decimal(p,s)`), struct, array and map,
 * with nullability, plus reading and writing the `schemaString` JSON of a Delta `metaData` action.
 * Shared by Zerobus Local (tables) and the client (`generate-proto`, runtime descriptors); it holds
 * no server code.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { type DeltaSchemaError, invalidSchema, isDeltaSchemaError, unsupportedType } from "./DeltaSchemaError.ts"

/**
 * Names of the primitive Delta types. `timestamp` is UTC. `timestamp_ntz` and `variant` exist so that
 * Unity Catalog tables that use them can still be mapped to protobuf; Zerobus Local cannot write them
 * (see {@link checkWritable}).
 */
export type PrimitiveName =
  | "string"
  | "long"
  | "integer"
  | "short"
  | "byte"
  | "float"
  | "double"
  | "boolean"
  | "binary"
  | "date"
  | "timestamp"
  | "timestamp_ntz"
  | "variant"

/** Every primitive name, in the order of the protocol's table. */
export const primitiveNames: ReadonlyArray<PrimitiveName> = [
  "string",
  "long",
  "integer",
  "short",
  "byte",
  "float",
  "double",
  "boolean",
  "binary",
  "date",
  "timestamp",
  "timestamp_ntz",
  "variant"
]

/** A primitive type other than decimal. */
export interface PrimitiveType {
  readonly kind: "primitive"
  readonly name: PrimitiveName
}

/** `decimal(precision, scale)`, precision 1..38, scale 0..precision. */
export interface DecimalType {
  readonly kind: "decimal"
  readonly precision: number
  readonly scale: number
}

/** `array<elementType>`. */
export interface ArrayType {
  readonly kind: "array"
  readonly elementType: DeltaType
  readonly containsNull: boolean
}

/** `map<keyType, valueType>`; keys are never null. */
export interface MapType {
  readonly kind: "map"
  readonly keyType: DeltaType
  readonly valueType: DeltaType
  readonly valueContainsNull: boolean
}

/** `struct<...>`; a table schema is a struct. */
export interface StructType {
  readonly kind: "struct"
  readonly fields: ReadonlyArray<StructField>
}

/** A named, possibly nullable, member of a struct. */
export interface StructField {
  readonly name: string
  readonly type: DeltaType
  readonly nullable: boolean
  readonly metadata: Readonly<Record<string, unknown>>
}

/** Any Delta type. */
export type DeltaType = PrimitiveType | DecimalType | ArrayType | MapType | StructType

const primitive = (name: PrimitiveName): PrimitiveType => ({ kind: "primitive", name })

/** `string` */
export const string: PrimitiveType = primitive("string")
/** `long` (int64) */
export const long: PrimitiveType = primitive("long")
/** `integer` (int32) */
export const integer: PrimitiveType = primitive("integer")
/** `short` (int16) */
export const short: PrimitiveType = primitive("short")
/** `byte` (int8) */
export const byte: PrimitiveType = primitive("byte")
/** `float` (32-bit) */
export const float: PrimitiveType = primitive("float")
/** `double` (64-bit) */
export const double: PrimitiveType = primitive("double")
/** `boolean` */
export const boolean: PrimitiveType = primitive("boolean")
/** `binary` */
export const binary: PrimitiveType = primitive("binary")
/** `date` (days since 1970-01-01) */
export const date: PrimitiveType = primitive("date")
/** `timestamp` (µs since the epoch, UTC) */
export const timestamp: PrimitiveType = primitive("timestamp")

/** `timestamp_ntz` (µs, no time zone; needs a table feature, not writable locally) */
export const timestampNtz: PrimitiveType = primitive("timestamp_ntz")
/** `variant` (semi-structured; needs a table feature, not writable locally) */
export const variant: PrimitiveType = primitive("variant")

/** Builds `decimal(precision, scale)` (not validated; see {@link validate}). */
export const decimal = (precision: number, scale: number): DecimalType => ({ kind: "decimal", precision, scale })

/** Builds `array<elementType>`. */
export const array = (elementType: DeltaType, containsNull = true): ArrayType => ({
  kind: "array",
  elementType,
  containsNull
})

/** Builds `map<keyType, valueType>`. */
export const map = (keyType: DeltaType, valueType: DeltaType, valueContainsNull = true): MapType => ({
  kind: "map",
  keyType,
  valueType,
  valueContainsNull
})

/** Builds a struct from its fields. */
export const struct = (fields: ReadonlyArray<StructField>): StructType => ({ kind: "struct", fields })

/** Builds a struct field (nullable unless told otherwise). */
export const field = (name: string, type: DeltaType, nullable = true): StructField => ({
  name,
  type,
  nullable,
  metadata: {}
})

/** The dotted path of column `name` under `path` (`""` at the top level), as errors name columns. */
export const childPath = (path: string, name: string): string => path === "" ? name : `${path}.${name}`

// ---------------------------------------------------------------------------------------------
// schemaString JSON
// ---------------------------------------------------------------------------------------------

/** A Delta type as it appears in `schemaString` JSON. */
export type TypeJson = string | ArrayJson | MapJson | StructJson

/** `{"type":"array",...}` */
export interface ArrayJson {
  readonly type: "array"
  readonly elementType: TypeJson
  readonly containsNull: boolean
}

/** `{"type":"map",...}` */
export interface MapJson {
  readonly type: "map"
  readonly keyType: TypeJson
  readonly valueType: TypeJson
  readonly valueContainsNull: boolean
}

/** `{"type":"struct","fields":[...]}` */
export interface StructJson {
  readonly type: "struct"
  readonly fields: ReadonlyArray<FieldJson>
}

/** One struct field in JSON. */
export interface FieldJson {
  readonly name: string
  readonly type: TypeJson
  readonly nullable: boolean
  readonly metadata?: { readonly [key: string]: unknown } | undefined
}

const TypeJsonSchema: Schema.Codec<TypeJson> = Schema.Union([
  Schema.String,
  Schema.Struct({
    type: Schema.Literal("array"),
    elementType: Schema.suspend((): Schema.Codec<TypeJson> => TypeJsonSchema),
    containsNull: Schema.Boolean
  }),
  Schema.Struct({
    type: Schema.Literal("map"),
    keyType: Schema.suspend((): Schema.Codec<TypeJson> => TypeJsonSchema),
    valueType: Schema.suspend((): Schema.Codec<TypeJson> => TypeJsonSchema),
    valueContainsNull: Schema.Boolean
  }),
  Schema.suspend((): Schema.Codec<StructJson> => StructJsonSchema)
])

const FieldJsonSchema: Schema.Codec<FieldJson> = Schema.Struct({
  name: Schema.String,
  type: TypeJsonSchema,
  nullable: Schema.Boolean,
  metadata: Schema.optional(Schema.Record(Schema.String, Schema.Unknown))
})

const StructJsonSchema: Schema.Codec<StructJson> = Schema.Struct({
  type: Schema.Literal("struct"),
  fields: Schema.Array(FieldJsonSchema)
})

const decodeSchemaJson = Schema.decodeUnknownEffect(Schema.fromJsonString(StructJsonSchema))

const DECIMAL = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/
const isPrimitiveName = (s: string): s is PrimitiveName => (primitiveNames as ReadonlyArray<string>).includes(s)

const typeFromJson = (json: TypeJson, path: string): DeltaType => {
  if (typeof json === "string") {
    if (isPrimitiveName(json)) return primitive(json)
    if (json === "decimal") return decimal(10, 0)
    const m = DECIMAL.exec(json)
    if (m !== null) return decimal(Number(m[1]), Number(m[2]))
    throw unsupportedType(path, `unsupported Delta type '${json}'`)
  }
  switch (json.type) {
    case "array":
      return array(typeFromJson(json.elementType, `${path}[]`), json.containsNull)
    case "map":
      return map(
        typeFromJson(json.keyType, `${path}.key`),
        typeFromJson(json.valueType, `${path}.value`),
        json.valueContainsNull
      )
    case "struct":
      return structFromJson(json, path)
  }
}

const structFromJson = (json: StructJson, path: string): StructType =>
  struct(json.fields.map((f) => ({
    name: f.name,
    type: typeFromJson(f.type, childPath(path, f.name)),
    nullable: f.nullable,
    metadata: f.metadata ?? {}
  })))

/** Encodes a type as `schemaString` JSON (a value, not yet a string). */
export const typeToJson = (type: DeltaType): TypeJson => {
  switch (type.kind) {
    case "primitive":
      return type.name
    case "decimal":
      return `decimal(${type.precision},${type.scale})`
    case "array":
      return { type: "array", elementType: typeToJson(type.elementType), containsNull: type.containsNull }
    case "map":
      return {
        type: "map",
        keyType: typeToJson(type.keyType),
        valueType: typeToJson(type.valueType),
        valueContainsNull: type.valueContainsNull
      }
    case "struct":
      return {
        type: "struct",
        fields: type.fields.map((f) => ({
          name: f.name,
          type: typeToJson(f.type),
          nullable: f.nullable,
          metadata: f.metadata
        }))
      }
  }
}

/** Serializes a table schema to the `schemaString` of a Delta `metaData` action. */
export const toSchemaString = (schema: StructType): string => JSON.stringify(typeToJson(schema))

// Characters Spark rejects in Parquet column names when column mapping is off.
const INVALID_NAME = /[ ,;{}()\n\t=]/

const validateType = (type: DeltaType, path: string): void => {
  switch (type.kind) {
    case "primitive":
      return
    case "decimal":
      if (!Number.isInteger(type.precision) || type.precision < 1 || type.precision > 38) {
        throw unsupportedType(path, `decimal precision must be 1..38, got ${type.precision}`)
      }
      if (!Number.isInteger(type.scale) || type.scale < 0 || type.scale > type.precision) {
        throw unsupportedType(path, `decimal scale must be 0..${type.precision}, got ${type.scale}`)
      }
      return
    case "array":
      return validateType(type.elementType, `${path}[]`)
    case "map":
      if (type.keyType.kind !== "decimal" && (type.keyType.kind !== "primitive" || type.keyType.name === "binary")) {
        throw unsupportedType(path, "map keys must be a primitive type other than binary")
      }
      validateType(type.keyType, `${path}.key`)
      return validateType(type.valueType, `${path}.value`)
    case "struct": {
      const seen = new Set<string>()
      for (const f of type.fields) {
        const fieldPath = childPath(path, f.name)
        if (f.name === "") throw invalidSchema(`empty field name in ${path === "" ? "the schema" : `'${path}'`}`)
        if (f.name === "__proto__") throw invalidSchema(`field name '${fieldPath}' is reserved`)
        if (INVALID_NAME.test(f.name)) {
          throw invalidSchema(`field name '${fieldPath}' contains one of the characters ' ,;{}()\\n\\t='`)
        }
        const key = f.name.toLowerCase()
        if (seen.has(key)) throw invalidSchema(`duplicate field name '${fieldPath}' (names are case-insensitive)`)
        seen.add(key)
        validateType(f.type, fieldPath)
      }
      if (path === "" && type.fields.length === 0) throw invalidSchema("a table needs at least one column")
    }
  }
}

/** Runs a throwing schema helper, keeping its {@link DeltaSchemaError}. */
export const catchSchemaError = <A>(f: () => A): Effect.Effect<A, DeltaSchemaError> =>
  Effect.try({
    try: f,
    catch: (e) => isDeltaSchemaError(e) ? e : invalidSchema(String(e))
  })

/**
 * Checks a table schema: at least one column, names non-empty, free of ` ,;{}()\n\t=` and unique
 * case-insensitively at each level, decimal bounds, primitive map keys.
 */
export const validate = (schema: StructType): Effect.Effect<StructType, DeltaSchemaError> =>
  catchSchemaError(() => {
    validateType(schema, "")
    return schema
  })

/** Parses and validates the `schemaString` of a Delta `metaData` action. */
export const parseSchemaString = Effect.fnUntraced(function*(schemaString: string) {
  const json = yield* decodeSchemaJson(schemaString).pipe(
    Effect.mapError((e) => invalidSchema(`invalid schemaString: ${e.message}`))
  )
  const schema = yield* catchSchemaError(() => structFromJson(json, ""))
  return yield* validate(schema)
})

const NOT_WRITABLE: Partial<Record<PrimitiveName, string>> = {
  timestamp_ntz: "timestamp_ntz needs the Delta timestampNtz table feature, which Zerobus Local does not write",
  variant: "variant needs the Delta variantType table feature, which Zerobus Local does not write"
}

const checkWritableType = (type: DeltaType, path: string): void => {
  switch (type.kind) {
    case "primitive": {
      const reason = NOT_WRITABLE[type.name]
      if (reason !== undefined) throw unsupportedType(path, reason)
      return
    }
    case "decimal":
      return
    case "array":
      return checkWritableType(type.elementType, `${path}[]`)
    case "map":
      checkWritableType(type.keyType, `${path}.key`)
      return checkWritableType(type.valueType, `${path}.value`)
    case "struct":
      for (const f of type.fields) checkWritableType(f.type, childPath(path, f.name))
  }
}

/**
 * Checks that a (valid) schema uses only types Zerobus Local writes with protocol (1, 2): everything
 * except `timestamp_ntz` and `variant`.
 */
export const checkWritable = (schema: StructType): Effect.Effect<StructType, DeltaSchemaError> =>
  catchSchemaError(() => {
    checkWritableType(schema, "")
    return schema
  })

/** Renders a type the way Spark SQL and Unity Catalog `type_text` spell it (lowercase). */
export const toTypeText = (type: DeltaType): string => {
  switch (type.kind) {
    case "primitive":
      switch (type.name) {
        case "long":
          return "bigint"
        case "integer":
          return "int"
        case "short":
          return "smallint"
        case "byte":
          return "tinyint"
        default:
          return type.name
      }
    case "decimal":
      return `decimal(${type.precision},${type.scale})`
    case "array":
      return `array<${toTypeText(type.elementType)}>`
    case "map":
      return `map<${toTypeText(type.keyType)},${toTypeText(type.valueType)}>`
    case "struct":
      return `struct<${
        type.fields.map((f) => `${f.name}:${toTypeText(f.type)}${f.nullable ? "" : " not null"}`).join(",")
      }>`
  }
}
