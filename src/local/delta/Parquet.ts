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
import type { SchemaElement } from "hyparquet"
import { parquetWriteBuffer } from "hyparquet-writer"
import type * as Delta from "../../internal/delta/DeltaType.ts"
import type * as Row from "../../internal/delta/Row.ts"
import { type DeltaError, io } from "./DeltaError.ts"

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

/** Options of {@link encode}. */
export interface EncodeOptions {
  /** Rows per row group (default 100,000). */
  readonly rowGroupSize?: number | undefined
  /** Written as the file's `created_by`. */
  readonly createdBy?: string | undefined
}

/**
 * Encodes rows (every row holding every column, see `Row.ts`) as a snappy-compressed Parquet file.
 * Fails with `Io` (operation `encode`) if a value does not fit its column, which the record
 * decoders rule out.
 */
export const encode = (
  schema: Delta.StructType,
  rows: ReadonlyArray<Row.Row>,
  options: EncodeOptions = {}
): Effect.Effect<Uint8Array, DeltaError> =>
  Effect.try({
    try: () =>
      new Uint8Array(parquetWriteBuffer({
        schema: parquetSchema(schema),
        columnData: schema.fields.map((f) => ({ name: f.name, data: rows.map((r) => r[f.name] ?? null) })),
        codec: "SNAPPY",
        rowGroupSize: options.rowGroupSize ?? 100_000,
        statistics: true,
        createdBy: options.createdBy ?? "zerobus-local"
      })),
    catch: (e) => io("encode", "parquet", e)
  })
