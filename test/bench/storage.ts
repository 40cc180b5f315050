/**
 * Storage benchmark: durable appends to a Delta table (WAL with group commit, materialization
 * running alongside) with durability `fsync` and `os`, next to a plain in-memory append (the same
 * JSON validation, rows kept in an array) in the same run. Reports records/s and the ack latency
 * (append → durable) p50/p99 per request.
 *
 * Run: node --import tsx test/bench/storage.ts [--seconds 3] [--writers 8] [--batch 100] [--flush-ms 1000]
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import * as Delta from "../../src/internal/delta/DeltaType.ts"
import * as JsonRecord from "../../src/internal/delta/JsonRecord.ts"
import type * as Row from "../../src/internal/delta/Row.ts"
import * as DeltaTable from "../../src/local/delta/DeltaTable.ts"
import { tempDir } from "../support/delta/fixtures.ts"

/** Benchmark parameters. */
export interface BenchOptions {
  /** Measured time per mode. */
  readonly seconds: number
  /** Concurrent writers, each with one request in flight. */
  readonly writers: number
  /** Records per request. */
  readonly batch: number
  /** Materialization interval in ms (default 1000); materialization shares the CPU with ingestion. */
  readonly flushMs?: number | undefined
}

/** One mode's figures. */
export interface BenchResult {
  readonly mode: "fsync" | "os" | "memory"
  readonly records: number
  readonly recordsPerSecond: number
  readonly ackP50Ms: number
  readonly ackP99Ms: number
  readonly commits: number
  readonly walSyncs: number
}

const schema = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("ts", Delta.timestamp),
  Delta.field("device", Delta.string),
  Delta.field("value", Delta.double),
  Delta.field("msg", Delta.string)
])

const record = (id: number): string =>
  JSON.stringify({
    id,
    ts: new Date(1_760_000_000_000 + id).toISOString(),
    device: `device-${id % 1000}`,
    value: (id % 10_000) / 7,
    msg: `message number ${id} from the benchmark`
  })

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

type Append = (records: ReadonlyArray<string>) => Effect.Effect<Effect.Effect<void, unknown>, unknown>

/** Runs `writers` loops of append → await durable for `seconds`, timing each request. */
const drive = (append: Append, options: BenchOptions) =>
  Effect.gen(function*() {
    const latencies: Array<number> = []
    let next = 0
    const deadline = performance.now() + options.seconds * 1000
    const started = performance.now()
    yield* Effect.forEach(
      Array.from({ length: options.writers }, (_, i) => i),
      () =>
        Effect.gen(function*() {
          while (performance.now() < deadline) {
            const records = Array.from({ length: options.batch }, () => record(next++))
            const t0 = performance.now()
            yield* Effect.flatten(append(records))
            latencies.push(performance.now() - t0)
          }
        }),
      { concurrency: "unbounded", discard: true }
    )
    const elapsed = (performance.now() - started) / 1000
    latencies.sort((a, b) => a - b)
    return {
      records: latencies.length * options.batch,
      recordsPerSecond: Math.round((latencies.length * options.batch) / elapsed),
      ackP50Ms: Number(percentile(latencies, 0.5).toFixed(3)),
      ackP99Ms: Number(percentile(latencies, 0.99).toFixed(3))
    }
  })

const durableRun = (mode: "fsync" | "os", options: BenchOptions) =>
  Effect.scoped(Effect.gen(function*() {
    const root = yield* tempDir("zerobus-bench-")
    const dir = path.join(root, "bench")
    yield* DeltaTable.create({ dir, name: "bench.default.events", schema })
    const table = yield* DeltaTable.open({ dir, durability: mode, flushInterval: options.flushMs ?? 1000 })
    const stream = yield* table.openStream({ streamId: "bench", format: "json" })
    let offset = 0
    const figures = yield* drive((records) => {
      const first = offset
      offset += records.length
      return stream.append(first, records)
    }, options)
    const stats = table.stats()
    const result: BenchResult = { mode, ...figures, commits: stats.commits, walSyncs: stats.wal.syncs }
    return result
  }))

const memoryRun = (options: BenchOptions) =>
  Effect.gen(function*() {
    const decoder = JsonRecord.makeDecoder(schema)
    const kept: Array<Row.Row> = []
    const figures = yield* drive((records) =>
      Effect.sync(() => {
        for (const r of records) {
          const decoded = JsonRecord.decodeBytes(decoder, r)
          if (Result.isSuccess(decoded)) kept.push(decoded.success)
        }
        return Effect.void
      }), options)
    const result: BenchResult = { mode: "memory", ...figures, commits: 0, walSyncs: 0 }
    return result
  })

/** Runs the three modes one after another. */
export const run = (options: BenchOptions): Promise<ReadonlyArray<BenchResult>> =>
  Effect.runPromise(Effect.gen(function*() {
    const fsync = yield* durableRun("fsync", options)
    const osMode = yield* durableRun("os", options)
    const memory = yield* memoryRun(options)
    return [fsync, osMode, memory]
  }))

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? fallback : Number(process.argv[i + 1])
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options: BenchOptions = {
    seconds: arg("seconds", 3),
    writers: arg("writers", 8),
    batch: arg("batch", 100),
    flushMs: arg("flush-ms", 1000)
  }
  run(options).then((results) => {
    console.log(
      `storage bench: ${options.writers} writers × ${options.batch} records/request, ${options.seconds} s per mode`
    )
    console.log("mode    records/s   ack p50 ms  ack p99 ms  commits  wal syncs")
    for (const r of results) {
      console.log(
        `${r.mode.padEnd(7)} ${String(r.recordsPerSecond).padStart(9)}  ${r.ackP50Ms.toFixed(3).padStart(10)}  ${
          r.ackP99Ms.toFixed(3).padStart(10)
        }  ${String(r.commits).padStart(7)}  ${String(r.walSyncs).padStart(9)}`
      )
    }
    console.log(JSON.stringify(results))
  }, (e: unknown) => {
    console.error(e)
    process.exit(1)
  })
}
