/**
 * Per-file statistics for the Delta `add.stats` JSON string: `numRecords`, and for the first 32 leaf
 * columns `nullCount`, `minValues` and `maxValues`, shaped like the schema (nested objects for
 * structs).
 *
 * Rules (safe for readers that skip files by these bounds):
 * - no min/max for boolean, binary, array and map columns (nullCount only);
 * - strings: bounds only when both are at most 32 UTF-16 units and hold no character ≥ U+D800
 *   (where JavaScript's order differs from UTF-8 byte order);
 * - timestamps: ISO-8601 UTC at millisecond precision, min rounded down, max rounded up;
 * - dates `YYYY-MM-DD`; decimals as exact JSON numbers; floats only when every value is finite;
 * - a null struct counts as null for each of its leaves.
 *
 * @internal
 */
import type * as Delta from "../../internal/delta/DeltaType.ts"
import * as Row from "../../internal/delta/Row.ts"

/** How many leaf columns get statistics (Delta's `dataSkippingNumIndexedCols` default). */
export const INDEXED_COLUMNS = 32

/** A JSON tree whose leaves are already-serialized JSON text. */
type RawJson = string | Map<string, RawJson>

const render = (json: RawJson): string =>
  typeof json === "string"
    ? json
    : `{${[...json].map(([k, v]) => `${JSON.stringify(k)}:${render(v)}`).join(",")}}`

const place = (tree: Map<string, RawJson>, path: ReadonlyArray<string>, value: string): void => {
  let node = tree
  for (const key of path.slice(0, -1)) {
    let child = node.get(key)
    if (!(child instanceof Map)) {
      child = new Map()
      node.set(key, child)
    }
    node = child
  }
  node.set(path.at(-1)!, value)
}

interface Leaf {
  readonly path: ReadonlyArray<string>
  readonly type: Delta.DeltaType
}

const leaves = (type: Delta.StructType, prefix: ReadonlyArray<string>, out: Array<Leaf>): Array<Leaf> => {
  for (const f of type.fields) {
    if (f.type.kind === "struct") leaves(f.type, [...prefix, f.name], out)
    else out.push({ path: [...prefix, f.name], type: f.type })
  }
  return out
}

const valueAt = (row: Row.Row, path: ReadonlyArray<string>): Row.Value => {
  let value: Row.Value = row
  for (const key of path) {
    if (!Row.isStructValue(value)) return null
    value = value[key] ?? null
  }
  return value
}

const compare = (a: Row.Value, b: Row.Value): number =>
  typeof a === "bigint" && typeof b === "bigint"
    ? (a < b ? -1 : a > b ? 1 : 0)
    : typeof a === "number" && typeof b === "number"
    ? a - b
    : typeof a === "string" && typeof b === "string"
    ? (a < b ? -1 : a > b ? 1 : 0)
    : 0

const HIGH = /[\uD800-\uFFFF]/

/** Renders min and max as JSON text, or undefined when the type gets no bounds or they are unsafe. */
const bounds = (type: Delta.DeltaType, min: Row.Value, max: Row.Value): readonly [string, string] | undefined => {
  if (typeof min === "bigint" && typeof max === "bigint") {
    if (type.kind === "decimal") return [Row.formatDecimal(min, type.scale), Row.formatDecimal(max, type.scale)]
    if (type.kind === "primitive" && type.name === "timestamp") {
      const lo = new Date(Number(Row.floorDiv(min, 1000n))).toISOString()
      const hi = new Date(Number(-Row.floorDiv(-max, 1000n))).toISOString()
      return [JSON.stringify(lo), JSON.stringify(hi)]
    }
    return [String(min), String(max)]
  }
  if (typeof min === "number" && typeof max === "number") {
    if (type.kind === "primitive" && type.name === "date") {
      return [JSON.stringify(Row.formatDate(min)), JSON.stringify(Row.formatDate(max))]
    }
    return Number.isFinite(min) && Number.isFinite(max) ? [JSON.stringify(min), JSON.stringify(max)] : undefined
  }
  if (typeof min === "string" && typeof max === "string") {
    if (min.length > 32 || max.length > 32 || HIGH.test(min) || HIGH.test(max)) return undefined
    return [JSON.stringify(min), JSON.stringify(max)]
  }
  return undefined
}

const hasBounds = (type: Delta.DeltaType): boolean =>
  type.kind === "decimal" ||
  (type.kind === "primitive" && type.name !== "boolean" && type.name !== "binary" && type.name !== "variant" &&
    type.name !== "timestamp_ntz")

/** The `stats` JSON string of a file holding `rows`. */
export const fileStats = (schema: Delta.StructType, rows: ReadonlyArray<Row.Row>): string => {
  const minValues = new Map<string, RawJson>()
  const maxValues = new Map<string, RawJson>()
  const nullCount = new Map<string, RawJson>()
  for (const leaf of leaves(schema, [], []).slice(0, INDEXED_COLUMNS)) {
    const ordered = hasBounds(leaf.type)
    let nulls = 0
    let min: Row.Value = null
    let max: Row.Value = null
    let nan = false
    for (const row of rows) {
      const value = valueAt(row, leaf.path)
      if (value === null) {
        nulls++
        continue
      }
      if (!ordered) continue
      if (typeof value === "number" && Number.isNaN(value)) {
        nan = true
        continue
      }
      if (min === null || compare(value, min) < 0) min = value
      if (max === null || compare(value, max) > 0) max = value
    }
    place(nullCount, leaf.path, String(nulls))
    if (ordered && !nan && min !== null && max !== null) {
      const rendered = bounds(leaf.type, min, max)
      if (rendered !== undefined) {
        place(minValues, leaf.path, rendered[0])
        place(maxValues, leaf.path, rendered[1])
      }
    }
  }
  return render(
    new Map<string, RawJson>([
      ["numRecords", String(rows.length)],
      ["minValues", minValues],
      ["maxValues", maxValues],
      ["nullCount", nullCount]
    ])
  )
}
