/**
 * Zerobus Local with Delta storage, driven by the real client (`src/Zerobus.ts`): declared tables
 * of every supported type written by JSON and protobuf streams and read back by DuckDB, typed
 * errors (NOT_FOUND, INVALID_ARGUMENT naming offset and column) with the same rules in memory and
 * on disk, auto-created protobuf tables, restarts on the same data directory.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, type Scope } from "effect"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as ProtoSchema from "../../../src/internal/delta/ProtoSchema.ts"
import { DeltaStorage, ZerobusLocal } from "../../../src/local/index.ts"
import * as Table from "../../../src/Table.ts"
import * as Zerobus from "../../../src/Zerobus.ts"
import { clientLayer, failure } from "../../support/client.ts"
import { conformance, readDelta, withDuckDb } from "../../support/delta/DuckDb.ts"
import { allTypes, allTypesDuckDb, allTypesRecords, byId, columnTypes, tempDir } from "../../support/delta/fixtures.ts"
import { quiet } from "../../support/local.ts"

const Local = ZerobusLocal.ZerobusLocal

/** A server with the given storage and a client for it, around `body`. */
const withServer = <A, E>(
  options: ZerobusLocal.LayerOptions,
  body: Effect.Effect<A, E, ZerobusLocal.ZerobusLocal | Zerobus.Zerobus | Scope.Scope>
) =>
  body.pipe(
    Effect.scoped,
    Effect.provide(clientLayer().pipe(Layer.provideMerge(ZerobusLocal.layer({ ...quiet, ...options }))))
  )

/** The client error an effect fails with. */
const noRecovery = { recovery: false, coalesce: false } as const

/** µs since the epoch of an ISO instant with millisecond precision, plus extra microseconds. */
const micros = (iso: string, extra: number): bigint => BigInt(Date.parse(iso)) * 1000n + BigInt(extra)
const days = (iso: string): number => Date.parse(iso) / 86_400_000

/** The protobuf view of {@link allTypes}: decimals travel as strings (the generator has no decimal). */
const protoView = Delta.struct(
  allTypes.fields.map((f) => f.type.kind === "decimal" ? Delta.field(f.name, Delta.string, f.nullable) : f)
)

/** Protobuf records of {@link allTypes} and the rows DuckDB must read for them (repeated fields hold no nulls). */
const protoRecords: ReadonlyArray<readonly [Record<string, unknown>, Record<string, unknown>]> = [
  [
    {
      id: 1n,
      b: -128,
      s: 32767,
      i: -2147483648,
      f: 1.5,
      d: -2.25e-10,
      ok: true,
      name: "héllo, wörld ✓",
      payload: new Uint8Array([0, 1, 2, 255]),
      day: days("2024-02-29"),
      ts: micros("2024-01-02T03:04:05.123Z", 456),
      amount: "12345678.91",
      big: "12345678901234567890123456789012.123456",
      ratio: "999.99",
      tags: ["a", "b", ""],
      attrs: { x: 1n, y: -9223372036854775808n },
      flags: { 1: true, "-7": false },
      loc: { lat: 52.52, lon: 13.405 },
      items: [{ sku: "A-1", qty: 2 }, { qty: 0 }],
      nested: { k: { v: [1, 3] }, e: { v: [] } }
    },
    {
      ...allTypesRecords[0]![1],
      items: [{ sku: "A-1", qty: 2 }, { sku: null, qty: 0 }],
      nested: [{ key: "k", value: { v: [1, 3] } }, { key: "e", value: { v: [] } }]
    }
  ],
  [
    { id: 9223372036854775807n },
    {
      ...Object.fromEntries(allTypes.fields.map((f) => [f.name, null])),
      id: "9223372036854775807",
      tags: [],
      attrs: [],
      flags: [],
      items: [],
      nested: []
    }
  ],
  [
    {
      id: -3n,
      b: 127,
      s: -32768,
      i: 2147483647,
      f: -0.25,
      d: 1e300,
      ok: false,
      name: "",
      payload: new Uint8Array(),
      day: -719162,
      ts: micros("1969-12-31T23:59:59.999Z", 999),
      amount: "-0.01",
      big: "-0.000001",
      ratio: "-0.5",
      tags: [],
      attrs: {},
      flags: {},
      loc: { lat: -90 },
      items: [],
      nested: {}
    },
    allTypesRecords[2]![1]
  ]
]

describe("Zerobus Local with Delta storage, through the client", () => {
  it.live("JSON and protobuf records of every type reach declared tables; DuckDB reads them back", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-client-delta-")
      const jsonTable = "main.e2e.all_json"
      const protoTable = "main.e2e.all_proto"
      const generated = yield* ProtoSchema.toProto(protoView, { messageName: "table_all_proto" })
      const descriptor = toBinary(DescriptorProtoSchema, generated.descriptor)
      const message = yield* ProtoSchema.resolveDescriptor(descriptor)

      const dirs = yield* withServer(
        // A long interval: what DuckDB reads was committed by flush and shutdown, not by the timer.
        { storage: { dataDir, flushInterval: "1 hour" }, tables: { [jsonTable]: allTypes, [protoTable]: allTypes } },
        Effect.gen(function*() {
          const local = yield* Local
          assert.deepStrictEqual(local.storage, { kind: "delta", dataDir, readsRecords: true })
          const json = yield* Zerobus.createStream(Table.json(jsonTable))
          const [first, ...rest] = allTypesRecords.map(([record]) => record)
          yield* json.ingest(first!)
          yield* json.ingestBatch(rest)
          yield* json.flush
          const proto = yield* Zerobus.createStream(Table.proto(protoTable, descriptor))
          for (const [record] of protoRecords) yield* proto.ingest(toBinary(message, create(message, record)))
          yield* proto.flush
          // Acknowledged rows are readable before they are committed (from the WAL's buffer).
          assert.strictEqual((yield* local.records(jsonTable)).length, 3)
          yield* local.flush
          assert.deepStrictEqual(yield* local.tables, [
            { table: jsonTable, records: 3 },
            { table: protoTable, records: 3 }
          ])
          assert.deepStrictEqual(yield* local.schema(jsonTable), Option.some(allTypes))
          return {
            json: Option.getOrThrow(yield* local.tableLocation(jsonTable)),
            proto: Option.getOrThrow(yield* local.tableLocation(protoTable))
          }
        })
      )
      assert.strictEqual(dirs.json, path.join(dataDir, "main", "e2e", "all_json"))

      const json = yield* readDelta(dirs.json, { orderBy: "id" })
      assert.deepStrictEqual(columnTypes(json.columns), allTypesDuckDb)
      assert.deepStrictEqual(json.rows, allTypesRecords.map(([, row]) => row).toSorted(byId))
      const proto = yield* readDelta(dirs.proto, { orderBy: "id" })
      assert.deepStrictEqual(columnTypes(proto.columns), allTypesDuckDb)
      assert.deepStrictEqual(proto.rows, protoRecords.map(([, row]) => row).toSorted(byId))
      assert.deepStrictEqual(yield* conformance(dirs.json), [])
      assert.deepStrictEqual(yield* conformance(dirs.proto), [])

      // The SQL printed for users reads the same rows.
      const viaSql = yield* withDuckDb(async (query) => {
        const statements = DeltaStorage.duckDbSql(dirs.json).split(";").map((s) => s.trim()).filter((s) => s !== "")
        let last: Array<Record<string, unknown>> = []
        for (const statement of statements) last = (await query(statement)).rows
        return last
      })
      assert.deepStrictEqual(viaSql.toSorted(byId), json.rows)
    }))

  it.live("a restart on the same data directory keeps every acknowledged record", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-client-restart-")
      const table = "main.e2e.events"
      const tables = { [table]: "id BIGINT NOT NULL, message STRING" }
      const ingest = (from: number) =>
        Effect.gen(function*() {
          const stream = yield* Zerobus.createStream(Table.json(table))
          yield* stream.ingestBatch(Array.from({ length: 50 }, (_, i) => ({ id: from + i, message: `m${from + i}` })))
          yield* stream.flush
        })
      yield* withServer({ storage: { dataDir, flushInterval: "1 hour" }, tables }, ingest(0))
      const after = yield* withServer(
        { storage: { dataDir, flushInterval: "1 hour" }, tables },
        Effect.gen(function*() {
          const local = yield* Local
          assert.strictEqual((yield* local.records(table)).length, 50, "the table survived the restart")
          yield* ingest(50)
          return yield* local.records(table)
        })
      )
      assert.deepStrictEqual(
        after.map((r) => r.value["id"]).toSorted((a, b) => Number(a) - Number(b)),
        Array.from({ length: 100 }, (_, i) => i)
      )
      assert.isUndefined(after[0]?.offset, "Delta tables keep no offsets")
      const read = yield* readDelta(path.join(dataDir, "main", "e2e", "events"), { select: "id", orderBy: "id" })
      assert.deepStrictEqual(read.rows.map((r) => Number(r["id"])), Array.from({ length: 100 }, (_, i) => i))
    }))

  it.live("protobuf streams create missing tables with autoCreateTables; JSON streams get NOT_FOUND", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-client-auto-")
      const schema = Delta.struct([Delta.field("device", Delta.string, false), Delta.field("reading", Delta.double)])
      const generated = yield* ProtoSchema.toProto(schema, { messageName: "table_readings" })
      const descriptor = toBinary(DescriptorProtoSchema, generated.descriptor)
      const message = yield* ProtoSchema.resolveDescriptor(descriptor)
      yield* withServer(
        { storage: { dataDir, autoCreateTables: true } },
        Effect.gen(function*() {
          const local = yield* Local
          assert.deepStrictEqual(yield* local.schema("main.auto.readings"), Option.none())
          const stream = yield* Zerobus.createStream(Table.proto("main.auto.readings", descriptor))
          yield* stream.ingest(toBinary(message, create(message, { device: "a", reading: 2.5 })))
          yield* stream.flush
          assert.deepStrictEqual(yield* local.schema("main.auto.readings"), Option.some(schema))
          const refused = yield* failure(Zerobus.createStream(Table.json("main.auto.json_events"), noRecovery))
          assert.strictEqual(refused.reason._tag, "NotFound")
          assert.include(refused.message, "main.auto.json_events does not exist")
        })
      )
      // Without the option a protobuf stream is refused too.
      yield* withServer(
        { storage: { dataDir } },
        Effect.gen(function*() {
          const refused = yield* failure(Zerobus.createStream(Table.proto("main.auto.other", descriptor), noRecovery))
          assert.strictEqual(refused.reason._tag, "NotFound")
          assert.include(refused.message, "--auto-create")
        })
      )
    }))
})

/** What the client sees for bad JSON records on a declared table, in one backend. */
const schemaErrors = (storage: ZerobusLocal.StorageOptions) =>
  withServer(
    { storage, tables: { "main.rules.people": "id BIGINT NOT NULL, age INT, tags ARRAY<STRING>" } },
    Effect.gen(function*() {
      const local = yield* Local
      const table = "main.rules.people"
      const messages: Array<string> = []
      for (const bad of [{ id: 2, nickname: "x" }, { id: 3, age: "old" }, { age: 4 }, { id: 5, tags: ["a", 1] }]) {
        const stream = yield* Zerobus.createStream(Table.json(table), noRecovery)
        yield* stream.ingest({ id: 1, age: 30 })
        const offset = yield* stream.ingest(bad)
        const error = yield* failure(stream.waitForOffset(offset))
        assert.strictEqual(error.reason._tag, "InvalidArgument", error.message)
        messages.push(error.reason.message)
      }
      const undeclared = yield* Effect.exit(Zerobus.createStream(Table.json("main.rules.nobody"), noRecovery))
      yield* local.flush
      const stored = (yield* local.records(table)).map((r) => r.value)
      return {
        messages,
        undeclared: Exit.isSuccess(undeclared)
          ? "created"
          : Exit.isFailure(undeclared) && undeclared.cause.reasons[0]?._tag === "Fail"
          ? undeclared.cause.reasons[0].error.reason._tag
          : "defect",
        stored,
        schema: yield* local.schema(table)
      }
    })
  )

describe("declared tables: the same rules in memory and on disk", () => {
  it.live("unknown column, wrong type, missing NOT NULL column: INVALID_ARGUMENT naming offset and column", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-client-rules-")
      const delta = yield* schemaErrors({ dataDir })
      assert.deepStrictEqual(delta.messages, [
        "offset 1: record 0, column 'nickname': unknown column (not in the table schema)",
        "offset 1: record 0, column 'age': expected an integer (integer), got the string \"old\"",
        "offset 1: record 0, column 'id': missing required field",
        "offset 1: record 0, column 'tags[1]': expected a string, got number 1"
      ])
      assert.strictEqual(delta.undeclared, "NotFound")
      assert.deepStrictEqual(delta.stored, Array.from({ length: 4 }, () => ({ id: 1, age: 30, tags: null })))
      const memory = yield* schemaErrors("memory")
      assert.deepStrictEqual(memory.messages, delta.messages)
      assert.deepStrictEqual(memory.stored, delta.stored)
      assert.deepStrictEqual(memory.schema, delta.schema)
      // Memory storage creates undeclared tables on first use.
      assert.strictEqual(memory.undeclared, "created")
    }))
})
