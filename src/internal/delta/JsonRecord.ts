/**
 * JSON record → row: checks a parsed JSON object against a table schema and converts it to the row
 * values of `Row.ts`. A decoder is compiled once per table and then runs per record without Effect
 * overhead; it returns a `Result`.
 *
 * Coercion rules (a value of another JSON type is an error naming the column):
 *
 * | column type        | accepted JSON                                                              |
 * | ------------------ | -------------------------------------------------------------------------- |
 * | boolean            | `true` / `false`                                                           |
 * | byte/short/integer | integral number in range                                                   |
 * | long               | integral number (safe integer) or a string of digits (full int64 range)    |
 * | float/double       | number, or `"NaN"`, `"Infinity"`, `"-Infinity"`                            |
 * | string             | string                                                                     |
 * | binary             | base64 string (standard or URL-safe alphabet, padding optional)            |
 * | date               | `"YYYY-MM-DD"` or an integral number of days since the epoch               |
 * | timestamp          | ISO-8601 string (no zone = UTC) or integral µs since the epoch (number or digit string) |
 * | decimal(p,s)       | number or decimal string; at most `s` fraction digits and `p` digits       |
 * | struct             | object (same rules for its fields)                                         |
 * | array              | array                                                                      |
 * | map                | object; keys are converted to the key type from their text                 |
 *
 * Unknown keys are errors; a key matching a column only case-insensitively is accepted. A missing
 * or `null` nullable column is `null`; a missing or `null` NOT NULL column is an error.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import { type DeltaSchemaError, invalidRecord, unsupportedType } from "./DeltaSchemaError.ts"
import * as Delta from "./DeltaType.ts"
import * as Row from "./Row.ts"

/** Thrown inside a decoder; turned into an `InvalidRecord` at the top. `path` grows while it unwinds. */
export class RecordIssue {
  constructor(readonly message: string, readonly path: string = "") {}

  /** The same issue, one level further out (`name` is a field name or `[i]`). */
  within(name: string): RecordIssue {
    const path = this.path === "" ? name : this.path.startsWith("[") ? `${name}${this.path}` : `${name}.${this.path}`
    return new RecordIssue(this.message, path)
  }

  /** The issue as a schema error. */
  toError(): DeltaSchemaError {
    return invalidRecord(this.path, this.message)
  }
}

/** Rethrows a {@link RecordIssue} one level further out; anything else is rethrown as is. */
export const rethrowWithin = (e: unknown, name: string): never => {
  throw e instanceof RecordIssue ? e.within(name) : e
}

const describe = (json: unknown): string =>
  json === null
    ? "null"
    : Array.isArray(json)
    ? "an array"
    : typeof json === "string"
    ? `the string ${JSON.stringify(json.length > 40 ? `${json.slice(0, 40)}…` : json)}`
    : typeof json === "object"
    ? "an object"
    : `${typeof json} ${String(json)}`

const issue = (expected: string, json: unknown): RecordIssue =>
  new RecordIssue(`expected ${expected}, got ${describe(json)}`)

type Convert = (json: unknown) => Row.Value

const DIGITS = /^[+-]?\d+$/
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/

export const checkRange = (value: bigint, name: keyof typeof Row.integralRange): bigint => {
  const [min, max] = Row.integralRange[name]
  if (value < min || value > max) throw new RecordIssue(`${value} is out of range for ${name}`)
  return value
}

const integral = (name: "byte" | "short" | "integer"): Convert => (json) => {
  if (!Predicate.isNumber(json) || !Number.isInteger(json)) throw issue(`an integer (${name})`, json)
  checkRange(BigInt(json), name)
  return json
}

/** Reads an int64 from a JSON number (safe integers only) or a digit string. */
export const int64FromJson = (json: unknown, what: string): bigint => {
  if (Predicate.isNumber(json)) {
    if (!Number.isSafeInteger(json)) {
      throw new RecordIssue(`${json} is not an integer within ±2^53; send larger ${what} values as strings`)
    }
    return BigInt(json)
  }
  if (Predicate.isString(json) && DIGITS.test(json)) {
    const value = BigInt(json)
    checkRange(value, "long")
    return value
  }
  throw issue(`an integer (${what})`, json)
}

const floating = (single: boolean): Convert => (json) => {
  if (Predicate.isNumber(json)) {
    if (single && Number.isFinite(json) && !Number.isFinite(Math.fround(json))) {
      throw new RecordIssue(`${json} is out of range for float`)
    }
    return json
  }
  if (json === "NaN") return Number.NaN
  if (json === "Infinity") return Number.POSITIVE_INFINITY
  if (json === "-Infinity") return Number.NEGATIVE_INFINITY
  throw issue("a number", json)
}

export const fromText = <A>(result: A | string): A => {
  if (typeof result === "string") throw new RecordIssue(result)
  return result
}

const primitive = (type: Delta.PrimitiveType, path: string): Convert => {
  switch (type.name) {
    case "boolean":
      return (json) => {
        if (!Predicate.isBoolean(json)) throw issue("a boolean", json)
        return json
      }
    case "byte":
    case "short":
    case "integer":
      return integral(type.name)
    case "long":
      return (json) => int64FromJson(json, "long")
    case "float":
      return floating(true)
    case "double":
      return floating(false)
    case "string":
      return (json) => {
        if (!Predicate.isString(json)) throw issue("a string", json)
        return json
      }
    case "binary":
      return (json) => {
        if (!Predicate.isString(json) || json.length % 4 === 1 || !BASE64.test(json)) throw issue("base64 text", json)
        return new Uint8Array(Buffer.from(json, json.includes("-") || json.includes("_") ? "base64url" : "base64"))
      }
    case "date":
      return (json) => {
        if (Predicate.isString(json)) return fromText(Row.parseDate(json))
        if (Predicate.isNumber(json) && Number.isSafeInteger(json)) return json
        throw issue("a date 'YYYY-MM-DD' or days since 1970-01-01", json)
      }
    case "timestamp":
      return (json) => {
        if (Predicate.isString(json) && !DIGITS.test(json)) return fromText(Row.parseTimestamp(json))
        return int64FromJson(json, "timestamp µs")
      }
    case "timestamp_ntz":
    case "variant":
      throw unsupportedType(path, `${type.name} columns cannot be written by Zerobus Local`)
  }
}

const decimal = (type: Delta.DecimalType): Convert => (json) => {
  if (Predicate.isNumber(json)) {
    if (!Number.isFinite(json)) throw issue("a finite number", json)
    return fromText(Row.parseDecimal(String(json), type.precision, type.scale))
  }
  if (Predicate.isString(json)) return fromText(Row.parseDecimal(json, type.precision, type.scale))
  throw issue(`a decimal(${type.precision},${type.scale})`, json)
}

const nullable = (convert: Convert, allowNull: boolean): Convert => (json) => {
  if (json === null || json === undefined) {
    if (allowNull) return null
    throw new RecordIssue(json === null ? "null in a NOT NULL field" : "missing required field")
  }
  return convert(json)
}

const array = (type: Delta.ArrayType, path: string): Convert => {
  const element = nullable(compile(type.elementType, `${path}[]`), type.containsNull)
  return (json) => {
    if (!Array.isArray(json)) throw issue("an array", json)
    const out: Array<Row.Value> = []
    for (let i = 0; i < json.length; i++) {
      try {
        out.push(element(json[i]))
      } catch (e) {
        rethrowWithin(e, `[${i}]`)
      }
    }
    return out
  }
}

const mapKey = (type: Delta.DeltaType, path: string): (key: string) => Row.Value => {
  if (type.kind === "decimal") return (key) => fromText(Row.parseDecimal(key, type.precision, type.scale))
  if (type.kind !== "primitive") throw unsupportedType(path, "map keys must be primitive")
  switch (type.name) {
    case "string":
      return (key) => key
    case "boolean":
      return (key) => {
        if (key !== "true" && key !== "false") throw issue("a boolean key", key)
        return key === "true"
      }
    case "float":
    case "double": {
      const convert = floating(type.name === "float")
      return (key) => convert(Number.isNaN(Number(key)) ? key : Number(key))
    }
    case "byte":
    case "short":
    case "integer": {
      const convert = integral(type.name)
      return (key) => convert(DIGITS.test(key) ? Number(key) : key)
    }
    default: {
      const convert = primitive(type, path)
      return (key) => convert(key)
    }
  }
}

const map = (type: Delta.MapType, path: string): Convert => {
  const key = mapKey(type.keyType, `${path}.key`)
  const value = nullable(compile(type.valueType, `${path}.value`), type.valueContainsNull)
  return (json) => {
    if (!Predicate.isObject(json) || Array.isArray(json)) throw issue("an object (map)", json)
    const out = new Map<Row.Value, Row.Value>()
    for (const k of Object.keys(json)) {
      try {
        out.set(key(k), value(Reflect.get(json, k)))
      } catch (e) {
        rethrowWithin(e, k)
      }
    }
    return out
  }
}

interface CompiledField {
  readonly name: string
  readonly convert: Convert
}

const struct = (type: Delta.StructType, path: string): (json: unknown) => Row.StructValue => {
  const fields: ReadonlyArray<CompiledField> = type.fields.map((f) => ({
    name: f.name,
    convert: nullable(compile(f.type, Delta.childPath(path, f.name)), f.nullable)
  }))
  const exact = new Set(type.fields.map((f) => f.name))
  const lower = new Map(type.fields.map((f) => [f.name.toLowerCase(), f.name]))
  return (json) => {
    if (!Predicate.isObject(json) || Array.isArray(json)) throw issue("a JSON object", json)
    const keys = Object.keys(json)
    let source: object = json
    if (keys.some((k) => !exact.has(k))) {
      // Rename keys that match a column only case-insensitively; anything else is unknown.
      const renamed: Record<string, unknown> = {}
      for (const k of keys) {
        const name = exact.has(k) ? k : lower.get(k.toLowerCase())
        if (name === undefined || (name !== k && keys.includes(name))) {
          throw new RecordIssue(`unknown column (not in the table schema)`, k)
        }
        renamed[name] = Reflect.get(json, k)
      }
      source = renamed
    }
    const out: Record<string, Row.Value> = {}
    for (const f of fields) {
      try {
        out[f.name] = f.convert(Reflect.get(source, f.name))
      } catch (e) {
        rethrowWithin(e, f.name)
      }
    }
    return out
  }
}

const compile = (type: Delta.DeltaType, path: string): Convert => {
  switch (type.kind) {
    case "primitive":
      return primitive(type, path)
    case "decimal":
      return decimal(type)
    case "array":
      return array(type, path)
    case "map":
      return map(type, path)
    case "struct":
      return struct(type, path)
  }
}

/** Checks one parsed JSON value against the table; the result is a row or an `InvalidRecord`. */
export type JsonDecoder = (json: unknown) => Result.Result<Row.Row, DeltaSchemaError>

/**
 * Compiles a decoder for a table schema. Throws (synchronously) an `UnsupportedType`
 * {@link DeltaSchemaError} when the schema has a column Zerobus Local cannot write; use
 * `Delta.checkWritable` first to get that as a value.
 */
export const makeDecoder = (schema: Delta.StructType): JsonDecoder => {
  const convert = struct(schema, "")
  return (json) => {
    try {
      return Result.succeed(convert(json))
    } catch (e) {
      if (e instanceof RecordIssue) return Result.fail(e.toError())
      throw e
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** Parses a record's bytes (UTF-8 JSON) and decodes it with `decoder`. */
export const decodeBytes = (
  decoder: JsonDecoder,
  bytes: Uint8Array | string
): Result.Result<Row.Row, DeltaSchemaError> => {
  let json: unknown
  try {
    json = JSON.parse(typeof bytes === "string" ? bytes : utf8.decode(bytes))
  } catch (e) {
    return Result.fail(invalidRecord("", `invalid JSON: ${e instanceof Error ? e.message : String(e)}`))
  }
  return decoder(json)
}

// ---------------------------------------------------------------------------------------------
// row → JSON (the canonical form the decoder accepts back)
// ---------------------------------------------------------------------------------------------

const scalarToJson = (type: Delta.DeltaType, value: Row.Value): unknown => {
  if (type.kind === "decimal" && typeof value === "bigint") return Row.formatDecimal(value, type.scale)
  if (type.kind !== "primitive") return null
  switch (type.name) {
    case "long":
      return typeof value === "bigint" && value >= Number.MIN_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER
        ? Number(value)
        : String(value)
    case "timestamp":
    case "timestamp_ntz":
      return typeof value === "bigint" ? Row.formatTimestamp(value) : null
    case "date":
      return typeof value === "number" ? Row.formatDate(value) : null
    case "binary":
      return value instanceof Uint8Array ? Buffer.from(value).toString("base64") : null
    case "float":
    case "double":
      return typeof value === "number" && !Number.isFinite(value) ? String(value) : value
    default:
      return value
  }
}

const keyToText = (type: Delta.DeltaType, key: Row.Value): string => {
  const json = scalarToJson(type, key)
  return typeof json === "string" ? json : String(json)
}

/** Renders a value of `type` as JSON (see {@link encode}). */
export const valueToJson = (type: Delta.DeltaType, value: Row.Value): unknown => {
  if (value === null) return null
  switch (type.kind) {
    case "primitive":
    case "decimal":
      return scalarToJson(type, value)
    case "array":
      return Array.isArray(value) ? value.map((v: Row.Value) => valueToJson(type.elementType, v)) : null
    case "map":
      return value instanceof Map
        ? Object.fromEntries([...value].map(([k, v]) => [keyToText(type.keyType, k), valueToJson(type.valueType, v)]))
        : null
    case "struct":
      return Row.isStructValue(value)
        ? Object.fromEntries(type.fields.map((f) => [f.name, valueToJson(f.type, value[f.name] ?? null)]))
        : null
  }
}

/**
 * Renders a row as the JSON object that decodes back to the same row: long as a number when it
 * is a safe integer (else a string), timestamps as ISO-8601 with µs, dates `YYYY-MM-DD`, decimals
 * as strings, binary as base64, non-finite floats as strings, maps as objects.
 */
export const encode = (schema: Delta.StructType, row: Row.Row): { readonly [column: string]: unknown } =>
  Object.fromEntries(schema.fields.map((f) => [f.name, valueToJson(f.type, row[f.name] ?? null)]))
