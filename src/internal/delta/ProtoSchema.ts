/**
 * Delta/Unity Catalog table ↔ protobuf schema.
 *
 * - {@link toProto}: a table → a proto2 `.proto` text and the `DescriptorProto` a client sends as
 *   `descriptor_proto`, exactly as Databricks' generator maps them: field numbers 1.. skipping
 *   19000–19999, `required` for NOT NULL, `optional` otherwise, STRUCT → a message nested in the
 *   parent named PascalCase(field), DATE → int32 days, TIMESTAMP → int64 µs, ARRAY → repeated,
 *   MAP → map (integral/bool/string keys only).
 * - {@link resolveDescriptor}: the bytes of a client's `descriptor_proto` → a resolved message.
 * - {@link schemaFromDescriptor}: a resolved message → a table schema (auto-created tables).
 *
 * @internal
 */
import {
  clone,
  create,
  createFileRegistry,
  type DescField,
  type DescMessage,
  fromBinary,
  ScalarType
} from "@bufbuild/protobuf"
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  FileDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"
import * as Effect from "effect/Effect"
import { type DeltaSchemaError, invalidSchema, unsupportedType } from "./DeltaSchemaError.ts"
import * as Delta from "./DeltaType.ts"

// ---------------------------------------------------------------------------------------------
// Delta → protobuf
// ---------------------------------------------------------------------------------------------

/** Options of {@link toProto}. */
export interface ToProtoOptions {
  /** Name of the top-level message (Databricks' Rust tool uses `table_<name>`). */
  readonly messageName: string
  /** `package` statement of the `.proto` text; also qualifies the descriptor's type names. */
  readonly packageName?: string | undefined
}

/** A generated schema: `.proto` text plus the `DescriptorProto` of the top-level message. */
export interface ProtoOutput {
  readonly text: string
  readonly descriptor: DescriptorProto
}

const RESERVED = new Set([
  "syntax",
  "import",
  "option",
  "package",
  "message",
  "enum",
  "service",
  "rpc",
  "returns",
  "reserved",
  "to",
  "max",
  "double",
  "float",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "bool",
  "string",
  "bytes"
])

const MAX_DEPTH = 100

/** PascalCase as Databricks' generator spells it: split on `_`, upper-case each word's first letter. */
export const pascalCase = (name: string): string =>
  name.split("_").filter((w) => w !== "").map((w) => w[0]!.toUpperCase() + w.slice(1)).join("")

const checkFieldName = (name: string, path: string): void => {
  if (!/^[\p{L}\p{N}_]+$/u.test(name)) {
    throw unsupportedType(path, `invalid protobuf field name '${name}': only letters, digits and '_' are allowed`)
  }
  if (/^\d/.test(name)) throw unsupportedType(path, `invalid protobuf field name '${name}': starts with a digit`)
  if (RESERVED.has(name)) throw unsupportedType(path, `invalid protobuf field name '${name}': a reserved keyword`)
}

/** Next field number after `n`, skipping the range 19000–19999 reserved by protobuf. */
export const nextFieldNumber = (n: number): number => (n + 1 === 19000 ? 20000 : n + 1)

type Scalar = { readonly text: string; readonly type: FieldDescriptorProto_Type }

const T = FieldDescriptorProto_Type
const SCALARS: Partial<Record<Delta.PrimitiveName, Scalar>> = {
  byte: { text: "int32", type: T.INT32 },
  short: { text: "int32", type: T.INT32 },
  integer: { text: "int32", type: T.INT32 },
  long: { text: "int64", type: T.INT64 },
  float: { text: "float", type: T.FLOAT },
  double: { text: "double", type: T.DOUBLE },
  string: { text: "string", type: T.STRING },
  boolean: { text: "bool", type: T.BOOL },
  binary: { text: "bytes", type: T.BYTES },
  date: { text: "int32", type: T.INT32 },
  timestamp: { text: "int64", type: T.INT64 },
  timestamp_ntz: { text: "int64", type: T.INT64 },
  variant: { text: "string", type: T.STRING }
}

const MAP_KEY_TYPES = new Set([T.INT32, T.INT64, T.BOOL, T.STRING])

/** What one column becomes: a proto type (scalar or nested message), its nested definition, if any. */
interface Mapped {
  readonly text: string
  readonly type: FieldDescriptorProto_Type
  readonly typeName?: string | undefined
  readonly nested?: NestedMessage | undefined
}

/** The descriptor of one field of a mapped type (`typeName` only for messages). */
const fieldProto = (
  name: string,
  number: number,
  label: FieldDescriptorProto_Label,
  mapped: Pick<Mapped, "type" | "typeName">
): FieldDescriptorProto =>
  create(FieldDescriptorProtoSchema, {
    name,
    number,
    label,
    type: mapped.type,
    ...(mapped.typeName === undefined ? {} : { typeName: mapped.typeName })
  })

interface NestedMessage {
  readonly lines: ReadonlyArray<string>
  readonly descriptor: DescriptorProto
}

class Generator {
  structCounter = 0

  /** Maps a non-repeated, non-map type (a scalar or a struct). */
  single(type: Delta.DeltaType, name: string, path: string, scope: string, level: number): Mapped {
    if (level > MAX_DEPTH) throw unsupportedType(path, `nesting deeper than ${MAX_DEPTH} levels`)
    switch (type.kind) {
      case "primitive": {
        const scalar = SCALARS[type.name]
        if (scalar === undefined) throw unsupportedType(path, `type ${Delta.toTypeText(type)} has no protobuf mapping`)
        return scalar
      }
      case "decimal":
        throw unsupportedType(path, `type ${Delta.toTypeText(type)} has no protobuf mapping`)
      case "struct":
        return this.struct(type, name, path, scope, level)
      case "array":
      case "map":
        throw unsupportedType(path, `nested ${type.kind} types are not supported by protobuf; wrap them in a struct`)
    }
  }

  struct(type: Delta.StructType, name: string, path: string, scope: string, level: number): Mapped {
    this.structCounter++
    const base = pascalCase(name)
    const messageName = base === "" ? `Struct${this.structCounter}` : base
    const qualified = `${scope}.${messageName}`
    const body = this.fields(
      type.fields.map((f) => ({ ...f, nullable: true })), // struct fields are always optional
      path,
      qualified,
      level + 1
    )
    const indent = "\t".repeat(level)
    return {
      text: messageName,
      type: T.MESSAGE,
      typeName: qualified,
      nested: {
        lines: [`${indent}message ${messageName} {`, ...body.lines, `${indent}}`],
        descriptor: create(DescriptorProtoSchema, {
          name: messageName,
          field: body.fields,
          nestedType: body.nested
        })
      }
    }
  }

  /** One column: label, proto type and descriptor field(s). */
  column(f: Delta.StructField, number: number, path: string, scope: string, level: number) {
    checkFieldName(f.name, path)
    const indent = "\t".repeat(level)
    const type = f.type
    if (type.kind === "array") {
      if (type.elementType.kind === "array") {
        throw unsupportedType(path, "directly nested arrays are not supported; wrap the inner array in a struct")
      }
      if (type.elementType.kind === "map") {
        throw unsupportedType(path, "arrays of maps are not supported by protobuf; wrap the map in a struct")
      }
      const element = this.single(type.elementType, f.name, path, scope, level)
      return {
        line: `${indent}repeated ${element.text} ${f.name} = ${number};`,
        nested: element.nested === undefined ? [] : [element.nested],
        field: fieldProto(f.name, number, FieldDescriptorProto_Label.REPEATED, element)
      }
    }
    if (type.kind === "map") {
      const key = this.single(type.keyType, f.name, `${path}.key`, scope, level)
      if (!MAP_KEY_TYPES.has(key.type)) {
        throw unsupportedType(path, `map key type ${Delta.toTypeText(type.keyType)} is not allowed by protobuf`)
      }
      if (type.valueType.kind === "map") throw unsupportedType(path, "protobuf does not support nested maps")
      if (type.valueType.kind === "array") {
        throw unsupportedType(path, "maps of arrays are not supported by protobuf; wrap the array in a struct")
      }
      const value = this.single(type.valueType, f.name, `${path}.value`, scope, level)
      const entryName = `${pascalCase(f.name)}Entry`
      const entry = create(DescriptorProtoSchema, {
        name: entryName,
        field: [
          fieldProto("key", 1, FieldDescriptorProto_Label.OPTIONAL, { type: key.type }),
          fieldProto("value", 2, FieldDescriptorProto_Label.OPTIONAL, value)
        ],
        options: { mapEntry: true }
      })
      return {
        line: `${indent}map<${key.text}, ${value.text}> ${f.name} = ${number};`,
        nested: value.nested === undefined ? [] : [value.nested],
        entry,
        field: fieldProto(f.name, number, FieldDescriptorProto_Label.REPEATED, {
          type: T.MESSAGE,
          typeName: `${scope}.${entryName}`
        })
      }
    }
    const single = this.single(type, f.name, path, scope, level)
    const label = f.nullable ? "optional" : "required"
    return {
      line: `${indent}${label} ${single.text} ${f.name} = ${number};`,
      nested: single.nested === undefined ? [] : [single.nested],
      field: fieldProto(
        f.name,
        number,
        f.nullable ? FieldDescriptorProto_Label.OPTIONAL : FieldDescriptorProto_Label.REQUIRED,
        single
      )
    }
  }

  fields(fields: ReadonlyArray<Delta.StructField>, path: string, scope: string, level: number) {
    const lines: Array<string> = []
    const out: Array<FieldDescriptorProto> = []
    const nested: Array<DescriptorProto> = []
    const names = new Set<string>()
    let number = 0
    for (const f of fields) {
      number = nextFieldNumber(number)
      const fieldPath = Delta.childPath(path, f.name)
      const column = this.column(f, number, fieldPath, scope, level)
      for (const n of column.nested) {
        if (names.has(n.descriptor.name)) {
          throw unsupportedType(fieldPath, `a nested message named '${n.descriptor.name}' already exists here`)
        }
        names.add(n.descriptor.name)
        lines.push(...n.lines)
        if (level === 1) lines.push("") // the generator leaves a blank line after top-level messages
        nested.push(n.descriptor)
      }
      if ("entry" in column && column.entry !== undefined) nested.push(column.entry)
      lines.push(column.line)
      out.push(column.field)
    }
    return { lines, fields: out, nested }
  }
}

/**
 * Maps a table schema to proto2, as Databricks' generator does. Decimal, nested arrays/maps and
 * invalid field names fail with `UnsupportedType` naming the column.
 */
export const toProto = (
  schema: Delta.StructType,
  options: ToProtoOptions
): Effect.Effect<ProtoOutput, DeltaSchemaError> =>
  Delta.catchSchemaError(() => {
    const pkg = options.packageName ?? ""
    const qualifiedRoot = pkg === "" ? `.${options.messageName}` : `.${pkg}.${options.messageName}`
    const generator = new Generator()
    const body = generator.fields(schema.fields, "", qualifiedRoot, 1)
    const header = pkg === "" ? "syntax = \"proto2\";\n\n" : `syntax = "proto2";\n\npackage ${pkg};\n\n`
    const text = `${header}message ${options.messageName} {\n${body.lines.map((l) => `${l}\n`).join("")}}\n`
    const descriptor = create(DescriptorProtoSchema, {
      name: options.messageName,
      field: body.fields,
      nestedType: body.nested
    })
    return { text, descriptor }
  })

// ---------------------------------------------------------------------------------------------
// descriptor_proto → resolved message
// ---------------------------------------------------------------------------------------------

const LOCAL_PACKAGE = "zerobus_local"

/** Relative paths (`A`, `A.B`) of every message and enum nested in `message`. */
const nestedPaths = (message: DescriptorProto, prefix: string, out: Set<string>): Set<string> => {
  for (const e of message.enumType) out.add(`${prefix}${e.name}`)
  for (const n of message.nestedType) {
    out.add(`${prefix}${n.name}`)
    nestedPaths(n, `${prefix}${n.name}.`, out)
  }
  return out
}

/** Well-known types a descriptor may reference, by full name, with the file that defines them. */
const WELL_KNOWN: Readonly<Record<string, string>> = {
  "google.protobuf.Timestamp": "google/protobuf/timestamp.proto",
  ...Object.fromEntries(
    ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map((
      t
    ) => [`google.protobuf.${t}Value`, "google/protobuf/wrappers.proto"])
  )
}

const WELL_KNOWN_FILES = {
  "google/protobuf/timestamp.proto": file_google_protobuf_timestamp,
  "google/protobuf/wrappers.proto": file_google_protobuf_wrappers
} as const

/**
 * Rewrites every `type_name` to a fully-qualified name under our package (self-containment check);
 * references to `google.protobuf.Timestamp` and the wrapper types are kept, and their files noted.
 */
const qualifyTypeNames = (
  root: DescriptorProto,
  message: DescriptorProto,
  paths: Set<string>,
  path: string,
  imports: Set<string>
): void => {
  for (const f of message.field) {
    if (f.typeName === "") continue
    const wellKnown = WELL_KNOWN[f.typeName.replace(/^\./, "")]
    if (wellKnown !== undefined) {
      imports.add(wellKnown)
      f.typeName = `.${f.typeName.replace(/^\./, "")}`
      continue
    }
    const parts = f.typeName.replace(/^\./, "").split(".")
    let resolved: string | undefined
    for (let i = 0; i < parts.length && resolved === undefined; i++) {
      const suffix = parts.slice(i).join(".")
      if (suffix === root.name) resolved = ""
      else if (suffix.startsWith(`${root.name}.`) && paths.has(suffix.slice(root.name.length + 1))) {
        resolved = suffix.slice(root.name.length + 1)
      } else if (paths.has(suffix)) resolved = suffix
    }
    if (resolved === undefined) {
      throw invalidSchema(
        `field '${path}${f.name}' refers to type '${f.typeName}', which is not nested in message '${root.name}'; ` +
          "a descriptor_proto must be self-contained (google.protobuf.Timestamp and the wrapper types are allowed)"
      )
    }
    f.typeName = resolved === "" ? `.${LOCAL_PACKAGE}.${root.name}` : `.${LOCAL_PACKAGE}.${root.name}.${resolved}`
  }
  for (const n of message.nestedType) qualifyTypeNames(root, n, paths, `${path}${n.name}.`, imports)
}

const usesProto3Optional = (message: DescriptorProto): boolean =>
  message.field.some((f) => f.proto3Optional) || message.nestedType.some(usesProto3Optional)

/**
 * Resolves a client's `descriptor_proto` (the bytes of one `DescriptorProto`, or the decoded
 * message) into a message descriptor. Nested types must be nested in the message; type names
 * may use any package. The message is read with proto2 semantics (unless it uses proto3
 * `optional`), so fields that are not set are NULL.
 */
export const resolveDescriptor = (
  descriptor: Uint8Array | DescriptorProto
): Effect.Effect<DescMessage, DeltaSchemaError> =>
  Delta.catchSchemaError(() => {
    let message: DescriptorProto
    try {
      // a copy either way: type names are rewritten below
      message = descriptor instanceof Uint8Array
        ? fromBinary(DescriptorProtoSchema, descriptor)
        : clone(DescriptorProtoSchema, descriptor)
    } catch (e) {
      throw invalidSchema(`descriptor_proto is not a DescriptorProto: ${e instanceof Error ? e.message : String(e)}`)
    }
    if (message.name === "") throw invalidSchema("descriptor_proto has no message name")
    const imports = new Set<string>()
    qualifyTypeNames(message, message, nestedPaths(message, "", new Set()), "", imports)
    const file = create(FileDescriptorProtoSchema, {
      name: "zerobus_local_stream.proto",
      package: LOCAL_PACKAGE,
      dependency: [...imports],
      syntax: usesProto3Optional(message) ? "proto3" : "proto2",
      messageType: [message]
    })
    try {
      const registry = createFileRegistry(
        file,
        (name) =>
          name === "google/protobuf/timestamp.proto" || name === "google/protobuf/wrappers.proto"
            ? WELL_KNOWN_FILES[name]
            : undefined
      )
      const resolved = registry.getMessage(`${LOCAL_PACKAGE}.${message.name}`)
      if (resolved === undefined) throw new Error(`message ${message.name} not found`)
      return resolved
    } catch (e) {
      throw invalidSchema(`descriptor_proto is invalid: ${e instanceof Error ? e.message : String(e)}`)
    }
  })

// ---------------------------------------------------------------------------------------------
// resolved message → Delta (auto-created tables)
// ---------------------------------------------------------------------------------------------

const scalarToDelta = (scalar: ScalarType): Delta.DeltaType => {
  switch (scalar) {
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return Delta.integer
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return Delta.long
    case ScalarType.FLOAT:
      return Delta.float
    case ScalarType.DOUBLE:
      return Delta.double
    case ScalarType.BOOL:
      return Delta.boolean
    case ScalarType.STRING:
      return Delta.string
    case ScalarType.BYTES:
      return Delta.binary
  }
}

/** The Delta type of a well-known message: Timestamp → timestamp, `XxxValue` → its scalar. */
const wellKnownToDelta = (message: DescMessage): Delta.DeltaType | undefined => {
  if (message.typeName === "google.protobuf.Timestamp") return Delta.timestamp
  if (message.typeName in WELL_KNOWN) {
    const value = message.fields.find((f) => f.name === "value")
    if (value?.fieldKind === "scalar") return scalarToDelta(value.scalar)
  }
  return undefined
}

const messageToDelta = (message: DescMessage, path: string, stack: ReadonlyArray<string>): Delta.DeltaType =>
  wellKnownToDelta(message) ?? messageToStruct(message, path, stack)

const messageToStruct = (message: DescMessage, path: string, stack: ReadonlyArray<string>): Delta.StructType => {
  if (stack.includes(message.typeName)) {
    throw unsupportedType(path, `message ${message.name} is recursive; a table needs a finite schema`)
  }
  if (stack.length > MAX_DEPTH) throw unsupportedType(path, `nesting deeper than ${MAX_DEPTH} levels`)
  const inner = [...stack, message.typeName]
  return Delta.struct(message.fields.map((f) => {
    const fieldPath = Delta.childPath(path, f.name)
    return Delta.field(f.name, fieldToDelta(f, fieldPath, inner), f.proto.label !== FieldDescriptorProto_Label.REQUIRED)
  }))
}

const fieldToDelta = (f: DescField, path: string, stack: ReadonlyArray<string>): Delta.DeltaType => {
  if (f.proto.type === FieldDescriptorProto_Type.GROUP) throw unsupportedType(path, "proto2 groups are not supported")
  switch (f.fieldKind) {
    case "scalar":
      return scalarToDelta(f.scalar)
    case "enum":
      return Delta.string
    case "message":
      return messageToDelta(f.message, path, stack)
    case "list":
      return Delta.array(
        f.listKind === "scalar"
          ? scalarToDelta(f.scalar)
          : f.listKind === "enum"
          ? Delta.string
          : messageToDelta(f.message, `${path}[]`, stack),
        false
      )
    case "map":
      return Delta.map(
        scalarToDelta(f.mapKey),
        f.mapKind === "scalar"
          ? scalarToDelta(f.scalar)
          : f.mapKind === "enum"
          ? Delta.string
          : messageToDelta(f.message, `${path}.value`, stack),
        true
      )
  }
}

/**
 * The table schema for a stream's message, used when a table is created from the first stream's
 * descriptor: int32/sint32/sfixed32 → integer; int64/sint64/sfixed64/uint32/fixed32/uint64/fixed64
 * → long; float, double, bool, string, bytes → float, double, boolean, string, binary; enum →
 * string (value name); google.protobuf.Timestamp → timestamp; wrapper types (`Int64Value`, ...) →
 * their scalar; other messages → struct; repeated → array (no null elements); map → map. A proto2
 * `required` field becomes NOT NULL; every other field is nullable.
 */
export const schemaFromDescriptor = (message: DescMessage): Effect.Effect<Delta.StructType, DeltaSchemaError> =>
  Delta.catchSchemaError(() => messageToStruct(message, "", [])).pipe(Effect.flatMap(Delta.validate))
