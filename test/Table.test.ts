/**
 * Record encodings: typed JSON, ProtoSchema and protobuf-es messages, end to end through Zerobus
 * Local (which decodes every protobuf record with the descriptor the stream declared).
 */
import { create } from "@bufbuild/protobuf"
import { assert, layer } from "@effect/vitest"
import { Effect, Exit, Schema } from "effect"
import { JsonRecordBatchSchema } from "../src/internal/protocol.ts"
import { ZerobusLocal } from "../src/local/index.ts"
import * as ProtoSchema from "../src/ProtoSchema.ts"
import * as Table from "../src/Table.ts"
import * as Zerobus from "../src/Zerobus.ts"
import { testLayer } from "./support/client.ts"
import { uniqueTable } from "./support/local.ts"

const storedValues = (table: string) =>
  ZerobusLocal.ZerobusLocal.use((local) => local.records(table)).pipe(Effect.map((rs) => rs.map((r) => r.value)))

const Everything = Schema.Struct({
  id: ProtoSchema.int64,
  small: ProtoSchema.int32,
  unsigned: ProtoSchema.uint32,
  zigzag: ProtoSchema.sint64,
  ratio: ProtoSchema.float,
  amount: Schema.Number,
  name: Schema.String,
  ok: Schema.Boolean,
  payload: Schema.Uint8Array,
  at: Schema.Date,
  day: ProtoSchema.date,
  tags: Schema.Array(Schema.String),
  scores: Schema.Array(ProtoSchema.int32),
  address: Schema.Struct({ city: Schema.String, zip: Schema.optional(Schema.String) }),
  lines: Schema.Array(Schema.Struct({ sku: Schema.String, qty: ProtoSchema.int32 })),
  attributes: Schema.Record(Schema.String, Schema.String),
  note: Schema.optional(Schema.String),
  maybe: Schema.NullOr(Schema.Number)
})

layer(testLayer(), { excludeTestServices: true })("typed records through Zerobus Local", (it) => {
  it.effect("refuses bad names and descriptors with InvalidArgument", () =>
    Effect.gen(function*() {
      for (const name of ["a.b", "a.b.c.d", ".b.c", "a..c", ""]) {
        const exit = yield* Effect.exit(Table.validate(Table.json(name)))
        assert.isTrue(Exit.isFailure(exit), name)
      }
      const garbage = yield* Effect.exit(Table.validate(Table.proto("a.b.c", new Uint8Array([0xff, 0xff, 0xff]))))
      assert.isTrue(Exit.isFailure(garbage))
      const unnamed = yield* Effect.exit(Table.validate(Table.proto("a.b.c", new Uint8Array(0))))
      assert.isTrue(Exit.isFailure(unnamed))
      const ok = yield* Table.validate(Table.json("a.b.c"))
      assert.strictEqual(ok.descriptorProto, undefined)
    }))

  it.effect("ProtoSchema records of every mapped type are decoded by the server as sent", () =>
    Effect.gen(function*() {
      const codec = yield* ProtoSchema.make(Everything, { messageName: "table_everything" })
      const table = uniqueTable("typed")
      const stream = yield* Zerobus.createStream(Table.protoSchema(table, codec))
      const at = new Date("2026-03-04T05:06:07.089Z")
      yield* stream.ingest({
        id: -9007199254740993n,
        small: -5,
        unsigned: 4_000_000_000,
        zigzag: -3n,
        ratio: 0.5,
        amount: 12.25,
        name: "Zoë \u{1F600}",
        ok: true,
        payload: new Uint8Array([0, 1, 255]),
        at,
        day: new Date("2026-03-04T00:00:00.000Z"),
        tags: ["a", ""],
        scores: [1, -1],
        address: { city: "Oslo" },
        lines: [{ sku: "x", qty: 2 }],
        attributes: { k: "v" },
        maybe: null
      })
      yield* stream.ingestBatch([
        {
          id: 0n,
          small: 0,
          unsigned: 0,
          zigzag: 0n,
          ratio: 0,
          amount: 0,
          name: "",
          ok: false,
          payload: new Uint8Array(0),
          at: new Date(0),
          day: new Date(0),
          tags: [],
          scores: [],
          address: { city: "", zip: "0" },
          lines: [],
          attributes: {},
          note: "n",
          maybe: 1.5
        }
      ])
      yield* stream.flush
      const [first, second] = yield* storedValues(table)
      assert.deepStrictEqual(first, {
        id: "-9007199254740993",
        small: -5,
        unsigned: 4000000000,
        zigzag: "-3",
        ratio: 0.5,
        amount: 12.25,
        name: "Zoë \u{1F600}",
        ok: true,
        payload: "AAH/",
        at: String(at.getTime() * 1000),
        day: Math.floor(Date.UTC(2026, 2, 4) / 86_400_000),
        tags: ["a", ""],
        scores: [1, -1],
        address: { city: "Oslo" },
        lines: [{ sku: "x", qty: 2 }],
        attributes: { k: "v" }
      })
      assert.strictEqual(second?.note, "n")
      assert.strictEqual(second?.maybe, 1.5)
      assert.deepStrictEqual(second?.address, { city: "", zip: "0" })
    }).pipe(Effect.scoped))

  it.effect("a value the Schema refuses fails ingest before anything is sent", () =>
    Effect.gen(function*() {
      const codec = yield* ProtoSchema.make(Schema.Struct({ id: ProtoSchema.int64, qty: ProtoSchema.int32 }))
      const table = uniqueTable("typed")
      const stream = yield* Zerobus.createStream(Table.protoSchema(table, codec))
      const bad = yield* Effect.exit(stream.ingest({ id: 1n, qty: 1.5 }))
      assert.isTrue(Exit.isFailure(bad))
      const outOfRange = yield* Effect.exit(stream.ingest({ id: 2n ** 64n, qty: 1 }))
      assert.isTrue(Exit.isFailure(outOfRange))
      const badBatch = yield* Effect.exit(stream.ingestBatch([{ id: 1n, qty: 1 }, { id: 2n, qty: 0.1 }]))
      assert.isTrue(Exit.isFailure(badBatch))
      yield* stream.ingest({ id: 3n, qty: 3 })
      yield* stream.flush
      assert.deepStrictEqual(yield* storedValues(table), [{ id: "3", qty: 3 }])
    }).pipe(Effect.scoped))

  it.effect("protobuf-es generated messages are encoded with their own schema", () =>
    Effect.gen(function*() {
      const table = uniqueTable("typed")
      const stream = yield* Zerobus.createStream(Table.protoMessage(table, JsonRecordBatchSchema))
      yield* stream.ingest(create(JsonRecordBatchSchema, { records: ["{}", "{\"a\":1}"] }))
      yield* stream.flush
      assert.deepStrictEqual(yield* storedValues(table), [{ records: ["{}", "{\"a\":1}"] }])
    }).pipe(Effect.scoped))
})

const described = "main.uc.readings"
const decimalTable = "main.uc.money"

layer(
  testLayer({
    tables: {
      [described]:
        "id BIGINT NOT NULL, small INT, tiny TINYINT, ratio FLOAT, amount DOUBLE, name STRING, ok BOOLEAN, " +
        "payload BINARY, at TIMESTAMP, day DATE, tags ARRAY<STRING>, " +
        "address STRUCT<city: STRING, zip: STRING>, lines ARRAY<STRUCT<sku: STRING, qty: INT>>, " +
        "attributes MAP<STRING, BIGINT>",
      [decimalTable]: "id BIGINT NOT NULL, price DECIMAL(10,2)"
    }
  }),
  { excludeTestServices: true }
)("tables described by Unity Catalog", (it) => {
  it.effect("plain objects of every type are encoded with the generator's descriptor", () =>
    Effect.gen(function*() {
      const stream = yield* Zerobus.createStream(Table.unityCatalog(described))
      assert.strictEqual(stream.table.recordType, "proto")
      yield* stream.ingest({
        id: 9007199254740993n,
        small: -7,
        tiny: 12,
        ratio: 0.25,
        amount: 10.5,
        name: "Zoë",
        ok: true,
        payload: new Uint8Array([1, 2, 3]),
        at: new Date("2026-03-04T05:06:07.089Z"),
        day: "2026-03-04",
        tags: ["a", "b"],
        address: { city: "Oslo", zip: null },
        lines: [{ sku: "x", qty: 2 }],
        attributes: { clicks: 3 }
      })
      yield* stream.ingestBatch([{ id: 2 }, { id: "3", at: "2026-01-01T00:00:00Z", payload: "AQID" }])
      yield* stream.flush
      const values = yield* storedValues(described)
      assert.deepStrictEqual(values[0], {
        id: "9007199254740993",
        small: -7,
        tiny: 12,
        ratio: 0.25,
        amount: 10.5,
        name: "Zoë",
        ok: true,
        payload: "AQID",
        at: "2026-03-04T05:06:07.089000Z",
        day: "2026-03-04",
        tags: ["a", "b"],
        address: { city: "Oslo", zip: null },
        lines: [{ sku: "x", qty: 2 }],
        attributes: { clicks: 3 },
        ...nullColumns(values[0])
      })
      assert.strictEqual(values.length, 3)
      assert.strictEqual(values[2]?.id, 3) // safe integers are numbers in the stored form
      assert.strictEqual(values[2]?.at, "2026-01-01T00:00:00.000000Z")
    }).pipe(Effect.scoped))

  it.effect("refuses bad records before sending, naming the column", () =>
    Effect.gen(function*() {
      const stream = yield* Zerobus.createStream(Table.unityCatalog(described))
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
        [{ small: 1 }, "id"],
        [{ id: 1, unknown_column: 1 }, "unknown_column"],
        [{ id: 1, small: "many" }, "small"],
        [{ id: 1, tags: ["a", null] }, "tags"],
        [{ id: 1, address: { city: 5 } }, "city"]
      ]
      for (const [record, column] of cases) {
        const exit = yield* Effect.exit(stream.ingest(record))
        assert.isTrue(Exit.isFailure(exit), JSON.stringify(record))
        if (Exit.isFailure(exit)) assert.include(String(exit.cause.reasons[0]), column)
      }
      yield* stream.ingest({ id: 1 })
      yield* stream.flush
      assert.deepStrictEqual((yield* storedValues(described)).filter((v) => v.id === 1).length, 1)
    }).pipe(Effect.scoped))

  it.effect("an unknown table is NotFound; a column protobuf cannot carry is InvalidArgument", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(Zerobus.createStream(Table.unityCatalog("main.uc.nothing")))
      assert.strictEqual(missing.reason._tag, "NotFound")
      const decimal = yield* Effect.flip(Zerobus.createStream(Table.unityCatalog(decimalTable)))
      assert.strictEqual(decimal.reason._tag, "InvalidArgument")
      assert.include(decimal.message, "price")
    }).pipe(Effect.scoped))
})

/** The stored row form lists every column; the ones the first record left out are null. */
const nullColumns = (row: { readonly [key: string]: unknown } | undefined) =>
  Object.fromEntries(Object.entries(row ?? {}).filter(([, v]) => v === null))
