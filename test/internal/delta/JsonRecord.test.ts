import { assert, describe, it } from "@effect/vitest"
import * as Result from "effect/Result"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as JsonRecord from "../../../src/internal/delta/JsonRecord.ts"
import * as Row from "../../../src/internal/delta/Row.ts"

const schema = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("b", Delta.byte),
  Delta.field("s", Delta.short),
  Delta.field("i", Delta.integer),
  Delta.field("f", Delta.float),
  Delta.field("d", Delta.double),
  Delta.field("ok", Delta.boolean),
  Delta.field("name", Delta.string),
  Delta.field("payload", Delta.binary),
  Delta.field("day", Delta.date),
  Delta.field("ts", Delta.timestamp),
  Delta.field("amount", Delta.decimal(10, 2)),
  Delta.field("tags", Delta.array(Delta.string, false)),
  Delta.field("attrs", Delta.map(Delta.string, Delta.long)),
  Delta.field("counts", Delta.map(Delta.integer, Delta.boolean)),
  Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double, false), Delta.field("lon", Delta.double)])),
  Delta.field("items", Delta.array(Delta.struct([Delta.field("sku", Delta.string), Delta.field("qty", Delta.integer)])))
])

const decode = JsonRecord.makeDecoder(schema)

const ok = (json: unknown): Row.Row => {
  const result = decode(json)
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const failure = (json: unknown): { readonly column: string; readonly message: string } => {
  const result = decode(json)
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  const reason = result.failure.reason
  assert.strictEqual(reason._tag, "InvalidRecord")
  return { column: reason._tag === "InvalidRecord" ? reason.column : "", message: result.failure.message }
}

describe("JsonRecord", () => {
  it("converts every type to the row representation", () => {
    const row = ok({
      id: 42,
      b: -5,
      s: 1000,
      i: 7,
      f: 1.5,
      d: 2.25,
      ok: true,
      name: "héllo",
      payload: "AAEC/w==",
      day: "2024-02-29",
      ts: "2024-01-02T03:04:05.123456Z",
      amount: "1234.5",
      tags: ["a", "b"],
      attrs: { x: 1, y: "9007199254740993" },
      counts: { "3": true },
      loc: { lat: 1.5 },
      items: [{ sku: "A", qty: 2 }, null]
    })
    assert.deepStrictEqual(row, {
      id: 42n,
      b: -5,
      s: 1000,
      i: 7,
      f: 1.5,
      d: 2.25,
      ok: true,
      name: "héllo",
      payload: new Uint8Array([0, 1, 2, 255]),
      day: 19782,
      ts: 1704164645123456n,
      amount: 123450n,
      tags: ["a", "b"],
      attrs: new Map([["x", 1n], ["y", 9007199254740993n]]),
      counts: new Map([[3, true]]),
      loc: { lat: 1.5, lon: null },
      items: [{ sku: "A", qty: 2 }, null]
    })
  })

  it("fills absent nullable columns with null", () => {
    const row = ok({ id: "-9223372036854775808" })
    assert.strictEqual(row["id"], -9223372036854775808n)
    for (const f of schema.fields.slice(1)) assert.strictEqual(row[f.name], null, f.name)
  })

  it("accepts numeric dates and timestamps, zones, NaN/Infinity and exponents", () => {
    const row = ok({
      id: 1,
      day: -1,
      ts: 1_000_000,
      d: "NaN",
      f: "-Infinity",
      amount: 1.5e2
    })
    assert.strictEqual(row["day"], -1)
    assert.strictEqual(row["ts"], 1_000_000n)
    assert.isTrue(Number.isNaN(row["d"]))
    assert.strictEqual(row["f"], Number.NEGATIVE_INFINITY)
    assert.strictEqual(row["amount"], 15000n)
    assert.strictEqual(ok({ id: 1, ts: "2024-01-02 05:04:05+02:00" })["ts"], 1704164645000000n)
    assert.strictEqual(ok({ id: 1, ts: "1969-12-31T23:59:59.999999999Z" })["ts"], -1n)
    assert.strictEqual(ok({ id: 1, ts: "2024-01-02T03:04" })["ts"], 1704164640000000n)
    assert.strictEqual(ok({ id: 1, payload: "AAEC_w" })["payload"]?.toString(), "0,1,2,255")
  })

  it("names the column of a wrong type, a missing required field and an unknown column", () => {
    assert.deepStrictEqual(failure({ id: 1, i: "7" }).column, "i")
    assert.include(failure({ id: 1, i: "7" }).message, "column 'i': expected an integer")
    assert.strictEqual(failure({}).column, "id")
    assert.include(failure({}).message, "missing required field")
    assert.include(failure({ id: null }).message, "null in a NOT NULL field")
    const unknown = failure({ id: 1, color: "red" })
    assert.strictEqual(unknown.column, "color")
    assert.include(unknown.message, "unknown column")
    assert.strictEqual(failure({ id: 1, loc: { lat: 1, alt: 3 } }).column, "loc.alt")
    assert.strictEqual(failure({ id: 1, loc: { lon: 1 } }).column, "loc.lat")
    assert.strictEqual(failure({ id: 1, items: [{ sku: "a" }, { qty: 1.5 }] }).column, "items[1].qty")
    assert.strictEqual(failure({ id: 1, tags: ["a", null] }).column, "tags[1]")
    assert.strictEqual(failure({ id: 1, attrs: { k: "x" } }).column, "attrs.k")
    assert.strictEqual(failure({ id: 1, counts: { x: true } }).column, "counts.x")
    assert.strictEqual(failure([1]).column, "")
    assert.strictEqual(failure("x").column, "")
  })

  it("enforces ranges, precision and formats", () => {
    assert.include(failure({ id: 1, b: 128 }).message, "out of range for byte")
    assert.include(failure({ id: 1, s: -32769 }).message, "out of range for short")
    assert.include(failure({ id: 1, i: 2 ** 31 }).message, "out of range for integer")
    assert.include(failure({ id: 2 ** 53 + 2 }).message, "as strings")
    assert.include(failure({ id: "9223372036854775808" }).message, "out of range for long")
    assert.include(failure({ id: 1, f: 1e39 }).message, "out of range for float")
    assert.include(failure({ id: 1, amount: "1.234" }).message, "more than 2 digits")
    assert.include(failure({ id: 1, amount: "123456789.1" }).message, "does not fit decimal(10,2)")
    assert.include(failure({ id: 1, day: "2023-02-29" }).message, "invalid date")
    assert.include(failure({ id: 1, ts: "yesterday" }).message, "ISO-8601")
    assert.include(failure({ id: 1, payload: "!!" }).message, "base64")
    assert.include(failure({ id: 1, ok: "true" }).message, "expected a boolean")
    assert.include(failure({ id: 1, name: 5 }).message, "expected a string")
  })

  it("matches keys case-insensitively but refuses two spellings of one column", () => {
    assert.strictEqual(ok({ ID: 5 })["id"], 5n)
    assert.strictEqual(failure({ id: 5, ID: 6 }).column, "ID")
  })

  it("parses bytes and reports invalid JSON", () => {
    const result = JsonRecord.decodeBytes(decode, new TextEncoder().encode("{\"id\":3}"))
    assert.isTrue(Result.isSuccess(result))
    const bad = JsonRecord.decodeBytes(decode, "{\"id\":")
    assert.isTrue(Result.isFailure(bad) && bad.failure.message.startsWith("invalid JSON"))
    const badUtf8 = JsonRecord.decodeBytes(decode, new Uint8Array([0x7b, 0xff, 0x7d]))
    assert.isTrue(Result.isFailure(badUtf8))
  })

  it("formats values back to text", () => {
    assert.strictEqual(Row.formatTimestamp(1704164645123456n), "2024-01-02T03:04:05.123456Z")
    assert.strictEqual(Row.formatTimestamp(-1n), "1969-12-31T23:59:59.999999Z")
    assert.strictEqual(Row.formatDate(19782), "2024-02-29")
    assert.strictEqual(Row.formatDecimal(-5n, 2), "-0.05")
    assert.strictEqual(Row.formatDecimal(123450n, 2), "1234.50")
    assert.strictEqual(Row.formatDecimal(7n, 0), "7")
  })
})
