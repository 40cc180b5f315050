/**
 * The client against Zerobus Local: the official suites' lifecycle, record type, standard
 * operation, concurrency, failure (without recovery) and offset API scenarios.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Exit, Fiber, Option, Schema, Stream } from "effect"
import { Faults, ZerobusLocal } from "../src/local/index.ts"
import * as Table from "../src/Table.ts"
import * as Zerobus from "../src/Zerobus.ts"
import { failure, testLayer } from "./support/client.ts"
import { uniqueTable } from "./support/local.ts"
import { encodeOrder, ordersDescriptor } from "./support/proto.ts"

const Local = ZerobusLocal.ZerobusLocal

/** Server-side view of a table: records received and stored, and its streams. */
const serverView = (table: string) =>
  Effect.gen(function*() {
    const local = yield* Local
    const stats = yield* local.stats
    const streams = stats.streams.filter((s) => s.table === table)
    return {
      records: stats.tables[table]?.recordsReceived ?? 0,
      stored: (yield* local.records(table)).length,
      streams: streams.length,
      maxOffset: streams.length === 0 ? -1 : Math.max(...streams.map((s) => s.maxOffset))
    }
  })

const inject = (table: string, ...steps: ReadonlyArray<Faults.FaultStepInput>) =>
  Local.use((local) => local.inject(table, steps))

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const result = yield* Effect.exit(effect)
    return { result, ms: Date.now() - start }
  })

const noRecovery = { recovery: false, coalesce: false } as const

layer(testLayer(), { excludeTestServices: true })("Zerobus client", (it) => {
  describe("lifecycle", () => {
    it.effect("creates a stream and reports its state and id", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        const stream = yield* Zerobus.createStream(Table.json(table))
        assert.strictEqual(yield* stream.state, "open")
        assert.match(yield* stream.streamId, /^[0-9a-f-]{36}$/)
        assert.strictEqual((yield* serverView(table)).streams, 1)
      }).pipe(Effect.scoped))

    it.effect("times out a slow creation without recovery", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        yield* inject(table, Faults.delayCreate("300 millis"))
        const { result, ms } = yield* elapsed(
          Zerobus.createStream(Table.json(table), { recovery: false, recoveryTimeout: 100 })
        )
        assert.isTrue(Exit.isFailure(result))
        const error = yield* failure(Zerobus.createStream(Table.json(uniqueTable("x")), { recoveryTimeout: 0 }))
        assert.strictEqual(error.reason._tag, "Timeout")
        assert.isBelow(ms, 290)
      }).pipe(Effect.scoped))

    it.effect("does not retry a non-retryable creation error (one credential refresh only)", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        yield* inject(table, Faults.failCreate("UNAUTHENTICATED", "token revoked", 5))
        const error = yield* failure(Zerobus.createStream(Table.json(table), { recoveryBackoff: 10 }))
        assert.strictEqual(error.reason._tag, "Unauthenticated")
        assert.include(error.message, "token revoked")
        assert.isFalse(error.isRetryable)
        const local = yield* Local
        assert.strictEqual((yield* local.pendingFaults)[table]?.[0]?.times, 3)
      }).pipe(Effect.scoped))

    it.effect("fails at once on a retryable creation error when recovery is off", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        yield* inject(table, Faults.failCreate("UNAVAILABLE", "down"))
        const { result, ms } = yield* elapsed(Zerobus.createStream(Table.json(table), { recovery: false }))
        assert.isTrue(Exit.isFailure(result))
        assert.isBelow(ms, 300)
      }).pipe(Effect.scoped))

    it.effect("close waits for outstanding acks (graceful close)", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        yield* inject(table, Faults.delayAcks("100 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table))
        yield* stream.ingest({ id: 1 })
        const { ms } = yield* elapsed(stream.close)
        assert.isAtLeast(ms, 80)
        assert.strictEqual(yield* stream.state, "closed")
        const view = yield* serverView(table)
        assert.strictEqual(view.stored, 1)
        assert.strictEqual(view.maxOffset, 0)
      }).pipe(Effect.scoped))

    it.effect("close is idempotent; later ingest, batch and flush fail with StreamClosed", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("life")))
        yield* stream.ingest({ id: 1 })
        yield* stream.close
        yield* stream.close
        assert.strictEqual((yield* failure(stream.ingest({ id: 2 }))).reason._tag, "StreamClosed")
        assert.strictEqual((yield* failure(stream.ingestBatch([{ id: 3 }]))).reason._tag, "StreamClosed")
        assert.strictEqual((yield* failure(stream.flush)).reason._tag, "StreamClosed")
        assert.deepStrictEqual(yield* stream.unackedRecords, [])
      }).pipe(Effect.scoped))

    it.effect("concurrent closes and a close with records in flight finish promptly", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        const stream = yield* Zerobus.createStream(Table.json(table))
        for (let i = 0; i < 500; i++) yield* stream.ingest({ id: i })
        const { result, ms } = yield* elapsed(Effect.all([stream.close, stream.close, stream.close], {
          concurrency: "unbounded"
        }))
        assert.isTrue(Exit.isSuccess(result))
        assert.isBelow(ms, 3000)
        assert.strictEqual((yield* serverView(table)).stored, 500)
      }).pipe(Effect.scoped))

    it.effect("closing the scope flushes and closes the stream", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        yield* inject(table, Faults.delayAcks("50 millis"))
        const stream = yield* Effect.scoped(Effect.gen(function*() {
          const s = yield* Zerobus.createStream(Table.json(table))
          yield* s.ingestBatch([{ id: 1 }, { id: 2 }])
          return s
        }))
        assert.strictEqual(yield* stream.state, "closed")
        assert.strictEqual((yield* serverView(table)).stored, 2)
      }))
  })

  describe("record types", () => {
    it.effect("ingests a JSON record and a JSON batch", () =>
      Effect.gen(function*() {
        const table = uniqueTable("json")
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false })
        assert.strictEqual(yield* stream.ingest("{\"id\":1}"), 0)
        assert.deepStrictEqual(yield* stream.ingestBatch([{ id: 2 }, { id: 3 }, "{\"id\":4}"]), Option.some(1))
        yield* stream.flush
        const local = yield* Local
        assert.deepStrictEqual((yield* local.records(table)).map((r) => r.value), [
          { id: 1 },
          { id: 2 },
          { id: 3 },
          { id: 4 }
        ])
        assert.strictEqual((yield* serverView(table)).maxOffset, 1)
      }).pipe(Effect.scoped))

    it.effect("ingests proto records and batches (untyped properties, default record type)", () =>
      Effect.gen(function*() {
        const table = uniqueTable("proto")
        const stream = yield* Zerobus.createStream({ tableName: table, descriptorProto: ordersDescriptor })
        yield* stream.ingest(encodeOrder({ id: 1n, name: "a" }))
        yield* stream.ingestBatch([encodeOrder({ id: 2n }), encodeOrder({ id: 3n, lat: 1.5, lon: 2 })])
        yield* stream.flush
        const local = yield* Local
        const values = (yield* local.records(table)).map((r) => r.value)
        assert.strictEqual(values.length, 3)
        assert.deepStrictEqual(values[0], { id: "1", name: "a" })
        assert.deepStrictEqual(values[2], { id: "3", loc: { lat: 1.5, lon: 2 } })
      }).pipe(Effect.scoped))

    it.effect("refuses JSON on a proto stream and proto on a JSON stream before sending", () =>
      Effect.gen(function*() {
        const protoTable = uniqueTable("kind")
        const proto = yield* Zerobus.createStream({ tableName: protoTable, descriptorProto: ordersDescriptor })
        const e1 = yield* failure(proto.ingest("{\"id\":1}"))
        assert.strictEqual(e1.reason._tag, "InvalidArgument")
        assert.include(e1.message, "Record type does not match")
        assert.strictEqual(
          (yield* failure(proto.ingestBatch([encodeOrder({ id: 1n }), { id: 2 }]))).reason._tag,
          "InvalidArgument"
        )
        const jsonTable = uniqueTable("kind")
        const json = yield* Zerobus.createStream(jsonTable, { recordType: "json" })
        assert.strictEqual((yield* failure(json.ingest(encodeOrder({ id: 1n })))).reason._tag, "InvalidArgument")
        assert.strictEqual(
          (yield* failure(json.ingestBatch([{ id: 1 }, new Uint8Array(1)]))).reason._tag,
          "InvalidArgument"
        )
        assert.strictEqual((yield* failure(json.ingest(JSON.parse("[1, 2]")))).reason._tag, "InvalidArgument")
        // Nothing reached the server, and both streams still work.
        yield* proto.ingest(encodeOrder({ id: 9n }))
        yield* json.ingest({ id: 9 })
        yield* Effect.all([proto.flush, json.flush])
        assert.strictEqual((yield* serverView(protoTable)).records, 1)
        assert.strictEqual((yield* serverView(jsonTable)).records, 1)
      }).pipe(Effect.scoped))

    it.effect("a proto stream without a descriptor fails; a JSON stream ignores one", () =>
      Effect.gen(function*() {
        const error = yield* failure(Zerobus.createStream(uniqueTable("kind")))
        assert.strictEqual(error.reason._tag, "InvalidArgument")
        assert.include(error.message, "Proto descriptor is required")
        const json = yield* Zerobus.createStream(
          { tableName: uniqueTable("kind"), descriptorProto: ordersDescriptor },
          {
            recordType: "json"
          }
        )
        yield* json.ingest({ id: 1 })
        yield* json.flush
      }).pipe(Effect.scoped))

    it.effect("typed JSON tables encode with the Schema and refuse invalid values", () =>
      Effect.gen(function*() {
        const Event = Schema.Struct({ id: Schema.Number, at: Schema.Date, tags: Schema.Array(Schema.String) })
        const table = uniqueTable("typed")
        const stream = yield* Zerobus.createStream(Table.json(table, Event))
        yield* stream.ingest({ id: 1, at: new Date("2026-01-02T03:04:05.000Z"), tags: ["a"] })
        const invalid = yield* failure(stream.ingest({ id: 2, at: new Date("invalid"), tags: [] }))
        assert.strictEqual(invalid.reason._tag, "InvalidArgument")
        yield* stream.flush
        const local = yield* Local
        assert.deepStrictEqual((yield* local.records(table)).map((r) => r.value), [
          { id: 1, at: "2026-01-02T03:04:05.000Z", tags: ["a"] }
        ])
      }).pipe(Effect.scoped))

    it.effect("refuses records that cannot be serialized or exceed the request limit", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("bad")))
        const cyclic: Record<string, unknown> = {}
        cyclic.self = cyclic
        assert.include((yield* failure(stream.ingest(cyclic))).message, "could not be serialized")
        assert.include((yield* failure(stream.ingest({ n: 1n }))).message, "could not be serialized")
        const big = `{"s":"${"x".repeat(11 * 1024 * 1024)}"}`
        assert.include((yield* failure(stream.ingest(big))).message, "exceeds the request limit")
        const half = `{"s":"${"x".repeat(6 * 1024 * 1024)}"}`
        assert.include((yield* failure(stream.ingestBatch([half, half]))).message, "exceeds the request limit")
        assert.strictEqual(yield* stream.ingest({ ok: true }), 0)
        yield* stream.flush
      }).pipe(Effect.scoped))
  })

  describe("standard operation", () => {
    it.effect("acknowledges a single record", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("std")))
        assert.strictEqual(yield* stream.ingestAndWait({ id: 1 }), 0)
      }).pipe(Effect.scoped))

    it.effect("resolves 100 records with offsets 0..99", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        const stream = yield* Zerobus.createStream(Table.json(table))
        const offsets = yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) => stream.ingest({ id: i }))
        assert.deepStrictEqual(offsets, Array.from({ length: 100 }, (_, i) => i))
        yield* Effect.forEach(offsets, (o) => stream.waitForOffset(o))
        assert.strictEqual((yield* serverView(table)).stored, 100)
      }).pipe(Effect.scoped))

    it.effect("a batch is one request; empty batches send nothing", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false })
        assert.deepStrictEqual(yield* stream.ingestBatch([]), Option.none())
        assert.deepStrictEqual(yield* stream.ingestBatch([{ a: 1 }, { a: 2 }, { a: 3 }]), Option.some(0))
        assert.deepStrictEqual(yield* stream.ingestBatch([]), Option.none())
        const large = Array.from({ length: 100 }, (_, i) => ({ i }))
        assert.deepStrictEqual(yield* stream.ingestBatch(large), Option.some(1))
        yield* stream.flush
        const view = yield* serverView(table)
        assert.strictEqual(view.records, 103)
        assert.strictEqual(view.maxOffset, 1)
      }).pipe(Effect.scoped))

    it.effect("mixes batches and single records in one offset sequence", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false })
        assert.strictEqual(yield* stream.ingest({ a: 0 }), 0)
        assert.deepStrictEqual(yield* stream.ingestBatch([{ a: 1 }, { a: 2 }]), Option.some(1))
        assert.strictEqual(yield* stream.ingest({ a: 3 }), 2)
        yield* stream.flush
        const view = yield* serverView(table)
        assert.strictEqual(view.records, 4)
        assert.strictEqual(view.maxOffset, 2)
      }).pipe(Effect.scoped))

    it.effect("coalesces queued calls into fewer messages, keeping per-call offsets", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: { maxRecords: 100 } })
        const offsets = yield* Effect.forEach(Array.from({ length: 1000 }, (_, i) => i), (i) => stream.ingest({ i }))
        assert.strictEqual(offsets[999], 999)
        yield* stream.flush
        const view = yield* serverView(table)
        assert.strictEqual(view.records, 1000)
        assert.isAtMost(view.maxOffset, 99)
        assert.isAtLeast(view.maxOffset, 9)
        const local = yield* Local
        assert.deepStrictEqual((yield* local.records(table)).map((r) => r.value.i), offsets)
      }).pipe(Effect.scoped))

    it.effect("a batch over the coalescing limits travels alone and whole", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: { maxRecords: 10 } })
        assert.strictEqual(yield* stream.ingest({ i: 0 }), 0)
        const batch = Array.from({ length: 50 }, (_, i) => ({ i: i + 1 }))
        assert.deepStrictEqual(yield* stream.ingestBatch(batch), Option.some(1))
        assert.strictEqual(yield* stream.ingest({ i: 51 }), 2)
        yield* stream.flush
        const view = yield* serverView(table)
        assert.strictEqual(view.records, 52)
        // Three messages: the record, the batch (never split), the record.
        assert.strictEqual(view.maxOffset, 2)
        const local = yield* Local
        assert.deepStrictEqual(
          (yield* local.records(table)).map((r) => r.value.i),
          Array.from({ length: 52 }, (_, i) => i)
        )
      }).pipe(Effect.scoped))

    it.effect("the server's INVALID_ARGUMENT reaches the caller with its message", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        yield* inject(table, Faults.failStream(0, "INVALID_ARGUMENT", "Batch size exceeds maximum allowed size"))
        const stream = yield* Zerobus.createStream(Table.json(table))
        const offset = yield* stream.ingestBatch([{ a: 1 }, { a: 2 }])
        const error = yield* failure(stream.waitForOffset(Option.getOrThrow(offset)))
        assert.strictEqual(error.reason._tag, "InvalidArgument")
        assert.include(error.message, "Batch size exceeds maximum allowed size")
      }).pipe(Effect.scoped))

    it.effect("flush waits for delayed acks; an empty flush returns at once", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        const empty = yield* Zerobus.createStream(Table.json(uniqueTable("std")))
        const { ms: emptyMs } = yield* elapsed(empty.flush)
        assert.isBelow(emptyMs, 100)
        yield* inject(table, Faults.delayAcks("200 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table))
        for (let i = 0; i < 5; i++) yield* stream.ingest({ i })
        const { result, ms } = yield* elapsed(stream.flush)
        assert.isTrue(Exit.isSuccess(result))
        assert.isAtLeast(ms, 150)
      }).pipe(Effect.scoped))

    it.effect("flush times out after flushTimeout; the stream stays open", () =>
      Effect.gen(function*() {
        const table = uniqueTable("std")
        yield* inject(table, Faults.delayAcks("300 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), { flushTimeout: 100 })
        yield* stream.ingest({ i: 1 })
        const error = yield* failure(stream.flush)
        assert.strictEqual(error.reason._tag, "Timeout")
        assert.include(error.message, "Flush timed out")
        assert.isTrue(error.isRetryable)
        assert.strictEqual(error.grpcCode, 4)
        // Retryable, but not a stream failure: the stream is open and keeps its records.
        assert.strictEqual(yield* stream.state, "open")
        assert.strictEqual((yield* failure(stream.unackedRecords)).reason._tag, "InvalidState")
        yield* Effect.sleep("300 millis")
        yield* stream.flush
      }).pipe(Effect.scoped))
  })

  describe("concurrency", () => {
    it.effect("concurrent ingest from many fibers gets unique, complete offsets", () =>
      Effect.gen(function*() {
        const table = uniqueTable("conc")
        const stream = yield* Zerobus.createStream(Table.json(table))
        const offsets = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, f) => f),
          (f) => Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) => stream.ingest({ f, i })),
          { concurrency: "unbounded" }
        )
        const all = offsets.flat().toSorted((a, b) => a - b)
        assert.deepStrictEqual(all, Array.from({ length: 1000 }, (_, i) => i))
        yield* stream.flush
        assert.strictEqual((yield* serverView(table)).stored, 1000)
      }).pipe(Effect.scoped))

    it.effect("ingest waits while the in-flight window is full (a batch counts as one)", () =>
      Effect.gen(function*() {
        const table = uniqueTable("conc")
        yield* inject(table, Faults.delayAcks("300 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), { maxInflightRequests: 3 })
        yield* stream.ingest({ i: 0 })
        yield* stream.ingestBatch([{ i: 1 }, { i: 2 }, { i: 3 }])
        yield* stream.ingest({ i: 4 })
        const { result, ms } = yield* elapsed(stream.ingestBatch([{ i: 5 }, { i: 6 }]))
        assert.deepStrictEqual(result, Exit.succeed(Option.some(3)))
        assert.isAtLeast(ms, 200)
        yield* stream.flush
      }).pipe(Effect.scoped))

    it.effect("flush covers only what was queued before it", () =>
      Effect.gen(function*() {
        const table = uniqueTable("conc")
        yield* inject(table, Faults.delayAcks("150 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false })
        for (let i = 0; i < 5; i++) yield* stream.ingest({ i })
        const flushing = yield* Effect.forkChild(stream.flush)
        yield* Effect.sleep("20 millis")
        for (let i = 5; i < 10; i++) yield* stream.ingest({ i })
        yield* Fiber.join(flushing)
        assert.strictEqual(yield* stream.state, "open")
        yield* stream.flush
        assert.strictEqual((yield* serverView(table)).stored, 10)
      }).pipe(Effect.scoped))

    it.effect("concurrent batches from several fibers", () =>
      Effect.gen(function*() {
        const table = uniqueTable("conc")
        const stream = yield* Zerobus.createStream(Table.json(table))
        const offsets = yield* Effect.forEach(
          Array.from({ length: 10 }, (_, f) => f),
          (f) => stream.ingestBatch(Array.from({ length: 10 }, (_, i) => ({ f, i }))),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          offsets.map(Option.getOrThrow).toSorted((a, b) => a - b),
          Array.from({ length: 10 }, (_, i) => i)
        )
        yield* stream.flush
        assert.strictEqual((yield* serverView(table)).stored, 100)
      }).pipe(Effect.scoped))
  })

  describe("failure without recovery", () => {
    it.effect("a server error fails the stream: earlier acks hold, pending ones fail, later calls are closed", () =>
      Effect.gen(function*() {
        const table = uniqueTable("fail")
        yield* inject(table, Faults.failStream(1, "INTERNAL", "boom"))
        const stream = yield* Zerobus.createStream(Table.json(table), noRecovery)
        const first = yield* stream.ingest({ i: 0 })
        yield* stream.waitForOffset(first)
        const second = yield* stream.ingest({ i: 1 })
        const error = yield* failure(stream.waitForOffset(second))
        assert.strictEqual(error.reason._tag, "ServerError")
        assert.include(error.message, "boom")
        assert.strictEqual(yield* stream.state, "failed")
        const closed = yield* failure(stream.ingest({ i: 2 }))
        assert.strictEqual(closed.reason._tag, "StreamClosed")
        assert.include(closed.message, "boom")
      }).pipe(Effect.scoped))

    it.effect("a silent server fails the stream after serverLackOfAckTimeout", () =>
      Effect.gen(function*() {
        const table = uniqueTable("fail")
        yield* inject(table, Faults.withholdAcks())
        const stream = yield* Zerobus.createStream(Table.json(table), { ...noRecovery, serverLackOfAckTimeout: 200 })
        const offset = yield* stream.ingest({ i: 0 })
        const { result, ms } = yield* elapsed(stream.waitForOffset(offset))
        assert.isTrue(Exit.isFailure(result))
        const error = yield* failure(stream.flush)
        assert.strictEqual(error.reason._tag, "Timeout")
        assert.include(error.message, "Server ack timeout")
        assert.isAtLeast(ms, 150)
        assert.isBelow(ms, 2000)
      }).pipe(Effect.scoped))

    it.effect("an idle stream never times out", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("fail")), { serverLackOfAckTimeout: 50 })
        yield* Effect.sleep("200 millis")
        assert.strictEqual(yield* stream.state, "open")
        yield* stream.ingestAndWait({ ok: 1 })
      }).pipe(Effect.scoped))

    it.effect("unackedRecords returns exactly the unacknowledged records, in order", () =>
      Effect.gen(function*() {
        const table = uniqueTable("fail")
        yield* inject(table, Faults.failStream(5, "INTERNAL", "stop"))
        const stream = yield* Zerobus.createStream(Table.json(table), noRecovery)
        const unackedWhileOpen = yield* failure(stream.unackedRecords)
        assert.strictEqual(unackedWhileOpen.reason._tag, "InvalidState")
        for (let i = 0; i < 10; i++) yield* stream.ingest(`{"i":${i}}`)
        yield* Effect.exit(stream.flush)
        assert.deepStrictEqual(yield* stream.unackedRecords, [5, 6, 7, 8, 9].map((i) => `{"i":${i}}`))
      }).pipe(Effect.scoped))

    it.effect("unackedRecords flattens batches; unackedBatches keeps them", () =>
      Effect.gen(function*() {
        const table = uniqueTable("fail")
        yield* inject(table, Faults.failStream(2, "INTERNAL", "stop"))
        const stream = yield* Zerobus.createStream(Table.json(table), noRecovery)
        for (let i = 0; i < 3; i++) yield* stream.ingest(`{"s":${i}}`)
        yield* stream.ingestBatch([0, 1, 2, 3, 4].map((i) => `{"b":${i}}`))
        yield* Effect.exit(stream.flush)
        const records = yield* stream.unackedRecords
        assert.deepStrictEqual(records, ["{\"s\":2}", ...[0, 1, 2, 3, 4].map((i) => `{"b":${i}}`)])
        const batches = yield* stream.unackedBatches
        assert.deepStrictEqual(batches.map((b) => b.length), [1, 5])
        assert.deepStrictEqual(yield* stream.unackedRecords, records)
      }).pipe(Effect.scoped))

    it.effect("every pending ack fails with a non-retryable mid-stream error; close reports it", () =>
      Effect.gen(function*() {
        const table = uniqueTable("fail")
        yield* inject(table, Faults.failStream(0, "PERMISSION_DENIED", "no MODIFY"))
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false })
        const offsets = yield* Effect.forEach([0, 1, 2], (i) => stream.ingest({ i }))
        const errors = yield* Effect.forEach(offsets, (o) => failure(stream.waitForOffset(o)))
        for (const error of errors) {
          assert.strictEqual(error.reason._tag, "PermissionDenied")
          assert.include(error.message, "no MODIFY")
        }
        const closed = yield* failure(stream.close)
        assert.strictEqual(closed.reason._tag, "PermissionDenied")
        assert.strictEqual((yield* failure(stream.close)).reason._tag, "PermissionDenied")
        assert.strictEqual((yield* failure(stream.ingest({ i: 3 }))).reason._tag, "StreamClosed")
        assert.strictEqual((yield* stream.unackedRecords).length, 3)
      }).pipe(Effect.scoped))

    it.effect("protocol violations fail the stream (empty ack, unexpected message)", () =>
      Effect.gen(function*() {
        for (
          const step of [{ _tag: "SendEmptyAck", afterRequests: 1 }, {
            _tag: "SendUnexpected",
            afterRequests: 1
          }] as const
        ) {
          const table = uniqueTable("fail")
          yield* inject(table, step)
          const stream = yield* Zerobus.createStream(Table.json(table), noRecovery)
          yield* stream.ingest({ i: 0 })
          const error = yield* failure(stream.flush.pipe(Effect.andThen(stream.ingestAndWait({ i: 1 }))))
          assert.strictEqual(error.reason._tag, "UnexpectedResponse")
          assert.isTrue(error.isRetryable)
        }
      }).pipe(Effect.scoped))

    it.effect("a clean end of the call by the server fails a stream without recovery", () =>
      Effect.gen(function*() {
        const table = uniqueTable("fail")
        yield* inject(table, Faults.endStream(1))
        const stream = yield* Zerobus.createStream(Table.json(table), noRecovery)
        yield* stream.ingestAndWait({ i: 0 })
        const error = yield* failure(stream.ingestAndWait({ i: 1 }))
        assert.strictEqual(error.reason._tag, "ServerError")
        assert.isTrue(error.isRetryable)
      }).pipe(Effect.scoped))
  })

  describe("offsets", () => {
    it.effect("single, batch and mixed calls share one sequence", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("off")))
        const offsets: Array<number> = []
        for (let i = 0; i < 10; i++) offsets.push(yield* stream.ingest({ i }))
        assert.deepStrictEqual(offsets, Array.from({ length: 10 }, (_, i) => i))
        assert.deepStrictEqual(yield* stream.ingestBatch([{ a: 1 }, { a: 2 }]), Option.some(10))
        assert.deepStrictEqual(yield* stream.ingestBatch([]), Option.none())
        assert.strictEqual(yield* stream.ingestAndWait({ b: 1 }), 11)
        yield* stream.waitForOffset(10)
      }).pipe(Effect.scoped))

    it.effect("waitForOffset refuses offsets not assigned yet", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("off")))
        assert.strictEqual((yield* failure(stream.waitForOffset(0))).reason._tag, "InvalidArgument")
        yield* stream.ingest({ i: 0 })
        assert.strictEqual((yield* failure(stream.waitForOffset(1))).reason._tag, "InvalidArgument")
        assert.strictEqual((yield* failure(stream.waitForOffset(-1))).reason._tag, "InvalidArgument")
        yield* stream.waitForOffset(0)
      }).pipe(Effect.scoped))

    it.effect("a server error reaches waitForOffset promptly, not after the flush timeout", () =>
      Effect.gen(function*() {
        const table = uniqueTable("off")
        yield* inject(table, Faults.delayAcks("200 millis"), Faults.failStream(1, "INTERNAL", "late failure"))
        const stream = yield* Zerobus.createStream(Table.json(table), { ...noRecovery, flushTimeout: 10_000 })
        yield* stream.ingest({ i: 0 })
        const offset = yield* stream.ingest({ i: 1 })
        const { result, ms } = yield* elapsed(stream.waitForOffset(offset))
        assert.isTrue(Exit.isFailure(result))
        assert.isBelow(ms, 1000)
      }).pipe(Effect.scoped))
  })

  describe("acks and the sink", () => {
    it.effect("acks streams every acknowledged offset in order and ends on close", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("acks")))
        const collected = yield* Stream.runCollect(stream.acks).pipe(Effect.forkChild)
        yield* Effect.yieldNow
        for (let i = 0; i < 20; i++) yield* stream.ingest({ i })
        yield* stream.ingestBatch([{ a: 1 }, { a: 2 }])
        yield* stream.close
        assert.deepStrictEqual(yield* Fiber.join(collected), Array.from({ length: 21 }, (_, i) => i))
      }).pipe(Effect.scoped))

    it.effect("acks fails with the stream's error", () =>
      Effect.gen(function*() {
        const table = uniqueTable("acks")
        yield* inject(table, Faults.failStream(1, "PERMISSION_DENIED", "revoked"))
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false })
        const collected = yield* Stream.runCollect(stream.acks).pipe(Effect.exit, Effect.forkChild)
        yield* Effect.yieldNow
        yield* stream.ingest({ i: 0 })
        yield* stream.ingest({ i: 1 })
        const exit = yield* Fiber.join(collected)
        assert.isTrue(Exit.isFailure(exit))
      }).pipe(Effect.scoped))

    it.effect("the sink ingests a stream of records and completes when all are acknowledged", () =>
      Effect.gen(function*() {
        const table = uniqueTable("sink")
        yield* inject(table, Faults.delayAcks("20 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), { maxInflightRequests: 100 })
        yield* Stream.range(0, 4999).pipe(Stream.map((i) => ({ i })), Stream.run(stream.sink))
        const view = yield* serverView(table)
        assert.strictEqual(view.stored, 5000)
        const local = yield* Local
        const values = (yield* local.records(table)).map((r) => r.value.i)
        assert.deepStrictEqual(values, Array.from({ length: 5000 }, (_, i) => i))
      }).pipe(Effect.scoped))

    it.effect("the sink fails with a bad record and keeps what was accepted before it", () =>
      Effect.gen(function*() {
        const table = uniqueTable("sink")
        const stream = yield* Zerobus.createStream(Table.json(table))
        const records: Array<Table.JsonRecord> = [{ i: 0 }, { i: 1 }, { n: 1n }]
        const error = yield* failure(Stream.fromIterable(records).pipe(Stream.rechunk(1), Stream.run(stream.sink)))
        assert.strictEqual(error.reason._tag, "InvalidArgument")
        yield* stream.flush
        assert.strictEqual((yield* serverView(table)).stored, 2)
      }).pipe(Effect.scoped))
  })
})
