import { assert, describe, it } from "@effect/vitest"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import type * as Row from "../../../src/internal/delta/Row.ts"
import * as Stats from "../../../src/local/delta/Stats.ts"

const schema = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("name", Delta.string),
  Delta.field("ts", Delta.timestamp),
  Delta.field("day", Delta.date),
  Delta.field("price", Delta.decimal(20, 2)),
  Delta.field("score", Delta.double),
  Delta.field("ok", Delta.boolean),
  Delta.field("tags", Delta.array(Delta.string)),
  Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double), Delta.field("city", Delta.string)]))
])

const row = (values: Partial<Record<string, Row.Value>>): Row.Row =>
  Object.fromEntries(schema.fields.map((f) => [f.name, values[f.name] ?? null]))

describe("Stats", () => {
  it("follows the schema, rounds timestamp bounds outwards and keeps 64-bit and decimal digits exact", () => {
    const stats = Stats.fileStats(schema, [
      row({
        id: 9223372036854775807n,
        name: "b",
        ts: 1704164645123456n,
        day: 19782,
        price: 12345678901234567n,
        score: 1.5,
        ok: true,
        tags: ["x"],
        loc: { lat: 1, city: "Berlin" }
      }),
      row({ id: -1n, name: "a", ts: 1704164645000001n, day: 0, price: -5n, score: -2, loc: null }),
      row({ id: 0n, tags: null, loc: { lat: null, city: "Zürich" } })
    ])
    assert.strictEqual(
      stats,
      "{\"numRecords\":3," +
        "\"minValues\":{\"id\":-1,\"name\":\"a\",\"ts\":\"2024-01-02T03:04:05.000Z\",\"day\":\"1970-01-01\"," +
        "\"price\":-0.05,\"score\":-2,\"loc\":{\"lat\":1,\"city\":\"Berlin\"}}," +
        "\"maxValues\":{\"id\":9223372036854775807,\"name\":\"b\",\"ts\":\"2024-01-02T03:04:05.124Z\"," +
        "\"day\":\"2024-02-29\",\"price\":123456789012345.67,\"score\":1.5,\"loc\":{\"lat\":1,\"city\":\"Zürich\"}}," +
        "\"nullCount\":{\"id\":0,\"name\":1,\"ts\":1,\"day\":1,\"price\":1,\"score\":1,\"ok\":2,\"tags\":2," +
        "\"loc\":{\"lat\":2,\"city\":1}}}"
    )
  })

  it("omits bounds that are unsafe: long strings, high code points, NaN and infinities", () => {
    const s = Delta.struct([
      Delta.field("a", Delta.string),
      Delta.field("b", Delta.string),
      Delta.field("c", Delta.double)
    ])
    const stats = JSON.parse(Stats.fileStats(s, [
      { a: "x".repeat(33), b: "\u{1F600}", c: Number.NaN },
      { a: "y", b: "z", c: 1 }
    ]))
    assert.deepStrictEqual(stats.minValues, {})
    assert.deepStrictEqual(stats.maxValues, {})
    const inf = JSON.parse(Stats.fileStats(s, [{ a: null, b: null, c: Number.POSITIVE_INFINITY }]))
    assert.deepStrictEqual(inf.maxValues, {})
    assert.deepStrictEqual(inf.nullCount, { a: 1, b: 1, c: 0 })
  })

  it("indexes only the first 32 leaf columns", () => {
    const wide = Delta.struct(Array.from({ length: 40 }, (_, i) => Delta.field(`c${i}`, Delta.integer)))
    const stats = JSON.parse(Stats.fileStats(wide, [Object.fromEntries(wide.fields.map((f, i) => [f.name, i]))]))
    assert.strictEqual(Object.keys(stats.nullCount).length, 32)
    assert.strictEqual(stats.maxValues.c31, 31)
    assert.isUndefined(stats.maxValues.c32)
  })
})
