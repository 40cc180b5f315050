/**
 * The memory case: 5,000,000 JSON records (`base * 5`) through our sink with
 * `maxInflightRequests: 10000`. Every 100 ms a timer samples `heapUsed`; at each fifth of the
 * records (1M, 2M, ... for 5M) the producer forces a GC (the process runs with `--expose-gc`) and
 * records `heapUsed` and RSS. If the heap is bounded by the window, the checkpoints stay flat.
 * Peak RSS is the process's `maxRSS`.
 */
import { Effect, Stream } from "effect"
import * as Table from "../../src/Table.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import { begin, clientLayer, end } from "./effect.ts"
import { DISTINCT, jsonRecords, totalBytes } from "./fixtures.ts"
import type { CaseInput, MemoryReport, Outcome, Section } from "./harness.ts"
import { tableFor } from "./harness.ts"

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024)

/** Runs the memory case. */
export const run = async (input: CaseInput, section: Section): Promise<Outcome> => {
  const collect = globalThis.gc
  if (collect === undefined) throw new Error("the memory case needs node --expose-gc (run.ts passes it)")
  const count = input.records
  const step = Math.max(1, Math.floor(count / 5))
  const checkpoints: Array<MemoryReport["checkpoints"][number]> = []
  const checkpoint = (records: number) => {
    collect()
    const usage = process.memoryUsage()
    checkpoints.push({ records, heapUsedMb: mb(usage.heapUsed), rssMb: mb(usage.rss) })
  }
  let peakHeap = 0
  let samples = 0
  const sampler = setInterval(() => {
    samples++
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
  }, 100)
  try {
    let produced = 0
    const program = Effect.gen(function*() {
      const stream = yield* Zerobus.createStream(Table.json(tableFor(input)), { maxInflightRequests: 10_000 })
      checkpoint(0)
      yield* begin(section)
      yield* Stream.range(0, count - 1).pipe(
        Stream.map((i) => {
          produced++
          if (produced % step === 0) checkpoint(produced)
          return jsonRecords[i % DISTINCT]!
        }),
        Stream.run(stream.sink)
      )
      yield* end(section)
      yield* stream.close
    }).pipe(Effect.scoped, Effect.provide(clientLayer(input)))
    await Effect.runPromise(program)
  } finally {
    clearInterval(sampler)
  }
  return {
    records: count,
    bytes: totalBytes("json", count),
    memory: { checkpoints, peakHeapUsedMb: mb(peakHeap), samples }
  }
}
