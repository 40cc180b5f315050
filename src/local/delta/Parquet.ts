/**
 * The Parquet sink: Delta types → Parquet schema elements and rows → one snappy-compressed Parquet
 * file, written with `hyparquet-writer` (pure JavaScript).
 *
 * | Delta        | Parquet                                                                        |
 * | ------------ | ------------------------------------------------------------------------------ |
 * | boolean      | BOOLEAN                                                                        |
 * | byte / short | INT32 + converted INT_8 / INT_16 (no INTEGER logical type: hyparquet-writer encodes its bit width wrongly) |
 * | integer      | INT32                                                                          |
 * | long         | INT64                                                                          |
 * | float/double | FLOAT / DOUBLE                                                                 |
 * | string       | BYTE_ARRAY + UTF8                                                              |
 * | binary       | BYTE_ARRAY                                                                     |
 * | date         | INT32 + DATE                                                                   |
 * | timestamp    | INT64 + TIMESTAMP(isAdjustedToUTC, MICROS) + converted TIMESTAMP_MICROS        |
 * | decimal(p,s) | INT32 (p ≤ 9), INT64 (p ≤ 18), FIXED_LEN_BYTE_ARRAY(16) + DECIMAL(p,s)         |
 * | array        | LIST → repeated group `list` → `element`                                       |
 * | map          | MAP → repeated group `key_value` → `key` (required), `value`                   |
 * | struct       | group                                                                          |
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import { parquetReadObjects, type SchemaElement } from "hyparquet"
import { ByteWriter, ParquetWriter } from "hyparquet-writer"
import type * as Delta from "../../internal/delta/DeltaType.ts"
import * as Row from "../../internal/delta/Row.ts"
import { corrupt, type DeltaError, io } from "./DeltaError.ts"

type Repetition = "REQUIRED" | "OPTIONAL"

const leaf = (name: string, repetition: Repetition, type: Delta.PrimitiveType | Delta.DecimalType): SchemaElement => {
  const base = { name, repetition_type: repetition } as const
  if (type.kind === "decimal") {
    const physical = type.precision <= 9 ? "INT32" : type.precision <= 18 ? "INT64" : "FIXED_LEN_BYTE_ARRAY"
    return {
      ...base,
      type: physical,
      ...(physical === "FIXED_LEN_BYTE_ARRAY" ? { type_length: 16 } : {}),
      converted_type: "DECIMAL",
      precision: type.precision,
      scale: type.scale,
      logical_type: { type: "DECIMAL", precision: type.precision, scale: type.scale }
    }
  }
  switch (type.name) {
    case "boolean":
      return { ...base, type: "BOOLEAN" }
    case "byte":
      return { ...base, type: "INT32", converted_type: "INT_8" }
    case "short":
      return { ...base, type: "INT32", converted_type: "INT_16" }
    case "integer":
      return { ...base, type: "INT32" }
    case "long":
      return { ...base, type: "INT64" }
    case "float":
      return { ...base, type: "FLOAT" }
    case "double":
      return { ...base, type: "DOUBLE" }
    case "string":
    case "variant":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8" }
    case "binary":
      return { ...base, type: "BYTE_ARRAY" }
    case "date":
      return { ...base, type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } }
    case "timestamp":
    case "timestamp_ntz":
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MICROS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: type.name === "timestamp", unit: "MICROS" }
      }
  }
}

const elements = (name: string, type: Delta.DeltaType, nullable: boolean): Array<SchemaElement> => {
  const repetition: Repetition = nullable ? "OPTIONAL" : "REQUIRED"
  switch (type.kind) {
    case "primitive":
    case "decimal":
      return [leaf(name, repetition, type)]
    case "array":
      return [
        { name, repetition_type: repetition, converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        ...elements("element", type.elementType, type.containsNull)
      ]
    case "map":
      return [
        { name, repetition_type: repetition, converted_type: "MAP", num_children: 1 },
        { name: "key_value", repetition_type: "REPEATED", num_children: 2 },
        ...elements("key", type.keyType, false),
        ...elements("value", type.valueType, type.valueContainsNull)
      ]
    case "struct":
      return [
        { name, repetition_type: repetition, num_children: type.fields.length },
        ...type.fields.flatMap((f) => elements(f.name, f.type, f.nullable))
      ]
  }
}

/** The Parquet schema (depth-first element list, root first) of a table schema. */
export const parquetSchema = (schema: Delta.StructType): Array<SchemaElement> => [
  { name: "spark_schema", num_children: schema.fields.length },
  ...schema.fields.flatMap((f) => elements(f.name, f.type, f.nullable))
]

/** Rows per row group; the encoder yields to other fibers between row groups. */
const ROW_GROUP_ROWS = 20_000

const tryEncode = <A>(f: () => A): Effect.Effect<A, DeltaError> =>
  Effect.try({ try: f, catch: (e) => io("encode", "parquet", e) })

/**
 * Encodes rows (every row holding every column, see `Row.ts`) as a snappy-compressed Parquet file,
 * one row group at a time, yielding in between so that acknowledgements keep flowing while a large
 * file is encoded. Fails with `Io` (operation `encode`) if a value does not fit its column, which
 * the record decoders rule out.
 */
export const encode = Effect.fnUntraced(function*(
  schema: Delta.StructType,
  rows: ReadonlyArray<Row.Row>
) {
  const writer = new ByteWriter()
  const parquet = yield* tryEncode(() =>
    new ParquetWriter({
      writer,
      schema: parquetSchema(schema),
      codec: "SNAPPY",
      statistics: true,
      createdBy: "zerobus-local"
    })
  )
  for (let start = 0; start < rows.length; start += ROW_GROUP_ROWS) {
    const group = rows.slice(start, start + ROW_GROUP_ROWS)
    yield* tryEncode(() =>
      parquet.write({
        columnData: schema.fields.map((f) => ({ name: f.name, data: group.map((r) => r[f.name] ?? null) })),
        rowGroupSize: ROW_GROUP_ROWS
      })
    )
    if (start + ROW_GROUP_ROWS < rows.length) yield* Effect.yieldNow
  }
  yield* tryEncode(() => parquet.finish())
  return new Uint8Array(writer.getBuffer())
})

// ---------------------------------------------------------------------------------------------
// reading our files back (hyparquet) into rows
// ---------------------------------------------------------------------------------------------

class Mismatch extends Error {}

const mismatch = (type: Delta.DeltaType, value: unknown): never => {
  throw new Mismatch(`unexpected ${typeof value} for a ${type.kind === "primitive" ? type.name : type.kind} column`)
}

const mapKey = (type: Delta.DeltaType, key: string): Row.Value => {
  if (type.kind === "decimal") {
    const parsed = Row.parseDecimal(key, type.precision, type.scale)
    return typeof parsed === "string" ? mismatch(type, key) : parsed
  }
  if (type.kind !== "primitive") return mismatch(type, key)
  switch (type.name) {
    case "long":
    case "timestamp":
    case "timestamp_ntz":
      return BigInt(key)
    case "boolean":
      return key === "true"
    case "string":
    case "variant":
      return key
    default:
      return Number(key)
  }
}

/** Converts one value as hyparquet returns it into the row representation of `type`. */
const normalize = (type: Delta.DeltaType, value: unknown): Row.Value => {
  if (value === null || value === undefined) return null
  switch (type.kind) {
    case "decimal": {
      if (Predicate.isBigInt(value)) return value
      if (!Predicate.isNumber(value)) return mismatch(type, value)
      const parsed = Row.parseDecimal(value.toFixed(type.scale), type.precision, type.scale)
      return typeof parsed === "string" ? mismatch(type, value) : parsed
    }
    case "primitive":
      switch (type.name) {
        case "long":
        case "timestamp":
        case "timestamp_ntz":
          return Predicate.isBigInt(value) ? value : Predicate.isNumber(value) ? BigInt(value) : mismatch(type, value)
        case "boolean":
          return Predicate.isBoolean(value) ? value : mismatch(type, value)
        case "string":
        case "variant":
          return Predicate.isString(value) ? value : mismatch(type, value)
        case "binary":
          return value instanceof Uint8Array ? value : mismatch(type, value)
        default:
          return Predicate.isNumber(value) ? value : mismatch(type, value)
      }
    case "array":
      return Array.isArray(value) ? value.map((v: unknown) => normalize(type.elementType, v)) : mismatch(type, value)
    case "map": {
      const entries = value instanceof Map ? [...value] : Predicate.isObject(value) ? Object.entries(value) : undefined
      if (entries === undefined) return mismatch(type, value)
      return new Map(entries.map(([k, v]) => [mapKey(type.keyType, String(k)), normalize(type.valueType, v)]))
    }
    case "struct": {
      if (!Predicate.isObject(value)) return mismatch(type, value)
      const out: Record<string, Row.Value> = {}
      for (const f of type.fields) out[f.name] = normalize(f.type, Reflect.get(value, f.name))
      return out
    }
  }
}

/**
 * Reads a Parquet file written by {@link encode} back into rows. Decimals pass through a double in
 * hyparquet, so values with more than 15 significant digits may come back rounded.
 */
export const decode = (
  schema: Delta.StructType,
  bytes: Uint8Array,
  file = "parquet"
): Effect.Effect<Array<Row.Row>, DeltaError> =>
  Effect.tryPromise({
    try: async () => {
      const objects = await parquetReadObjects({
        file: new Uint8Array(bytes).buffer,
        rowFormat: "object",
        utf8: false,
        parsers: { timestampFromMicroseconds: (micros: bigint) => micros, dateFromDays: (days: number) => days }
      })
      return objects.map((o) => {
        const row: Record<string, Row.Value> = {}
        for (const f of schema.fields) row[f.name] = normalize(f.type, o[f.name])
        return row
      })
    },
    catch: (e) => corrupt(file, `cannot read rows back: ${e instanceof Error ? e.message : String(e)}`)
  })
