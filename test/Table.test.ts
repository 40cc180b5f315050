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
