/**
 * Recovery against Zerobus Local with injected faults: the official suites' "failure, with
 * recovery" and "graceful close" (CloseStreamSignal) scenarios, the older SDK's extra ones,
 * recreateStream, logs and metrics. Timings are bounds, with room for a busy machine.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Logger, Metric, Option, References, Schedule } from "effect"
import { Faults, ZerobusLocal } from "../src/local/index.ts"
import * as Table from "../src/Table.ts"
import * as Zerobus from "../src/Zerobus.ts"
import * as ZerobusMetrics from "../src/ZerobusMetrics.ts"
import { failure, testLayer } from "./support/client.ts"
import { uniqueTable } from "./support/local.ts"

const Local = ZerobusLocal.ZerobusLocal

const inject = (table: string, ...steps: ReadonlyArray<Faults.FaultStepInput>) =>
  Local.use((local) => local.inject(table, steps))

const view = (table: string) =>
  Effect.gen(function*() {
    const local = yield* Local
    const stats = yield* local.stats
    const streams = stats.streams.filter((s) => s.table === table)
    return {
      received: stats.tables[table]?.recordsReceived ?? 0,
      stored: (yield* local.records(table)).map((r) => r.raw),
      streams: streams.length,
      maxOffsets: streams.map((s) => s.maxOffset)
    }
  })

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const value = yield* effect
    return { value, ms: Date.now() - start }
  })

const fast = { recoveryBackoff: 100, coalesce: false } as const

layer(testLayer(), { excludeTestServices: true })("recovery", (it) => {
  describe("failure, with recovery", () => {
    it.effect("creation recovers from UNAVAILABLE after the backoff", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failCreate("UNAVAILABLE", "warming up"))
        const { value: stream, ms } = yield* timed(Zerobus.createStream(Table.json(table), fast))
        assert.isAtLeast(ms, 90)
        for (let i = 0; i < 3; i++) yield* stream.ingest({ i })
        yield* stream.flush
        assert.strictEqual((yield* view(table)).received, 3)
      }).pipe(Effect.scoped))

    it.effect("creation fails after 1 + recoveryRetries attempts", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failCreate("UNAVAILABLE", "down", 5))
        const { value: error, ms } = yield* timed(failure(Zerobus.createStream(Table.json(table), fast)))
        assert.strictEqual(error.reason._tag, "Unavailable")
        assert.isAtLeast(ms, 380)
        const local = yield* Local
        assert.deepStrictEqual((yield* local.pendingFaults)[table], undefined)
      }).pipe(Effect.scoped))

    it.effect("a retryable mid-stream error reconnects and replays; every offset resolves", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failStream(2, "UNAVAILABLE", "node restarting"))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        const offsets = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => stream.ingest(`{"i":${i}}`))
        yield* Effect.forEach(offsets, (o) => stream.waitForOffset(o))
        assert.deepStrictEqual(offsets, [0, 1, 2, 3, 4])
        const v = yield* view(table)
        assert.strictEqual(v.streams, 2)
        assert.deepStrictEqual(v.stored, [0, 1, 2, 3, 4].map((i) => `{"i":${i}}`))
        assert.strictEqual(Math.max(...v.maxOffsets), 2)
        assert.strictEqual(yield* stream.state, "open")
      }).pipe(Effect.scoped))

    it.effect("a silent server triggers the lack-of-ack timeout and a reconnection", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.withholdAcks())
        const stream = yield* Zerobus.createStream(Table.json(table), { ...fast, serverLackOfAckTimeout: 150 })
        for (let i = 0; i < 5; i++) yield* stream.ingest(`{"i":${i}}`)
        yield* stream.flush
        const v = yield* view(table)
        assert.strictEqual(v.streams, 2)
        // The first stream stored the records without acking them: replays duplicate them.
        assert.strictEqual(v.received, 10)
      }).pipe(Effect.scoped))

    it.effect("a non-retryable error during flush fails close; later ingest is StreamClosed, later waits the cause", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(
          table,
          Faults.delayAcks("50 millis"),
          Faults.failStream(1, "PERMISSION_DENIED", "Permission denied")
        )
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        yield* stream.ingest({ i: 0 })
        yield* stream.ingest({ i: 1 })
        const error = yield* failure(stream.close)
        assert.include(error.message, "Permission denied")
        assert.strictEqual((yield* failure(stream.ingest({ i: 2 }))).reason._tag, "StreamClosed")
        assert.strictEqual((yield* failure(stream.ingestBatch([{ i: 3 }]))).reason._tag, "StreamClosed")
        // Waiting calls fail with the cause itself, as close does while records are unacknowledged.
        assert.strictEqual((yield* failure(stream.flush)).reason._tag, "PermissionDenied")
        assert.strictEqual((yield* failure(stream.waitForOffset(1))).reason._tag, "PermissionDenied")
        assert.strictEqual((yield* failure(stream.close)).reason._tag, "PermissionDenied")
        assert.include(yield* stream.unackedRecords, "{\"i\":1}")
      }).pipe(Effect.scoped))

    it.effect("replays keep the batch structure and logical offsets", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failStream(1, "UNAVAILABLE"))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        assert.strictEqual(yield* stream.ingest("{\"s\":0}"), 0)
        assert.deepStrictEqual(yield* stream.ingestBatch(["{\"b\":0}", "{\"b\":1}", "{\"b\":2}"]), Option.some(1))
        yield* stream.flush
        const local = yield* Local
        const records = yield* local.records(table)
        assert.deepStrictEqual(records.map((r) => r.raw), ["{\"s\":0}", "{\"b\":0}", "{\"b\":1}", "{\"b\":2}"])
        assert.deepStrictEqual(records.map((r) => [r.offset, r.batch]), [[0, false], [0, true], [0, true], [0, true]])
      }).pipe(Effect.scoped))

    it.effect("a clean end of the call by the server is recovered like an error", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.endStream(2))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        for (let i = 0; i < 5; i++) yield* stream.ingest({ i })
        yield* stream.flush
        assert.strictEqual((yield* view(table)).stored.length, 5)
      }).pipe(Effect.scoped))

    it.effect("a dropped connection (no status) is recovered", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.dropConnection(2))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        for (let i = 0; i < 5; i++) yield* stream.ingest({ i })
        yield* stream.flush
        const v = yield* view(table)
        assert.isAtLeast(v.stored.length, 5)
        assert.strictEqual(v.streams, 2)
      }).pipe(Effect.scoped))

    it.effect("records ingested while reconnecting are queued and sent after the replay", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failStream(1, "UNAVAILABLE"), Faults.delayCreate("300 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        yield* stream.ingest("{\"i\":0}")
        yield* stream.ingest("{\"i\":1}")
        yield* Effect.sleep("100 millis")
        assert.strictEqual(yield* stream.state, "recovering")
        yield* stream.ingest("{\"i\":2}")
        yield* stream.flush
        assert.deepStrictEqual((yield* view(table)).stored, [0, 1, 2].map((i) => `{"i":${i}}`))
      }).pipe(Effect.scoped))

    it.effect("a recovery that runs out of attempts fails the stream and its pending acks", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failStream(1, "UNAVAILABLE"), Faults.failCreate("UNAVAILABLE", "gone", 3))
        const stream = yield* Zerobus.createStream(Table.json(table), { ...fast, recoveryRetries: 2 })
        yield* stream.ingestAndWait({ i: 0 })
        const pending = yield* stream.ingest({ i: 1 })
        const error = yield* failure(stream.waitForOffset(pending))
        assert.strictEqual(error.reason._tag, "Unavailable")
        assert.strictEqual(yield* stream.state, "failed")
        assert.deepStrictEqual(yield* stream.unackedRecords, ["{\"i\":1}"])
      }).pipe(Effect.scoped))

    it.effect("a user Schedule replaces the numeric retry options", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rec")
        yield* inject(table, Faults.failCreate("INTERNAL", "flaky", 6))
        const stream = yield* Zerobus.createStream(Table.json(table), {
          recoverySchedule: Schedule.spaced("10 millis").pipe(Schedule.upTo({ times: 6 })),
          recoveryRetries: 0
        })
        yield* stream.ingestAndWait({ ok: true })
      }).pipe(Effect.scoped))
  })

  describe("CloseStreamSignal (graceful rotation)", () => {
    it.effect("by default waits the full announced duration for acks, then rotates and replays", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(1), Faults.closeStream(1, "1 second"))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        for (let i = 0; i < 4; i++) yield* stream.ingest(`{"i":${i}}`)
        const { ms } = yield* timed(stream.flush)
        assert.isAtLeast(ms, 850)
        assert.isBelow(ms, 2500)
        const v = yield* view(table)
        assert.strictEqual(v.streams, 2)
        assert.strictEqual(v.received, 7) // 4, then the 3 unacknowledged again
      }).pipe(Effect.scoped))

    it.effect("streamPausedMaxWaitTime 0 rotates at once", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(1), Faults.closeStream(1, "5 seconds"))
        const stream = yield* Zerobus.createStream(Table.json(table), { ...fast, streamPausedMaxWaitTime: 0 })
        for (let i = 0; i < 4; i++) yield* stream.ingest(`{"i":${i}}`)
        const { ms } = yield* timed(stream.flush)
        assert.isBelow(ms, 1000)
        assert.strictEqual((yield* view(table)).streams, 2)
      }).pipe(Effect.scoped))

    it.effect("the client's cap bounds a longer announced duration", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(1), Faults.closeStream(1, "5 seconds"))
        const stream = yield* Zerobus.createStream(Table.json(table), { ...fast, streamPausedMaxWaitTime: "1 second" })
        for (let i = 0; i < 4; i++) yield* stream.ingest(`{"i":${i}}`)
        const { ms } = yield* timed(stream.flush)
        assert.isAtLeast(ms, 800)
        assert.isBelow(ms, 4000)
      }).pipe(Effect.scoped))

    it.effect("a cap above the announced duration waits only the announced duration", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(1), Faults.closeStream(1, "1 second"))
        const stream = yield* Zerobus.createStream(Table.json(table), { ...fast, streamPausedMaxWaitTime: "2 seconds" })
        for (let i = 0; i < 4; i++) yield* stream.ingest(`{"i":${i}}`)
        const { ms } = yield* timed(stream.flush)
        assert.isAtLeast(ms, 850)
        assert.isBelow(ms, 1900)
      }).pipe(Effect.scoped))

    it.effect("rotates early once every in-flight request is acknowledged, resending nothing", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.delayAcks("200 millis"), Faults.closeStream(1, "5 seconds"))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        for (let i = 0; i < 3; i++) yield* stream.ingest(`{"i":${i}}`)
        const { ms } = yield* timed(stream.flush)
        assert.isAtLeast(ms, 150)
        assert.isBelow(ms, 1500)
        const v = yield* view(table)
        assert.strictEqual(v.received, 3)
        yield* stream.ingestAndWait("{\"i\":3}")
        assert.strictEqual((yield* view(table)).streams, 2)
      }).pipe(Effect.scoped))

    it.effect("records ingested during the pause are buffered and sent after the rotation", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(1), Faults.closeStream(1, "600 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), fast)
        yield* stream.ingest("{\"i\":0}")
        yield* stream.ingest("{\"i\":1}")
        yield* Effect.sleep("150 millis")
        assert.strictEqual(yield* stream.state, "paused")
        yield* stream.ingest("{\"i\":2}")
        yield* stream.ingest("{\"i\":3}")
        yield* stream.flush
        const local = yield* Local
        const stats = yield* local.stats
        const streams = stats.streams.filter((s) => s.table === table)
        assert.deepStrictEqual(streams.map((s) => s.records), [2, 3]) // 2 before the signal; 1 replayed + 2 new
      }).pipe(Effect.scoped))

    it.effect("an error while paused is recovered and the flush completes", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(1), Faults.closeStream(1, "300 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), { ...fast, streamPausedMaxWaitTime: "5 seconds" })
        for (let i = 0; i < 3; i++) yield* stream.ingest(`{"i":${i}}`)
        const { ms } = yield* timed(stream.flush)
        assert.isBelow(ms, 3000)
        assert.strictEqual((yield* view(table)).streams, 2)
      }).pipe(Effect.scoped))

    it.effect("with recovery off the signal is ignored and the stream fails when the server ends it", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        yield* inject(table, Faults.withholdAcks(2), Faults.closeStream(1, "300 millis"))
        const stream = yield* Zerobus.createStream(Table.json(table), { recovery: false, coalesce: false })
        for (let i = 0; i < 4; i++) yield* stream.ingest(`{"i":${i}}`)
        const error = yield* failure(stream.flush)
        assert.include(error.message, "6002")
        assert.deepStrictEqual(yield* stream.unackedRecords, ["{\"i\":2}", "{\"i\":3}"])
      }).pipe(Effect.scoped))

    it.effect("the server's automatic rotation (streamLifetime) is transparent", () =>
      Effect.gen(function*() {
        const table = uniqueTable("rot")
        const stream = yield* Zerobus.createStream(Table.json(table), { recoveryBackoff: 50 })
        for (let i = 0; i < 300; i++) {
          yield* stream.ingest({ i })
          if (i % 50 === 0) yield* Effect.sleep("10 millis")
        }
        yield* stream.flush
        const ids = new Set((yield* view(table)).stored.map((raw) => JSON.parse(String(raw)).i))
        assert.strictEqual(ids.size, 300)
      }).pipe(Effect.scoped))
  })

  describe("recreateStream", () => {
    it.effect("re-ingests the unacknowledged requests of a failed stream on a new stream", () =>
      Effect.gen(function*() {
        const table = uniqueTable("recreate")
        yield* inject(table, Faults.failStream(2, "INTERNAL", "stop"))
        const stream = yield* Zerobus.createStream(Table.json(table), { recovery: false, coalesce: false })
        yield* stream.ingest("{\"a\":0}")
        yield* stream.ingest("{\"a\":1}")
        yield* stream.ingest("{\"s\":0}")
        yield* stream.ingestBatch(["{\"b\":0}", "{\"b\":1}"])
        yield* Effect.exit(stream.flush)
        assert.deepStrictEqual((yield* stream.unackedBatches).map((b) => b.length), [1, 2])
        const next = yield* Zerobus.recreateStream(stream)
        assert.strictEqual(yield* next.ingest("{\"n\":0}"), 2)
        yield* next.flush
        const v = yield* view(table)
        assert.deepStrictEqual(v.stored, ["{\"a\":0}", "{\"a\":1}", "{\"s\":0}", "{\"b\":0}", "{\"b\":1}", "{\"n\":0}"])
        assert.deepStrictEqual(
          yield* next.unackedRecords.pipe(Effect.flip, Effect.map((e) => e.reason._tag)),
          "InvalidState"
        )
      }).pipe(Effect.scoped))

    it.effect("refuses an open stream; a stream with nothing unacknowledged gives an empty list", () =>
      Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(uniqueTable("recreate")))
        const error = yield* failure(Zerobus.recreateStream(stream))
        assert.strictEqual(error.reason._tag, "InvalidState")
        yield* stream.ingest({ a: 1 })
        yield* stream.close
        assert.deepStrictEqual(yield* stream.unackedRecords, [])
        const next = yield* Zerobus.recreateStream(stream)
        assert.strictEqual(yield* next.ingest({ b: 1 }), 0)
      }).pipe(Effect.scoped))
  })

  describe("observability", () => {
    it.effect("recovery and rotation are logged with the table and stream id, and counted", () =>
      Effect.gen(function*() {
        const table = uniqueTable("obs")
        const lines: Array<{ readonly message: string; readonly annotations: Record<string, unknown> }> = []
        const capture = Logger.make((options) => {
          lines.push({
            message: String(Array.isArray(options.message) ? options.message[0] : options.message),
            annotations: options.fiber.getRef(References.CurrentLogAnnotations)
          })
        })
        yield* inject(table, Faults.failStream(1, "UNAVAILABLE"), Faults.closeStream(1, "100 millis"))
        yield* Effect.gen(function*() {
          const stream = yield* Zerobus.createStream(Table.json(table), fast)
          for (let i = 0; i < 3; i++) yield* stream.ingestAndWait({ i })
          yield* stream.flush
        }).pipe(Effect.scoped, Effect.provide(Logger.layer([capture])))
        const recovering = lines.find((l) => l.message.includes("recovering"))
        assert.isDefined(recovering)
        assert.strictEqual(recovering?.annotations.table, table)
        assert.isString(recovering?.annotations.streamId)
        assert.isDefined(lines.find((l) => l.message.includes("moving to a new stream")))
        assert.isDefined(lines.find((l) => l.message.includes("recovered")))
        const metric = (m: Metric.Metric<number, { readonly count: number }>) =>
          Metric.value(Metric.withAttributes(m, { table })).pipe(Effect.map((s) => s.count))
        assert.strictEqual(yield* metric(ZerobusMetrics.recoveries), 1)
        assert.strictEqual(yield* metric(ZerobusMetrics.rotations), 1)
        assert.strictEqual(yield* metric(ZerobusMetrics.recordsAcked), 3)
        assert.isAtLeast(yield* metric(ZerobusMetrics.messagesSent), 3)
      }))
  })
})

layer(testLayer({ streamLifetime: "300 millis", rotationNotice: "100 millis" }), { excludeTestServices: true })(
  "automatic rotation",
  (it) => {
    it.effect("streams outliving the server's stream lifetime keep ingesting without loss", () =>
      Effect.gen(function*() {
        const table = uniqueTable("life")
        const stream = yield* Zerobus.createStream(Table.json(table), { recoveryBackoff: 50 })
        for (let i = 0; i < 200; i++) {
          yield* stream.ingest({ i })
          yield* Effect.sleep("5 millis")
        }
        yield* stream.flush
        const v = yield* view(table)
        assert.isAtLeast(v.streams, 3)
        assert.strictEqual(new Set(v.stored.map((raw) => JSON.parse(String(raw)).i)).size, 200)
      }).pipe(Effect.scoped))
  }
)
