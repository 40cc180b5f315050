/**
 * Shared fixtures of the Delta storage tests: temporary directories and a table schema that uses
 * every supported type, with JSON records and what DuckDB must read back for them.
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"

/** A temporary directory removed when the Scope closes. */
export const tempDir = (prefix = "zerobus-delta-") =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

/** Every supported Delta type, nested ones included. */
export const allTypes = Delta.struct([
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
  Delta.field("big", Delta.decimal(38, 6)),
  Delta.field("ratio", Delta.decimal(5, 2)),
  Delta.field("tags", Delta.array(Delta.string, false)),
  Delta.field("attrs", Delta.map(Delta.string, Delta.long)),
  Delta.field("flags", Delta.map(Delta.integer, Delta.boolean, false)),
  Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double, false), Delta.field("lon", Delta.double)])),
  Delta.field(
    "items",
    Delta.array(Delta.struct([Delta.field("sku", Delta.string), Delta.field("qty", Delta.integer)]))
  ),
  Delta.field("nested", Delta.map(Delta.string, Delta.struct([Delta.field("v", Delta.array(Delta.integer))])))
])

/** The DuckDB type of each column of {@link allTypes}. */
export const allTypesDuckDb: ReadonlyArray<readonly [string, string]> = [
  ["id", "BIGINT"],
  ["b", "TINYINT"],
  ["s", "SMALLINT"],
  ["i", "INTEGER"],
  ["f", "FLOAT"],
  ["d", "DOUBLE"],
  ["ok", "BOOLEAN"],
  ["name", "VARCHAR"],
  ["payload", "BLOB"],
  ["day", "DATE"],
  ["ts", "TIMESTAMP WITH TIME ZONE"],
  ["amount", "DECIMAL(10,2)"],
  ["big", "DECIMAL(38,6)"],
  ["ratio", "DECIMAL(5,2)"],
  ["tags", "VARCHAR[]"],
  ["attrs", "MAP(VARCHAR, BIGINT)"],
  ["flags", "MAP(INTEGER, BOOLEAN)"],
  ["loc", "STRUCT(lat DOUBLE, lon DOUBLE)"],
  ["items", "STRUCT(sku VARCHAR, qty INTEGER)[]"],
  ["nested", "MAP(VARCHAR, STRUCT(v INTEGER[]))"]
]

/** JSON records for {@link allTypes} and the row DuckDB must return for each (its lossless JSON form). */
export const allTypesRecords: ReadonlyArray<readonly [Record<string, unknown>, Record<string, unknown>]> = [
  [
    {
      id: 1,
      b: -128,
      s: 32767,
      i: -2147483648,
      f: 1.5,
      d: -2.25e-10,
      ok: true,
      name: "héllo, wörld ✓",
      payload: "AAEC/w==",
      day: "2024-02-29",
      ts: "2024-01-02T03:04:05.123456Z",
      amount: "12345678.91",
      big: "12345678901234567890123456789012.123456",
      ratio: 999.99,
      tags: ["a", "b", ""],
      attrs: { x: 1, y: "-9223372036854775808" },
      flags: { "1": true, "-7": false },
      loc: { lat: 52.52, lon: 13.405 },
      items: [{ sku: "A-1", qty: 2 }, null, { sku: null, qty: 0 }],
      nested: { k: { v: [1, null, 3] }, e: { v: [] } }
    },
    {
      id: "1",
      b: -128,
      s: 32767,
      i: -2147483648,
      f: 1.5,
      d: -2.25e-10,
      ok: true,
      name: "héllo, wörld ✓",
      payload: "\\x00\\x01\\x02\\xFF",
      day: "2024-02-29",
      ts: "2024-01-02 03:04:05.123456+00",
      amount: "12345678.91",
      big: "12345678901234567890123456789012.123456",
      ratio: "999.99",
      tags: ["a", "b", ""],
      attrs: [{ key: "x", value: "1" }, { key: "y", value: "-9223372036854775808" }],
      flags: [{ key: 1, value: true }, { key: -7, value: false }],
      loc: { lat: 52.52, lon: 13.405 },
      items: [{ sku: "A-1", qty: 2 }, null, { sku: null, qty: 0 }],
      nested: [{ key: "k", value: { v: [1, null, 3] } }, { key: "e", value: { v: [] } }]
    }
  ],
  [
    { id: "9223372036854775807" },
    {
      id: "9223372036854775807",
      b: null,
      s: null,
      i: null,
      f: null,
      d: null,
      ok: null,
      name: null,
      payload: null,
      day: null,
      ts: null,
      amount: null,
      big: null,
      ratio: null,
      tags: null,
      attrs: null,
      flags: null,
      loc: null,
      items: null,
      nested: null
    }
  ],
  [
    {
      id: -3,
      b: 127,
      s: -32768,
      i: 2147483647,
      f: -0.25,
      d: 1e300,
      ok: false,
      name: "",
      payload: "",
      day: -719162,
      ts: "1969-12-31T23:59:59.999999+00:00",
      amount: -0.01,
      big: "-0.000001",
      ratio: "-0.5",
      tags: [],
      attrs: {},
      flags: {},
      loc: { lat: -90 },
      items: [],
      nested: {}
    },
    {
      id: "-3",
      b: 127,
      s: -32768,
      i: 2147483647,
      f: -0.25,
      d: 1e300,
      ok: false,
      name: "",
      payload: "",
      day: "0001-01-01",
      ts: "1969-12-31 23:59:59.999999+00",
      amount: "-0.01",
      big: "-0.000001",
      ratio: "-0.50",
      tags: [],
      attrs: [],
      flags: [],
      loc: { lat: -90, lon: null },
      items: [],
      nested: []
    }
  ]
]

/** Orders rows by their `id` column (digits of a long). */
export const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  Number(BigInt(String(a["id"])) - BigInt(String(b["id"])))

/** Column names and DuckDB types (DuckDB quotes struct field names; {@link allTypesDuckDb} does not). */
export const columnTypes = (
  columns: ReadonlyArray<{ readonly name: string; readonly type: string }>
): Array<readonly [string, string]> => columns.map((c) => [c.name, c.type.replaceAll("\"", "")] as const)
