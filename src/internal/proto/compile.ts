/**
 * Effect Schema → protobuf: derives a self-contained proto2 `DescriptorProto` and a precompiled
 * writer from a struct schema's type side. Every nested message is declared inside the root
 * message, and `type_name`s are `.<Root>.<Nested>...` (a file without a package), so the one
 * `DescriptorProto` a Zerobus stream sends is all a server needs.
 *
 * The writer trusts its input: the public codec validates each value with the Schema first.
 *
 * @internal
 */
import { create } from "@bufbuild/protobuf"
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FieldDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"
import { Array as Arr, DateTime, Predicate, SchemaAST } from "effect"
import { makeTag, WireType, type Writer } from "./writer.ts"

/** The protobuf numeric types a `number` or `bigint` schema can be written as. */
export type NumericType =
  | "double"
  | "float"
  | "int32"
  | "int64"
  | "uint32"
  | "uint64"
  | "sint32"
  | "sint64"
  | "fixed32"
  | "fixed64"
  | "sfixed32"
  | "sfixed64"

/** Annotation key: the `NumericType` of a number or bigint schema. */
export const NUMERIC_TYPE_KEY = "effect-zerobus/ProtoSchema/numericType"

/** Annotation key: `true` on a date schema written as int32 days since the epoch. */
export const EPOCH_DAYS_KEY = "effect-zerobus/ProtoSchema/epochDays"

/** Annotation key: the explicit field number of a struct property. */
export const FIELD_NUMBER_KEY = "effect-zerobus/ProtoSchema/fieldNumber"

/** Largest field number protobuf allows. */
export const MAX_FIELD_NUMBER = 536_870_911

/** Field numbers reserved by the protobuf implementation. */
export const isReservedFieldNumber = (n: number): boolean => n >= 19_000 && n <= 19_999

const MAX_DEPTH = 100
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const MAX_SAFE = Number.MAX_SAFE_INTEGER
const MS_PER_DAY = 86_400_000

/** Whether a name is a valid protobuf identifier. */
export const isIdentifier = (name: string): boolean => IDENTIFIER.test(name)

/** A schema (part) that has no protobuf mapping; thrown inside this module, returned by `compile`. */
export class MappingFailure {
  constructor(readonly path: string, readonly detail: string) {}
}

/**
 * A value the Schema accepted but protobuf cannot hold (a `bigint` outside the int64 range, where
 * the schema has no range check); thrown by the writer, turned into a `Schema.SchemaError` by the
 * codec.
 */
export class ValueOutOfRange {
  constructor(readonly path: string, readonly detail: string) {}
}

/** Options of `compile`. */
export interface CompileOptions {
  readonly messageName?: string | undefined
  readonly packed?: boolean | undefined
}

/** The result of `compile`. */
export interface Compiled {
  /** The root message (named by `messageName` or the schema's identifier). */
  readonly descriptor: DescriptorProto
  /** Writes the fields of a (validated) root value, without tag or length. */
  readonly write: (w: Writer, value: unknown) => void
}

type Write = (w: Writer, value: unknown) => void
type Fields = { readonly [x: PropertyKey]: unknown }

/** How one (non-repeated) value is written. */
interface ValuePlan {
  readonly type: Type
  readonly typeName: string | undefined
  readonly wireType: number
  /** Bytes per value for fixed-width types, 0 otherwise. */
  readonly width: number
  readonly packable: boolean
  readonly mapKey: boolean
  readonly write: Write
}

/** What a type-side AST denotes, before protobuf types are chosen. */
type Base =
  | { readonly _tag: "string" }
  | { readonly _tag: "number" }
  | { readonly _tag: "boolean" }
  | { readonly _tag: "bigint" }
  | { readonly _tag: "date" }
  | { readonly _tag: "datetime" }
  | { readonly _tag: "bytes" }
  | { readonly _tag: "message"; readonly objects: SchemaAST.Objects }
  | { readonly _tag: "array"; readonly element: SchemaAST.AST }
  | { readonly _tag: "map"; readonly key: SchemaAST.AST; readonly value: SchemaAST.AST; readonly record: boolean }
  | { readonly _tag: "unsupported"; readonly detail: string }

/**
 * Derives the descriptor and writer of a struct schema. Returns a `MappingFailure` naming the
 * path of the first field that cannot be mapped.
 */
export const compile = (ast: SchemaAST.AST, options: CompileOptions = {}): Compiled | MappingFailure => {
  try {
    return compileRoot(SchemaAST.toType(ast), options)
  } catch (error) {
    if (error instanceof MappingFailure) return error
    throw error
  }
}

const compileRoot = (ast: SchemaAST.AST, options: CompileOptions): Compiled => {
  const base = classify(ast)
  if (base._tag !== "message") {
    const what = base._tag === "unsupported" ? base.detail : `a ${base._tag}`
    throw new MappingFailure("", `the root schema must be a struct (Schema.Struct or Schema.Class), not ${what}`)
  }
  const messageName = options.messageName ?? defaultMessageName(ast)
  if (!isIdentifier(messageName)) {
    throw new MappingFailure("", `message name ${JSON.stringify(messageName)} is not a protobuf identifier`)
  }
  const message = compileMessage(base.objects, messageName, `.${messageName}`, [], 1, options.packed ?? true)
  return { descriptor: message.descriptor, write: message.writeFields }
}

const defaultMessageName = (ast: SchemaAST.AST): string => {
  const identifier = SchemaAST.resolveIdentifier(ast)
  if (identifier === undefined || identifier.length === 0) return "Record"
  const cleaned = identifier.replace(/[^A-Za-z0-9_]/g, "_")
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned
}

// ---------------------------------------------------------------------------------------------
// classification

const representationId = (ast: SchemaAST.Declaration): unknown => {
  const representation = ast.annotations?.["representation"]
  return Predicate.hasProperty(representation, "id") ? representation.id : undefined
}

/** Leaf members of (nested) unions. */
const unionMembers = (ast: SchemaAST.AST, out: Array<SchemaAST.AST>): Array<SchemaAST.AST> => {
  if (SchemaAST.isUnion(ast)) { for (const member of ast.types) unionMembers(member, out) }
  else out.push(ast)
  return out
}

const isNullish = (ast: SchemaAST.AST): boolean =>
  SchemaAST.isNull(ast) || SchemaAST.isUndefined(ast) || SchemaAST.isVoid(ast)

const describeAst = (ast: SchemaAST.AST): string => {
  const identifier = SchemaAST.resolveIdentifier(ast)
  if (identifier !== undefined) return identifier
  const expected = ast.annotations?.["expected"]
  return Predicate.isString(expected) ? expected : ast._tag
}

const classify = (ast: SchemaAST.AST, depth = 0): Base => {
  if (depth > MAX_DEPTH) return { _tag: "unsupported", detail: "recursive schemas are not supported" }
  switch (ast._tag) {
    case "String":
    case "TemplateLiteral":
      return { _tag: "string" }
    case "Number":
      return { _tag: "number" }
    case "Boolean":
      return { _tag: "boolean" }
    case "BigInt":
      return { _tag: "bigint" }
    case "Literal":
      return classifyLiteral(ast.literal)
    case "Enum": {
      const kinds = new Set(ast.enums.map(([, value]) => typeof value))
      if (kinds.size === 1) return kinds.has("string") ? { _tag: "string" } : { _tag: "number" }
      return { _tag: "unsupported", detail: "enums mixing string and number values are not supported" }
    }
    case "Union":
      return classifyUnion(ast, depth)
    case "Arrays": {
      const element = ast.rest[0]
      if (ast.rest.length === 1 && element !== undefined && ast.elements.every((e) => e === element)) {
        return { _tag: "array", element }
      }
      return { _tag: "unsupported", detail: "tuples are not supported (use Schema.Array or a struct)" }
    }
    case "Objects": {
      const index = ast.indexSignatures[0]
      if (ast.indexSignatures.length === 0) return { _tag: "message", objects: ast }
      if (ast.propertySignatures.length === 0 && ast.indexSignatures.length === 1 && index !== undefined) {
        return { _tag: "map", key: index.parameter, value: index.type, record: true }
      }
      return {
        _tag: "unsupported",
        detail: "structs with index signatures (records mixed with fields) are not supported"
      }
    }
    case "Declaration":
      return classifyDeclaration(ast)
    case "Suspend":
      return classify(ast.thunk(), depth + 1)
    case "Null":
    case "Undefined":
    case "Void":
      return { _tag: "unsupported", detail: `a field cannot be only ${ast._tag.toLowerCase()}` }
    default:
      return { _tag: "unsupported", detail: `${describeAst(ast)} values have no protobuf mapping` }
  }
}

const classifyLiteral = (literal: SchemaAST.LiteralValue): Base => {
  switch (typeof literal) {
    case "string":
      return { _tag: "string" }
    case "number":
      return { _tag: "number" }
    case "boolean":
      return { _tag: "boolean" }
    default:
      return { _tag: "bigint" }
  }
}

const classifyUnion = (ast: SchemaAST.Union, depth: number): Base => {
  const members = unionMembers(ast, []).filter((member) => !isNullish(member))
  const first = members[0]
  if (first === undefined) return { _tag: "unsupported", detail: "a field cannot be only null or undefined" }
  const bases = members.map((member) => classify(member, depth + 1))
  const unsupported = bases.find((base) => base._tag === "unsupported")
  if (unsupported !== undefined) return unsupported
  const firstBase = bases[0]
  if (members.length === 1 && firstBase !== undefined) return firstBase
  const scalar = ["string", "number", "boolean", "bigint"]
  const tags = new Set(bases.map((base) => base._tag))
  const tag = [...tags][0]
  if (tags.size === 1 && tag !== undefined && scalar.includes(tag) && firstBase !== undefined) return firstBase
  return {
    _tag: "unsupported",
    detail: `unions of different types are not supported (${[...tags].join(" | ")})`
  }
}

const classifyDeclaration = (ast: SchemaAST.Declaration): Base => {
  switch (representationId(ast)) {
    case "effect/schema/Date":
      return { _tag: "date" }
    case "effect/schema/DateTimeUtc":
    case "effect/schema/DateTimeZoned":
      return { _tag: "datetime" }
    case "effect/schema/Uint8Array":
      return { _tag: "bytes" }
    case "effect/schema/ReadonlyMap": {
      const [key, value] = ast.typeParameters
      if (key !== undefined && value !== undefined) return { _tag: "map", key, value, record: false }
      break
    }
    case undefined: {
      // Schema.Class and friends: a declaration over the struct of their fields
      const [fields] = ast.typeParameters
      if (ast.typeParameters.length === 1 && fields !== undefined && SchemaAST.isObjects(fields)) {
        if (fields.indexSignatures.length === 0) return { _tag: "message", objects: fields }
      }
      break
    }
  }
  return { _tag: "unsupported", detail: `${describeAst(ast)} values have no protobuf mapping` }
}

// ---------------------------------------------------------------------------------------------
// annotations

const findInCheck = (check: SchemaAST.Check<unknown>, key: string): unknown => {
  const own = check.annotations?.[key]
  if (own !== undefined) return own
  if (check._tag === "FilterGroup") {
    for (let i = check.checks.length - 1; i >= 0; i--) {
      const inner = check.checks[i]
      const found = inner === undefined ? undefined : findInCheck(inner, key)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** An annotation of ours on any of the given nodes (key context, checks, node), outermost first. */
const annotation = (key: string, asts: ReadonlyArray<SchemaAST.AST>): unknown => {
  for (const ast of asts) {
    const fromKey = ast.context?.annotations?.[key]
    if (fromKey !== undefined) return fromKey
    if (ast.checks !== undefined) {
      for (let i = ast.checks.length - 1; i >= 0; i--) {
        const check = ast.checks[i]
        const found = check === undefined ? undefined : findInCheck(check, key)
        if (found !== undefined) return found
      }
    }
    const own = ast.annotations?.[key]
    if (own !== undefined) return own
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// scalar plans

const plan = (
  type: Type,
  wireType: number,
  write: Write,
  options: { readonly width?: number; readonly mapKey?: boolean; readonly packable?: boolean } = {}
): ValuePlan => ({
  type,
  typeName: undefined,
  wireType,
  width: options.width ?? 0,
  packable: options.packable ?? true,
  mapKey: options.mapKey ?? true,
  write
})

const stringPlan = plan(Type.STRING, WireType.LengthDelimited, (w, v) => {
  if (Predicate.isString(v)) w.string(v)
}, { packable: false })

const bytesPlan = plan(Type.BYTES, WireType.LengthDelimited, (w, v) => {
  if (Predicate.isUint8Array(v)) w.bytes(v)
}, { packable: false, mapKey: false })

const boolPlan = plan(Type.BOOL, WireType.Varint, (w, v) => {
  if (Predicate.isBoolean(v)) w.bool(v)
})

const numberPlans: Record<NumericType, ValuePlan> = {
  double: plan(Type.DOUBLE, WireType.Bit64, (w, v) => {
    if (Predicate.isNumber(v)) w.double(v)
  }, { width: 8, mapKey: false }),
  float: plan(Type.FLOAT, WireType.Bit32, (w, v) => {
    if (Predicate.isNumber(v)) w.float(v)
  }, { width: 4, mapKey: false }),
  int32: plan(Type.INT32, WireType.Varint, (w, v) => {
    if (Predicate.isNumber(v)) w.int32(v)
  }),
  uint32: plan(Type.UINT32, WireType.Varint, (w, v) => {
    if (Predicate.isNumber(v)) w.uint32(v)
  }),
  sint32: plan(Type.SINT32, WireType.Varint, (w, v) => {
    if (Predicate.isNumber(v)) w.sint32(v)
  }),
  fixed32: plan(Type.FIXED32, WireType.Bit32, (w, v) => {
    if (Predicate.isNumber(v)) w.fixed32(v)
  }, { width: 4 }),
  sfixed32: plan(Type.SFIXED32, WireType.Bit32, (w, v) => {
    if (Predicate.isNumber(v)) w.fixed32(v)
  }, { width: 4 }),
  int64: plan(Type.INT64, WireType.Varint, (w, v) => {
    if (Predicate.isNumber(v)) w.int64Number(v)
  }),
  uint64: plan(Type.UINT64, WireType.Varint, (w, v) => {
    if (Predicate.isNumber(v)) w.int64Number(v)
  }),
  sint64: plan(Type.SINT64, WireType.Varint, (w, v) => {
    if (Predicate.isNumber(v)) w.sint64Number(v)
  }),
  fixed64: plan(Type.FIXED64, WireType.Bit64, (w, v) => {
    if (Predicate.isNumber(v)) w.fixed64Number(v)
  }, { width: 8 }),
  sfixed64: plan(Type.SFIXED64, WireType.Bit64, (w, v) => {
    if (Predicate.isNumber(v)) w.fixed64Number(v)
  }, { width: 8 })
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/** int64 from a bigint whose schema has no range check (`Schema.BigInt`): checks while writing. */
const checkedInt64Plan = (path: string) =>
  plan(Type.INT64, WireType.Varint, (w, v) => {
    if (!Predicate.isBigInt(v)) return
    if (v < INT64_MIN || v > INT64_MAX) {
      throw new ValueOutOfRange(
        path,
        `${v} is outside the int64 range (use ProtoSchema.int64 or ProtoSchema.uint64 to check it in the Schema)`
      )
    }
    w.int64BigInt(v)
  })

const bigintPlans: Partial<Record<NumericType, ValuePlan>> = {
  int64: plan(Type.INT64, WireType.Varint, (w, v) => {
    if (Predicate.isBigInt(v)) w.int64BigInt(v)
  }),
  uint64: plan(Type.UINT64, WireType.Varint, (w, v) => {
    if (Predicate.isBigInt(v)) w.int64BigInt(v)
  }),
  sint64: plan(Type.SINT64, WireType.Varint, (w, v) => {
    if (Predicate.isBigInt(v)) w.sint64BigInt(v)
  }),
  fixed64: plan(Type.FIXED64, WireType.Bit64, (w, v) => {
    if (Predicate.isBigInt(v)) w.fixed64BigInt(v)
  }, { width: 8 }),
  sfixed64: plan(Type.SFIXED64, WireType.Bit64, (w, v) => {
    if (Predicate.isBigInt(v)) w.fixed64BigInt(v)
  }, { width: 8 })
}

const writeMicros = (w: Writer, millis: number): void => {
  const micros = millis * 1000
  if (micros <= MAX_SAFE && micros >= -MAX_SAFE) w.int64Number(micros)
  else w.int64BigInt(BigInt(millis) * 1000n)
}

const epochMillis = (v: unknown): number | undefined =>
  Predicate.isDate(v) ? v.getTime() : DateTime.isDateTime(v) ? DateTime.toEpochMillis(v) : undefined

const timestampPlan = plan(Type.INT64, WireType.Varint, (w, v) => {
  const millis = epochMillis(v)
  if (millis !== undefined) writeMicros(w, millis)
}, { mapKey: false })

const epochDaysPlan = plan(Type.INT32, WireType.Varint, (w, v) => {
  const millis = epochMillis(v)
  if (millis !== undefined) w.int32(Math.floor(millis / MS_PER_DAY))
}, { mapKey: false })

const isNumericType = (u: unknown): u is NumericType => Predicate.isString(u) && Object.hasOwn(numberPlans, u)

/** The plan of a scalar base, honouring the numeric-type and epoch-days annotations. */
const scalarPlan = (base: Base, sources: ReadonlyArray<SchemaAST.AST>, path: string): ValuePlan => {
  const numeric = annotation(NUMERIC_TYPE_KEY, sources)
  const epochDays = annotation(EPOCH_DAYS_KEY, sources) === true
  if (numeric !== undefined && !isNumericType(numeric)) {
    throw new MappingFailure(path, `unknown protobuf numeric type ${JSON.stringify(numeric)}`)
  }
  if (numeric !== undefined && base._tag !== "number" && base._tag !== "bigint") {
    throw new MappingFailure(
      path,
      `ProtoSchema.scalar("${numeric}") applies to number or bigint schemas, not ${base._tag}`
    )
  }
  if (epochDays && base._tag !== "date" && base._tag !== "datetime") {
    throw new MappingFailure(path, `ProtoSchema.epochDays applies to Date or DateTime schemas, not ${base._tag}`)
  }
  switch (base._tag) {
    case "string":
      return stringPlan
    case "boolean":
      return boolPlan
    case "bytes":
      return bytesPlan
    case "number":
      return numberPlans[numeric ?? "double"]
    case "bigint": {
      if (numeric === undefined) return checkedInt64Plan(path)
      const found = bigintPlans[numeric]
      if (found === undefined) {
        throw new MappingFailure(
          path,
          `bigint values can only be written as 64-bit integers (int64, uint64, sint64, fixed64, sfixed64), not ${numeric}`
        )
      }
      return found
    }
    case "date":
    case "datetime":
      return epochDays ? epochDaysPlan : timestampPlan
    default:
      throw new MappingFailure(path, `${base._tag} is not a scalar`)
  }
}

// ---------------------------------------------------------------------------------------------
// messages

interface CompiledMessage {
  readonly descriptor: DescriptorProto
  readonly writeFields: (w: Writer, value: unknown) => void
}

interface MessageScope {
  readonly fullName: string
  readonly path: ReadonlyArray<string>
  readonly depth: number
  readonly packed: boolean
  readonly names: Set<string>
  readonly nested: Array<DescriptorProto>
}

const formatPath = (path: ReadonlyArray<string>): string =>
  path.reduce(
    (acc, segment) =>
      segment.startsWith("[") || segment.startsWith("{") || acc === "" ? acc + segment : `${acc}.${segment}`,
    ""
  )

/** protoc's name for the entry message of a map field. */
export const mapEntryName = (fieldName: string): string => `${pascalCase(fieldName)}Entry`

/** `ship_to` → `ShipTo`, `address` → `Address` (protoc's camel-casing with a capital first letter). */
export const pascalCase = (name: string): string => {
  let out = ""
  let upper = true
  for (const char of name) {
    if (char === "_") {
      upper = true
    } else if (upper) {
      out += char.toUpperCase()
      upper = false
    } else {
      out += char
    }
  }
  return out.length === 0 ? "Message" : out
}

const uniqueName = (names: Set<string>, wanted: string): string => {
  let name = wanted
  for (let i = 2; names.has(name); i++) name = `${wanted}${i}`
  names.add(name)
  return name
}

interface FieldSpec {
  readonly name: string
  readonly ast: SchemaAST.AST
  readonly explicitNumber: number | undefined
}

const compileMessage = (
  objects: SchemaAST.Objects,
  name: string,
  fullName: string,
  path: ReadonlyArray<string>,
  depth: number,
  packed: boolean
): CompiledMessage => {
  if (depth > MAX_DEPTH) {
    throw new MappingFailure(formatPath(path), `messages nest deeper than ${MAX_DEPTH} levels (a recursive schema?)`)
  }
  const specs = objects.propertySignatures.map((property): FieldSpec => {
    const fieldPath = formatPath([...path, String(property.name)])
    if (!Predicate.isString(property.name)) {
      throw new MappingFailure(fieldPath, "symbol keys have no protobuf field name")
    }
    if (!isIdentifier(property.name)) {
      throw new MappingFailure(
        fieldPath,
        `${
          JSON.stringify(property.name)
        } is not a protobuf field name (letters, digits and _, not starting with a digit)`
      )
    }
    const explicit = annotation(FIELD_NUMBER_KEY, [property.type, ...unionMembers(property.type, [])])
    if (explicit !== undefined && !isValidFieldNumber(explicit)) {
      throw new MappingFailure(
        fieldPath,
        `field number ${String(explicit)} is invalid (an integer in 1..${MAX_FIELD_NUMBER}, not 19000..19999)`
      )
    }
    return { name: property.name, ast: property.type, explicitNumber: explicit }
  })
  const numbers = assignNumbers(specs, path)
  const scope: MessageScope = { fullName, path, depth, packed, names: new Set(), nested: [] }
  // map entry names are fixed by protobuf: claim them before naming struct messages
  for (const spec of specs) {
    if (classify(stripNullish(spec.ast).ast)._tag === "map") {
      const entry = mapEntryName(spec.name)
      if (scope.names.has(entry)) {
        throw new MappingFailure(formatPath([...path, spec.name]), `two map fields need the entry type name ${entry}`)
      }
      scope.names.add(entry)
    }
  }
  const fields: Array<{ readonly descriptor: FieldDescriptorProto; readonly write: (w: Writer, o: Fields) => void }> =
    []
  specs.forEach((spec, i) => {
    const number = numbers[i]
    if (number !== undefined) fields.push(compileField(scope, spec, number))
  })
  // written in field-number order (canonical, as protobuf-es and protoc do); declared in schema order
  const writers = fields.toSorted((a, b) => a.descriptor.number - b.descriptor.number).map((field) => field.write)
  const count = writers.length
  const writeFields = (w: Writer, value: unknown): void => {
    if (!Predicate.isObject(value)) return
    for (let i = 0; i < count; i++) {
      const write = writers[i]
      if (write !== undefined) write(w, value)
    }
  }
  const descriptor = create(DescriptorProtoSchema, {
    name,
    field: fields.map((field) => field.descriptor),
    nestedType: scope.nested
  })
  return { descriptor, writeFields }
}

const isValidFieldNumber = (u: unknown): u is number =>
  Predicate.isNumber(u) && Number.isInteger(u) && u >= 1 && u <= MAX_FIELD_NUMBER && !isReservedFieldNumber(u)

/** Explicit numbers first; the others count up from 1 in declaration order, skipping taken ones. */
const assignNumbers = (specs: ReadonlyArray<FieldSpec>, path: ReadonlyArray<string>): Array<number> => {
  const taken = new Map<number, string>()
  for (const spec of specs) {
    if (spec.explicitNumber === undefined) continue
    const other = taken.get(spec.explicitNumber)
    if (other !== undefined) {
      throw new MappingFailure(
        formatPath([...path, spec.name]),
        `field number ${spec.explicitNumber} is already used by ${other}`
      )
    }
    taken.set(spec.explicitNumber, spec.name)
  }
  let next = 1
  return specs.map((spec) => {
    if (spec.explicitNumber !== undefined) return spec.explicitNumber
    while (taken.has(next) || isReservedFieldNumber(next)) next++
    if (next > MAX_FIELD_NUMBER) throw new MappingFailure(formatPath([...path, spec.name]), "too many fields")
    taken.set(next, spec.name)
    return next++
  })
}

/** Removes null/undefined members and key optionality; `optional` says whether any was there. */
const stripNullish = (ast: SchemaAST.AST): { readonly ast: SchemaAST.AST; readonly optional: boolean } => {
  const optionalKey = SchemaAST.isOptional(ast)
  if (!SchemaAST.isUnion(ast)) return { ast, optional: optionalKey }
  const members = unionMembers(ast, [])
  const rest = members.filter((member) => !isNullish(member))
  const single = rest[0]
  if (rest.length === members.length) return { ast, optional: optionalKey }
  if (rest.length === 1 && single !== undefined) return { ast: single, optional: true }
  return { ast, optional: true }
}

const compileField = (
  scope: MessageScope,
  spec: FieldSpec,
  number: number
): { readonly descriptor: FieldDescriptorProto; readonly write: (w: Writer, o: Fields) => void } => {
  const path = [...scope.path, spec.name]
  const { ast, optional } = stripNullish(spec.ast)
  const sources = [spec.ast, ast]
  const base = classify(ast)
  const key = spec.name
  switch (base._tag) {
    case "unsupported":
      throw new MappingFailure(formatPath(path), base.detail)
    case "array": {
      const elementPath = [...path, "[]"]
      const element = stripNullish(base.element)
      if (element.optional) {
        throw new MappingFailure(formatPath(elementPath), "array elements cannot be null or undefined")
      }
      const value = compileValue(scope, spec.name, element.ast, [element.ast], elementPath, "element")
      const packed = scope.packed && value.packable
      const descriptor = fieldDescriptor(spec.name, number, Label.REPEATED, value, packed)
      const write = packed ? packedWriter(key, number, value) : repeatedWriter(key, number, value)
      return { descriptor, write }
    }
    case "map": {
      const entryName = mapEntryName(spec.name)
      const keyPlan = compileMapKey(base.key, [...path, "{key}"])
      const valuePath = [...path, "{value}"]
      const valueAst = stripNullish(base.value)
      if (valueAst.optional) {
        throw new MappingFailure(formatPath(valuePath), "map values cannot be null or undefined")
      }
      const valuePlan = compileValue(scope, spec.name, valueAst.ast, [valueAst.ast], valuePath, "map value")
      scope.nested.push(create(DescriptorProtoSchema, {
        name: entryName,
        field: [
          fieldDescriptor("key", 1, Label.OPTIONAL, keyPlan, false),
          fieldDescriptor("value", 2, Label.OPTIONAL, valuePlan, false)
        ],
        options: { mapEntry: true }
      }))
      const entry: ValuePlan = {
        type: Type.MESSAGE,
        typeName: `${scope.fullName}.${entryName}`,
        wireType: WireType.LengthDelimited,
        width: 0,
        packable: false,
        mapKey: false,
        write: () => {}
      }
      const descriptor = fieldDescriptor(spec.name, number, Label.REPEATED, entry, false)
      const keyFromString = base.record && keyPlan.type !== Type.STRING && keyPlan.type !== Type.BOOL
      return { descriptor, write: mapWriter(key, number, keyPlan, valuePlan, base.record, keyFromString) }
    }
    default: {
      const value = compileValue(scope, spec.name, ast, sources, path, "field")
      const descriptor = fieldDescriptor(spec.name, number, optional ? Label.OPTIONAL : Label.REQUIRED, value, false)
      return { descriptor, write: singularWriter(key, number, value) }
    }
  }
}

/** A non-repeated value: a scalar or a nested message declared in `scope`. */
const compileValue = (
  scope: MessageScope,
  fieldName: string,
  ast: SchemaAST.AST,
  sources: ReadonlyArray<SchemaAST.AST>,
  path: ReadonlyArray<string>,
  role: "field" | "element" | "map value"
): ValuePlan => {
  const base = classify(ast)
  switch (base._tag) {
    case "unsupported":
      throw new MappingFailure(formatPath(path), base.detail)
    case "array":
      throw new MappingFailure(
        formatPath(path),
        role === "element"
          ? "nested arrays are not supported (wrap the inner array in a struct)"
          : "map values cannot be arrays (wrap the array in a struct)"
      )
    case "map":
      throw new MappingFailure(
        formatPath(path),
        role === "element"
          ? "arrays of maps are not supported (wrap the map in a struct)"
          : "nested maps are not supported (wrap the inner map in a struct)"
      )
    case "message": {
      const name = uniqueName(scope.names, pascalCase(fieldName))
      const fullName = `${scope.fullName}.${name}`
      const message = compileMessage(base.objects, name, fullName, path, scope.depth + 1, scope.packed)
      scope.nested.push(message.descriptor)
      const writeFields = message.writeFields
      return {
        type: Type.MESSAGE,
        typeName: fullName,
        wireType: WireType.LengthDelimited,
        width: 0,
        packable: false,
        mapKey: false,
        write: (w, v) => {
          const mark = w.beginLength()
          writeFields(w, v)
          w.endLength(mark)
        }
      }
    }
    default:
      return scalarPlan(base, sources, formatPath(path))
  }
}

const compileMapKey = (ast: SchemaAST.AST, path: ReadonlyArray<string>): ValuePlan => {
  const base = classify(ast)
  if (base._tag === "unsupported") throw new MappingFailure(formatPath(path), base.detail)
  const scalar = base._tag === "string" || base._tag === "number" || base._tag === "bigint" || base._tag === "boolean"
  const keyPlan = scalar ? scalarPlan(base, [ast], formatPath(path)) : undefined
  if (keyPlan === undefined || !keyPlan.mapKey) {
    throw new MappingFailure(
      formatPath(path),
      base._tag === "number" && annotation(NUMERIC_TYPE_KEY, [ast]) === undefined
        ? "number map keys need an integer type: use ProtoSchema.int32 (or another integer scalar) for the key"
        : "map keys must be strings, booleans or integers"
    )
  }
  return keyPlan
}

const fieldDescriptor = (
  name: string,
  number: number,
  label: Label,
  value: ValuePlan,
  packed: boolean
): FieldDescriptorProto =>
  create(FieldDescriptorProtoSchema, {
    name,
    number,
    label,
    type: value.type,
    ...(value.typeName === undefined ? {} : { typeName: value.typeName }),
    ...(packed ? { options: { packed: true } } : {})
  })

// ---------------------------------------------------------------------------------------------
// field writers

const singularWriter = (key: string, number: number, value: ValuePlan) => {
  const tag = makeTag(number, value.wireType)
  const write = value.write
  return (w: Writer, o: Fields): void => {
    const v = o[key]
    if (v === undefined || v === null) return
    w.uint32(tag)
    write(w, v)
  }
}

const repeatedWriter = (key: string, number: number, value: ValuePlan) => {
  const tag = makeTag(number, value.wireType)
  const write = value.write
  return (w: Writer, o: Fields): void => {
    const items = o[key]
    if (!Arr.isArray(items)) return
    for (let i = 0; i < items.length; i++) {
      w.uint32(tag)
      write(w, items[i])
    }
  }
}

const packedWriter = (key: string, number: number, value: ValuePlan) => {
  const tag = makeTag(number, WireType.LengthDelimited)
  const write = value.write
  const width = value.width
  return (w: Writer, o: Fields): void => {
    const items = o[key]
    if (!Arr.isArray(items) || items.length === 0) return
    w.uint32(tag)
    if (width > 0) {
      w.uint32(items.length * width)
      for (let i = 0; i < items.length; i++) write(w, items[i])
      return
    }
    const mark = w.beginLength()
    for (let i = 0; i < items.length; i++) write(w, items[i])
    w.endLength(mark)
  }
}

const mapWriter = (
  key: string,
  number: number,
  keyPlan: ValuePlan,
  valuePlan: ValuePlan,
  record: boolean,
  keyFromString: boolean
) => {
  const tag = makeTag(number, WireType.LengthDelimited)
  const keyTag = makeTag(1, keyPlan.wireType)
  const valueTag = makeTag(2, valuePlan.wireType)
  const writeKey = keyPlan.write
  const writeValue = valuePlan.write
  const entry = (w: Writer, k: unknown, v: unknown): void => {
    w.uint32(tag)
    const mark = w.beginLength()
    w.uint32(keyTag)
    writeKey(w, k)
    w.uint32(valueTag)
    writeValue(w, v)
    w.endLength(mark)
  }
  if (!record) {
    return (w: Writer, o: Fields): void => {
      const map = o[key]
      if (!Predicate.isMap(map)) return
      for (const [k, v] of map) entry(w, k, v)
    }
  }
  return (w: Writer, o: Fields): void => {
    const obj = o[key]
    if (!Predicate.isObject(obj)) return
    for (const k of Object.keys(obj)) entry(w, keyFromString ? Number(k) : k, obj[k])
  }
}
