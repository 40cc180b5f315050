/**
 * The client under sustained faults: a seeded chaos run (dropped connections, UNAVAILABLE, rotation
 * signals) and a server restart on the same ports mid-ingest. Nothing acknowledged may be missing;
 * duplicates (at-least-once) may only be exact copies of records the client replayed.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Exit, Fiber, Layer, Metric, Scope, Stream } from "effect"
import { Faults, Storage, ZerobusLocal } from "../src/local/index.ts"
import * as Table from "../src/Table.ts"
import * as Zerobus from "../src/Zerobus.ts"
import * as ZerobusMetrics from "../src/ZerobusMetrics.ts"
import { clientLayer } from "./support/client.ts"
import { quiet, uniqueTable } from "./support/local.ts"
import { prng } from "./support/prng.ts"

const record = (id: number) => `{"id":${id},"payload":"record ${id} of the chaos run"}`

/** Checks what the server stored against ids 0..n-1; returns the number of duplicates. */
const checkStored = (stored: ReadonlyArray<Storage.StoredRecord>, n: number): number => {
  const counts = new Uint32Array(n)
  for (const r of stored) {
    const id = JSON.parse(String(r.raw)).id
    assert.isTrue(Number.isInteger(id) && id >= 0 && id < n, `unexpected record ${String(r.raw)}`)
    assert.strictEqual(r.raw, record(id), "a stored record differs from what was sent")
    counts[id]++
  }
  const missing = counts.findIndex((c) => c === 0)
  assert.strictEqual(missing, -1, `record ${missing} was acknowledged but is not stored`)
  return stored.length - n
}

describe("chaos", () => {
  it.live(
    "200,000 records survive drops, failures and rotations; duplicates are exact replays",
    () =>
      Effect.gen(function*() {
        const n = 200_000
        const table = uniqueTable("chaos")
        const local = yield* ZerobusLocal.ZerobusLocal
        const next = prng(20261124)
        const steps: Array<Faults.FaultStepInput> = []
        for (let i = 0; i < 9; i++) {
          const after = 1 + Math.floor(next() * 60)
          const pick = next()
          steps.push(
            pick < 0.45
              ? Faults.dropConnection(after)
              : pick < 0.8
              ? Faults.failStream(after, "UNAVAILABLE", `chaos ${i}`)
              : Faults.closeStream(after, "150 millis")
          )
        }
        yield* local.inject(table, steps)
        const stream = yield* Zerobus.createStream(Table.json(table), {
          recoveryBackoff: 20,
          recoveryRetries: 20,
          maxInflightRequests: 20_000,
          coalesce: { maxRecords: 250 }
        })
        const acked = yield* Stream.runFold(stream.acks, () => 0, (count) => count + 1).pipe(Effect.forkChild)
        yield* Effect.yieldNow
        yield* Stream.range(0, n - 1).pipe(Stream.map(record), Stream.run(stream.sink))
        yield* stream.close
        assert.strictEqual(yield* Fiber.join(acked), n)
        const stored = yield* local.records(table)
        const duplicates = checkStored(stored, n)
        const stats = yield* local.stats
        const streams = stats.streams.filter((s) => s.table === table).length
        const recoveries = (yield* Metric.value(Metric.withAttributes(ZerobusMetrics.recoveries, { table }))).count
        const rotations = (yield* Metric.value(Metric.withAttributes(ZerobusMetrics.rotations, { table }))).count
        console.log(
          `chaos: ${n} records, ${steps.length} faults, ${streams} streams, ${recoveries} recoveries, ` +
            `${rotations} rotations, ${duplicates} duplicates (replayed records the server had already stored)`
        )
        assert.strictEqual(streams, steps.length + 1)
        assert.strictEqual(recoveries + rotations, steps.length)
        assert.deepStrictEqual(yield* local.pendingFaults, {})
      }).pipe(Effect.scoped, Effect.provide(clientLayer().pipe(Layer.provideMerge(ZerobusLocal.layer(quiet))))),
    {
      timeout: 120_000
    }
  )

  it.live(
    "batches of varying sizes survive drops and failures; replayed batches keep their exact bytes",
    () =>
      Effect.gen(function*() {
        const n = 60_000
        const table = uniqueTable("chaos")
        const local = yield* ZerobusLocal.ZerobusLocal
        const next = prng(424242)
        const steps: Array<Faults.FaultStepInput> = []
        for (let i = 0; i < 6; i++) {
          const after = 1 + Math.floor(next() * 40)
          steps.push(
            next() < 0.5 ? Faults.dropConnection(after) : Faults.failStream(after, "UNAVAILABLE", `chaos ${i}`)
          )
        }
        yield* local.inject(table, steps)
        const stream = yield* Zerobus.createStream(Table.json(table), {
          recoveryBackoff: 20,
          recoveryRetries: 20,
          coalesce: { maxRecords: 500 }
        })
        let id = 0
        while (id < n) {
          const size = Math.min(n - id, 1 + Math.floor(next() * 400))
          const first = id
          yield* stream.ingestBatch(Array.from({ length: size }, (_, i) => record(first + i)))
          id += size
        }
        yield* stream.close
        const duplicates = checkStored(yield* local.records(table), n)
        console.log(`chaos (batches): ${n} records, ${steps.length} faults, ${duplicates} duplicates`)
        assert.deepStrictEqual(yield* local.pendingFaults, {})
      }).pipe(Effect.scoped, Effect.provide(clientLayer().pipe(Layer.provideMerge(ZerobusLocal.layer(quiet))))),
    {
      timeout: 120_000
    }
  )

  it.live(
    "a server restarted on the same ports mid-ingest: the client recovers and the run completes",
    () =>
      Effect.gen(function*() {
        const n = 30_000
        const table = uniqueTable("restart")
        // One storage for both server lives, standing in for durable storage.
        const storage = yield* Layer.build(Storage.layerMemory)
        const serverLayer = (ports: { readonly port: number; readonly httpPort: number }) =>
          ZerobusLocal.layerWithStorage({ ...quiet, ...ports }).pipe(Layer.provide(Layer.succeedContext(storage)))

        const firstScope = yield* Scope.make()
        const first = yield* Layer.buildWithScope(serverLayer({ port: 0, httpPort: 0 }), firstScope).pipe(
          Effect.map((context) => Context.get(context, ZerobusLocal.ZerobusLocal))
        )
        const ports = { port: first.port, httpPort: first.httpPort }

        const client = Zerobus.layer({
          endpoint: first.endpoint,
          unityCatalogUrl: first.workspaceUrl,
          clientId: first.clientId,
          clientSecret: first.clientSecret
        })
        const run = yield* Effect.gen(function*() {
          const stream = yield* Zerobus.createStream(Table.json(table), {
            recoveryBackoff: 100,
            recoveryRetries: 60,
            maxInflightRequests: 2_000,
            coalesce: { maxRecords: 100 }
          })
          // 100 chunks of 300 records, 10 ms apart: about a second of ingestion.
          yield* Stream.range(0, 99).pipe(
            Stream.mapEffect((chunk) =>
              Effect.as(Effect.sleep("10 millis"), Array.from({ length: 300 }, (_, i) => record(chunk * 300 + i)))
            ),
            Stream.flattenIterable,
            Stream.run(stream.sink)
          )
          yield* stream.close
          return yield* stream.state
        }).pipe(Effect.scoped, Effect.provide(client), Effect.forkChild)

        yield* Effect.sleep("300 millis")
        const beforeStop = (yield* first.records(table)).length
        assert.isAbove(beforeStop, 0, "ingestion should be under way before the restart")
        assert.isBelow(beforeStop, n, "the restart should happen mid-ingest")
        yield* Scope.close(firstScope, Exit.void)
        yield* Effect.sleep("500 millis")
        const second = yield* Layer.build(serverLayer(ports)).pipe(
          Effect.map((context) => Context.get(context, ZerobusLocal.ZerobusLocal))
        )
        assert.strictEqual(yield* Fiber.join(run), "closed")
        const duplicates = checkStored(yield* second.records(table), n)
        console.log(`restart: ${n} records, ${beforeStop} stored before the restart, ${duplicates} duplicates`)
        assert.isAtLeast((yield* second.stats).streamsOpened, 1)
      }).pipe(Effect.scoped),
    { timeout: 120_000 }
  )
})
