import { toBinary } from "@bufbuild/protobuf"
import { create } from "@bufbuild/protobuf"
import { DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as JsonRecord from "../../../src/internal/delta/JsonRecord.ts"
import * as ProtoSchema from "../../../src/internal/delta/ProtoSchema.ts"
import * as DeltaLog from "../../../src/local/delta/DeltaLog.ts"
import * as DeltaTable from "../../../src/local/delta/DeltaTable.ts"
import { conformance, readDelta } from "../../support/delta/DuckDb.ts"
import { allTypes, allTypesDuckDb, allTypesRecords, byId, columnTypes, tempDir } from "../../support/delta/fixtures.ts"

const newTable = (schema: Delta.StructType) =>
  Effect.gen(function*() {
    const root = yield* tempDir()
    const dir = path.join(root, "main", "default", "events")
    yield* DeltaTable.create({ dir, name: "main.default.events", schema })
    return dir
  })

const slow = { flushInterval: "1 hour" } as const

/** decimal(38,6) goes through a double when read back with hyparquet: compare everything else exactly. */
const withoutBig = (o: { readonly [k: string]: unknown }) => ({ ...o, big: typeof o["big"] })

describe("DeltaTable", () => {
  it.live("writes every supported type; DuckDB reads back the values and types", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(allTypes)
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, ...slow })
        const stream = yield* table.openStream({ streamId: "s1", format: "json" })
        const durable = yield* stream.append(0, allTypesRecords.map(([record]) => JSON.stringify(record)))
        yield* durable
        assert.strictEqual(yield* table.flush, 1)
      }))
      const read = yield* readDelta(dir, { orderBy: "id" })
      assert.strictEqual(read.version, 1)
      assert.deepStrictEqual(columnTypes(read.columns), allTypesDuckDb)
      assert.deepStrictEqual(read.rows, allTypesRecords.map(([, row]) => row).toSorted(byId))
      assert.deepStrictEqual(yield* conformance(dir), [])
    }))

  it.live("reads rows back (committed and buffered) in the JSON form the decoder accepts", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(allTypes)
      const decoder = JsonRecord.makeDecoder(allTypes)
      const inputs = allTypesRecords.map(([record]) => JSON.stringify(record))
      const expected = inputs.map((r) =>
        JsonRecord.encode(allTypes, Result.getOrThrow(JsonRecord.decodeBytes(decoder, r)))
      )
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, ...slow })
        const stream = yield* table.openStream({ streamId: "s1", format: "json" })
        yield* Effect.flatten(stream.append(0, inputs.slice(0, 2)))
        yield* table.flush
        yield* Effect.flatten(stream.append(2, inputs.slice(2)))
        const rows = yield* table.rows
        const actual = rows.map((row) => JsonRecord.encode(allTypes, row))
        assert.deepStrictEqual(actual.map(withoutBig), expected.map(withoutBig))
        assert.closeTo(Number(actual[0]!["big"]), Number(expected[0]!["big"]), 1e17)
        assert.strictEqual(actual[2]!["big"], "-0.000001")
        // the canonical JSON decodes back to the same row
        assert.deepStrictEqual(
          Result.getOrThrow(decoder(expected[0])),
          Result.getOrThrow(JsonRecord.decodeBytes(decoder, inputs[0]!))
        )
      }))
    }))

  it.live("ingests protobuf records of a descriptor generated from the table", () =>
    Effect.gen(function*() {
      const schema = Delta.struct(
        allTypes.fields.filter((f) => !["amount", "big", "ratio", "payload"].includes(f.name))
      )
      const dir = yield* newTable(schema)
      const proto = yield* ProtoSchema.toProto(schema, { messageName: "table_events", packageName: "events" })
      const descriptor = toBinary(DescriptorProtoSchema, proto.descriptor)
      const message = yield* ProtoSchema.resolveDescriptor(descriptor)
      const records = [
        create(message, {
          id: 7n,
          b: 1,
          s: 2,
          i: 3,
          f: 0.5,
          d: 0.25,
          ok: true,
          name: "p",
          day: 19782,
          ts: 1704164645123456n,
          tags: ["x"],
          attrs: { k: 9n },
          loc: { lat: 1, lon: 2 },
          items: [{ sku: "s", qty: 4 }],
          nested: { a: { v: [5, 6] } }
        }),
        create(message, { id: 8n })
      ].map((m) => toBinary(message, m))
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, ...slow })
        const stream = yield* table.openStream({ streamId: "p", format: "proto", descriptor })
        yield* Effect.flatten(stream.append(0, records))
        yield* table.flush
      }))
      const read = yield* readDelta(dir, {
        select: "id, b, day::varchar as day, ts::varchar as ts, tags, attrs, loc, items, nested",
        orderBy: "id"
      })
      assert.deepStrictEqual(read.rows, [
        {
          id: "7",
          b: 1,
          day: "2024-02-29",
          ts: "2024-01-02 03:04:05.123456+00",
          tags: ["x"],
          attrs: [{ key: "k", value: "9" }],
          loc: { lat: 1, lon: 2 },
          items: [{ sku: "s", qty: 4 }],
          nested: [{ key: "a", value: { v: [5, 6] } }]
        },
        { id: "8", b: null, day: null, ts: null, tags: [], attrs: [], loc: null, items: [], nested: [] }
      ])
      assert.deepStrictEqual(yield* conformance(dir), [])
    }))

  it.live("rejects a request with an invalid record (naming index and column) and keeps none of it", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(allTypes)
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, ...slow })
        const stream = yield* table.openStream({ streamId: "s", format: "json" })
        const error = yield* Effect.flip(stream.append(0, ["{\"id\":1}", "{\"id\":2,\"loc\":{\"lat\":\"x\"}}"]))
        assert.strictEqual(error.reason._tag, "InvalidArgument")
        assert.deepInclude(error.reason, { column: "loc.lat", index: 1 })
        assert.include(error.message, "record 1: column 'loc.lat'")
        const unknown = yield* Effect.flip(stream.append(1, ["{\"id\":1,\"color\":\"red\"}"]))
        assert.deepInclude(unknown.reason, { column: "color", index: 0 })
        assert.strictEqual(table.stats().bufferedRows, 0)
        yield* Effect.flatten(stream.append(2, ["{\"id\":3}"]))
        yield* table.flush
      }))
      const read = yield* readDelta(dir, { select: "id" })
      assert.deepStrictEqual(read.rows, [{ id: "3" }])
    }))

  it.live("refuses a descriptor that does not fit the table, naming the field", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(Delta.struct([Delta.field("id", Delta.long, false)]))
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, ...slow })
        const descriptor = toBinary(
          DescriptorProtoSchema,
          create(DescriptorProtoSchema, { name: "T", field: [{ name: "id", number: 1, label: 1, type: 9 }] })
        )
        const error = yield* Effect.flip(table.openStream({ streamId: "p", format: "proto", descriptor }))
        assert.strictEqual(error.reason._tag, "InvalidArgument")
        assert.include(error.message, "field 'id': string cannot be stored in a column of type bigint")
        const missing = yield* Effect.flip(table.openStream({ streamId: "q", format: "proto" }))
        assert.include(missing.message, "descriptor_proto")
      }))
    }))

  it.live("commits at intervals and by row count, checkpoints every 10 commits", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(Delta.struct([Delta.field("id", Delta.long, false), Delta.field("v", Delta.string)]))
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, flushInterval: "20 millis", maxBufferedRows: 5 })
        const stream = yield* table.openStream({ streamId: "s", format: "json" })
        // 25 requests of 5 rows: each reaches maxBufferedRows; the timer picks up anything left
        for (let r = 0; r < 25; r++) {
          const records = Array.from({ length: 5 }, (_, i) => JSON.stringify({ id: r * 5 + i, v: `row ${r * 5 + i}` }))
          yield* Effect.flatten(stream.append(r * 5, records))
        }
        yield* table.flush
        const stats = table.stats()
        assert.strictEqual(stats.bufferedRows, 0)
        assert.isAtLeast(stats.commits, 2)
        assert.strictEqual(stats.checkpoints, Math.floor(stats.commits / 10))
      }))
      const read = yield* readDelta(dir, { select: "count(*) as n, sum(id) as s, count(distinct id) as d" })
      assert.deepStrictEqual(read.rows, [{ n: "125", s: "7750", d: "125" }])
      assert.deepStrictEqual(yield* conformance(dir), [])
    }))

  it.live("reads a snapshot from its checkpoint exactly as from the JSON commits", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(Delta.struct([Delta.field("id", Delta.long, false)]))
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, ...slow, checkpointInterval: 10 })
        const stream = yield* table.openStream({ streamId: "s", format: "json" })
        for (let i = 0; i < 23; i++) {
          yield* Effect.flatten(stream.append(i, [JSON.stringify({ id: i })]))
          yield* table.flush
        }
        assert.strictEqual(table.stats().checkpoints, 2)
      }))
      const logDir = path.join(dir, "_delta_log")
      assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(logDir, "_last_checkpoint"), "utf8")).version, 20)
      const fromCheckpoint = yield* DeltaLog.readSnapshot(dir)
      // the same table without checkpoints: JSON replay only
      fs.rmSync(path.join(logDir, "_last_checkpoint"))
      for (const name of fs.readdirSync(logDir).filter((n) => n.includes("checkpoint"))) {
        fs.rmSync(path.join(logDir, name))
      }
      const fromJson = yield* DeltaLog.readSnapshot(dir)
      assert.strictEqual(fromCheckpoint.version, 23)
      assert.deepStrictEqual(fromCheckpoint.files, fromJson.files)
      assert.deepStrictEqual(fromCheckpoint.txns, fromJson.txns)
      assert.deepStrictEqual(fromCheckpoint.metadata, fromJson.metadata)
      assert.deepStrictEqual(fromCheckpoint.protocol, fromJson.protocol)
    }))

  it.live("create refuses an existing table and unwritable schemas", () =>
    Effect.gen(function*() {
      const dir = yield* newTable(Delta.struct([Delta.field("id", Delta.long)]))
      const again = yield* Effect.flip(
        DeltaTable.create({ dir, name: "x", schema: Delta.struct([Delta.field("id", Delta.long)]) })
      )
      assert.strictEqual(again.reason._tag, "AlreadyExists")
      const root = yield* tempDir()
      const ntz = yield* Effect.flip(DeltaTable.create({
        dir: path.join(root, "t"),
        name: "t",
        schema: Delta.struct([Delta.field("at", Delta.timestampNtz)])
      }))
      assert.deepInclude(ntz.reason, { _tag: "InvalidArgument", column: "at" })
      const missing = yield* Effect.flip(Effect.scoped(DeltaTable.open({ dir: path.join(root, "none") })))
      assert.strictEqual(missing.reason._tag, "NotFound")
    }))
})
