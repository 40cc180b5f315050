/**
 * Protobuf record → row. {@link makeDecoder} validates a stream's message descriptor against the
 * table (every field must map to a column of a compatible type; every NOT NULL column must have a
 * field) and compiles a per-record decoder that reads messages through `@bufbuild/protobuf`
 * reflection.
 *
 * Compatible field types per column type:
 *
 * | column              | protobuf field                                                           |
 * | ------------------- | ------------------------------------------------------------------------ |
 * | integer             | int32, sint32, sfixed32; uint32, fixed32 (range checked); enum (number)  |
 * | byte, short         | int32, sint32, sfixed32 (range checked)                                  |
 * | long                | any 32/64-bit integer (uint64 > 2^63−1 rejected); enum (number)          |
 * | date                | int32, sint32, sfixed32 (days since the epoch)                           |
 * | timestamp           | int64, sint64, sfixed64 (µs since the epoch)                             |
 * | float / double      | float / float, double                                                    |
 * | boolean, string, binary | bool, string, bytes; string also takes an enum (value name)          |
 * | decimal(p,s)        | string (decimal text)                                                    |
 * | timestamp           | also google.protobuf.Timestamp                                           |
 * | any scalar column   | also the matching wrapper (`google.protobuf.Int64Value`, ...)            |
 * | struct              | message (fields matched by name, recursively)                            |
 * | array               | repeated field of a compatible element type                              |
 * | map                 | map with compatible key and value types                                  |
 *
 * A field that is not set gives NULL (an empty list or map gives `[]` / an empty map); a NOT NULL
 * column whose field is not set fails the record naming the column.
 *
 * @internal
 */
import { type DescEnum, type DescField, type DescMessage, fromBinary, ScalarType } from "@bufbuild/protobuf"
import { isReflectList, isReflectMap, isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect"
import { FeatureSet_FieldPresence, FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import { type DeltaSchemaError, incompatibleField, invalidRecord } from "./DeltaSchemaError.ts"
import * as Delta from "./DeltaType.ts"
import { checkRange, fromText, RecordIssue, rethrowWithin } from "./JsonRecord.ts"
import * as Row from "./Row.ts"

type Convert = (value: unknown) => Row.Value

const INT32_FAMILY = new Set([ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32])
const INT64_FAMILY = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64])
const UNSIGNED_32 = new Set([ScalarType.UINT32, ScalarType.FIXED32])
const UNSIGNED_64 = new Set([ScalarType.UINT64, ScalarType.FIXED64])

const SCALAR_NAMES: Record<ScalarType, string> = {
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.INT32]: "int32",
  [ScalarType.FIXED64]: "fixed64",
  [ScalarType.FIXED32]: "fixed32",
  [ScalarType.BOOL]: "bool",
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.SFIXED32]: "sfixed32",
  [ScalarType.SFIXED64]: "sfixed64",
  [ScalarType.SINT32]: "sint32",
  [ScalarType.SINT64]: "sint64"
}

const toBigInt = (value: unknown): bigint => {
  if (Predicate.isBigInt(value)) return value
  if (Predicate.isNumber(value) || Predicate.isString(value)) return BigInt(value)
  throw new RecordIssue(`unexpected protobuf value ${String(value)}`)
}

const toNumber = (value: unknown): number => {
  if (Predicate.isNumber(value)) return value
  throw new RecordIssue(`unexpected protobuf value ${String(value)}`)
}

/** The converter for a scalar (or map key) of type `scalar` into `column`, or undefined if incompatible. */
const scalarConverter = (scalar: ScalarType, column: Delta.DeltaType): Convert | undefined => {
  if (column.kind === "decimal") {
    if (scalar !== ScalarType.STRING) return undefined
    return (v) => fromText(Row.parseDecimal(String(v), column.precision, column.scale))
  }
  if (column.kind !== "primitive") return undefined
  const isInt32 = INT32_FAMILY.has(scalar)
  switch (column.name) {
    case "byte":
    case "short":
    case "integer": {
      const name = column.name
      if (isInt32 && name === "integer") return toNumber
      if (isInt32 || (name === "integer" && UNSIGNED_32.has(scalar))) {
        return (v) => Number(checkRange(toBigInt(v), name))
      }
      return undefined
    }
    case "long":
      if (isInt32 || UNSIGNED_32.has(scalar) || INT64_FAMILY.has(scalar)) return toBigInt
      if (UNSIGNED_64.has(scalar)) return (v) => checkRange(toBigInt(v), "long")
      return undefined
    case "date":
      return isInt32 ? toNumber : undefined
    case "timestamp":
      return INT64_FAMILY.has(scalar) ? toBigInt : undefined
    case "float":
      return scalar === ScalarType.FLOAT ? toNumber : undefined
    case "double":
      return scalar === ScalarType.FLOAT || scalar === ScalarType.DOUBLE ? toNumber : undefined
    case "boolean":
      return scalar === ScalarType.BOOL ? (v) => v === true : undefined
    case "string":
      return scalar === ScalarType.STRING ? (v) => String(v) : undefined
    case "binary":
      return scalar === ScalarType.BYTES
        ? (v) => {
          if (v instanceof Uint8Array) return v
          throw new RecordIssue("unexpected protobuf bytes value")
        }
        : undefined
    case "timestamp_ntz":
    case "variant":
      return undefined
  }
}

const enumConverter = (desc: DescEnum, column: Delta.DeltaType): Convert | undefined => {
  if (column.kind !== "primitive") return undefined
  if (column.name === "string") {
    const names = new Map(desc.values.map((v) => [v.number, v.name]))
    return (v) => names.get(toNumber(v)) ?? String(v)
  }
  if (column.name === "integer") return toNumber
  if (column.name === "long") return (v) => toBigInt(v)
  return undefined
}

/** Converters for `google.protobuf.Timestamp` (→ timestamp µs) and the wrapper types (→ their scalar). */
const wellKnownConverter = (message: DescMessage, column: Delta.DeltaType): Convert | undefined => {
  const fields = new Map(message.fields.map((f) => [f.name, f]))
  if (message.typeName === "google.protobuf.Timestamp") {
    const seconds = fields.get("seconds")
    const nanos = fields.get("nanos")
    if (column.kind !== "primitive" || column.name !== "timestamp" || seconds === undefined || nanos === undefined) {
      return undefined
    }
    return (v) => {
      if (!isReflectMessage(v)) throw new RecordIssue("unexpected protobuf Timestamp value")
      return toBigInt(v.get(seconds)) * 1_000_000n + BigInt(Math.floor(toNumber(v.get(nanos)) / 1000))
    }
  }
  const value = fields.get("value")
  if (!/^google\.protobuf\.\w+Value$/.test(message.typeName) || value?.fieldKind !== "scalar") return undefined
  const inner = scalarConverter(value.scalar, column)
  if (inner === undefined) return undefined
  return (v) => {
    if (!isReflectMessage(v)) throw new RecordIssue(`unexpected protobuf ${message.name} value`)
    return inner(v.get(value))
  }
}

const describeField = (f: DescField): string => {
  switch (f.fieldKind) {
    case "scalar":
      return SCALAR_NAMES[f.scalar]
    case "enum":
      return `enum ${f.enum.name}`
    case "message":
      return `message ${f.message.name}`
    case "list":
      return `repeated ${
        f.listKind === "scalar"
          ? SCALAR_NAMES[f.scalar]
          : f.listKind === "enum"
          ? `enum ${f.enum.name}`
          : `message ${f.message.name}`
      }`
    case "map":
      return `map<${SCALAR_NAMES[f.mapKey]}, ${
        f.mapKind === "scalar"
          ? SCALAR_NAMES[f.scalar]
          : f.mapKind === "enum"
          ? `enum ${f.enum.name}`
          : `message ${f.message.name}`
      }>`
  }
}

const incompatible = (f: DescField, column: Delta.DeltaType, path: string): DeltaSchemaError =>
  incompatibleField(path, `${describeField(f)} cannot be stored in a column of type ${Delta.toTypeText(column)}`)

/** Element/value converter for the element kinds of lists and maps. */
const elementConverter = (
  kind: "scalar" | "enum" | "message",
  f: DescField,
  column: Delta.DeltaType,
  path: string,
  depth: number
): Convert | undefined => {
  if (kind === "message") {
    if (f.message === undefined) return undefined
    const wellKnown = wellKnownConverter(f.message, column)
    if (wellKnown !== undefined) return wellKnown
    if (column.kind !== "struct") return undefined
    const convert = messageConverter(f.message, column, path, depth + 1)
    return (v) => {
      if (isReflectMessage(v)) return convert(v)
      throw new RecordIssue("unexpected protobuf message value")
    }
  }
  if (kind === "enum") return f.enum === undefined ? undefined : enumConverter(f.enum, column)
  return f.scalar === undefined ? undefined : scalarConverter(f.scalar, column)
}

interface FieldPlan {
  readonly column: string
  readonly field: DescField | undefined
  readonly nullable: boolean
  readonly implicit: boolean
  readonly convert: Convert
}

const fieldPlan = (f: DescField, column: Delta.StructField, path: string, depth: number): Convert => {
  if (f.proto.type === FieldDescriptorProto_Type.GROUP) throw incompatibleField(path, "proto2 groups are not supported")
  switch (f.fieldKind) {
    case "scalar":
    case "enum":
    case "message": {
      const convert = elementConverter(f.fieldKind, f, column.type, path, depth)
      if (convert === undefined) throw incompatible(f, column.type, path)
      return convert
    }
    case "list": {
      if (column.type.kind !== "array") throw incompatible(f, column.type, path)
      const element = elementConverter(f.listKind, f, column.type.elementType, `${path}[]`, depth)
      if (element === undefined) throw incompatible(f, column.type, path)
      return (v) => {
        if (!isReflectList(v)) throw new RecordIssue("unexpected protobuf list value")
        const out: Array<Row.Value> = []
        let i = 0
        for (const item of v) {
          try {
            out.push(element(item))
          } catch (e) {
            rethrowWithin(e, `[${i}]`)
          }
          i++
        }
        return out
      }
    }
    case "map": {
      if (column.type.kind !== "map") throw incompatible(f, column.type, path)
      const key = scalarConverter(f.mapKey, column.type.keyType)
      const value = elementConverter(f.mapKind, f, column.type.valueType, `${path}.value`, depth)
      if (key === undefined || value === undefined) throw incompatible(f, column.type, path)
      return (v) => {
        if (!isReflectMap(v)) throw new RecordIssue("unexpected protobuf map value")
        const out = new Map<Row.Value, Row.Value>()
        for (const [k, item] of v) {
          try {
            out.set(key(k), value(item))
          } catch (e) {
            rethrowWithin(e, String(k))
          }
        }
        return out
      }
    }
  }
}

const messageConverter = (
  message: DescMessage,
  struct: Delta.StructType,
  path: string,
  depth: number
): (r: ReflectMessage) => Row.StructValue => {
  if (depth > 100) throw incompatibleField(path, "nesting deeper than 100 levels")
  const byName = new Map(message.fields.map((f) => [f.name, f]))
  const byLower = new Map(message.fields.map((f) => [f.name.toLowerCase(), f]))
  const used = new Set<DescField>()
  const plans: Array<FieldPlan> = struct.fields.map((column) => {
    const columnPath = Delta.childPath(path, column.name)
    const f = byName.get(column.name) ?? byLower.get(column.name.toLowerCase())
    if (f === undefined) {
      if (!column.nullable) {
        throw incompatibleField(columnPath, `NOT NULL column has no field in message ${message.name}`)
      }
      return { column: column.name, field: undefined, nullable: true, implicit: false, convert: () => null }
    }
    used.add(f)
    return {
      column: column.name,
      field: f,
      nullable: column.nullable,
      implicit: f.presence === FeatureSet_FieldPresence.IMPLICIT,
      convert: fieldPlan(f, column, columnPath, depth)
    }
  })
  for (const f of message.fields) {
    if (!used.has(f)) {
      throw incompatibleField(
        Delta.childPath(path, f.name),
        "the field has no column in the table"
      )
    }
  }
  return (r) => {
    const out: Record<string, Row.Value> = {}
    for (const plan of plans) {
      const f = plan.field
      try {
        if (f === undefined) {
          out[plan.column] = null
        } else if (f.fieldKind === "list" || f.fieldKind === "map" || plan.implicit || r.isSet(f)) {
          out[plan.column] = plan.convert(r.get(f))
        } else if (plan.nullable) {
          out[plan.column] = null
        } else {
          throw new RecordIssue("missing required field")
        }
      } catch (e) {
        rethrowWithin(e, plan.column)
      }
    }
    return out
  }
}

/** Decodes one record's bytes into a row, or fails with an `InvalidRecord` naming the column. */
export type ProtoDecoder = (bytes: Uint8Array) => Result.Result<Row.Row, DeltaSchemaError>

/**
 * Validates a stream's message against the table and compiles its decoder. Fails with
 * `IncompatibleField` naming the field (a field without a column, an incompatible type, a NOT NULL
 * column without a field).
 */
export const makeDecoder = (
  message: DescMessage,
  schema: Delta.StructType
): Effect.Effect<ProtoDecoder, DeltaSchemaError> =>
  Delta.catchSchemaError(() => {
    const convert = messageConverter(message, schema, "", 0)
    return (bytes: Uint8Array) => {
      let r: ReflectMessage
      try {
        r = reflect(message, fromBinary(message, bytes))
      } catch (e) {
        return Result.fail(
          invalidRecord("", `not a valid ${message.name} message: ${e instanceof Error ? e.message : String(e)}`)
        )
      }
      try {
        return Result.succeed(convert(r))
      } catch (e) {
        if (e instanceof RecordIssue) return Result.fail(e.toError())
        throw e
      }
    }
  })
