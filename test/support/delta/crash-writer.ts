/**
 * Child process of the crash test: appends JSON records `{id, writer, payload}` to an existing table
 * through the table API, from several concurrent writers, and prints `ack <firstId> <lastId>` on
 * stdout once a batch is durable. It materializes and checkpoints often (small interval, small
 * WAL segments) so that a SIGKILL lands in every phase. It never stops on its own before
 * `maxBatches` per writer.
 *
 * Usage: node --import tsx crash-writer.ts <tableDir> <firstId> [writers=4] [batch=20] [maxBatches=100000]
 */
import * as Effect from "effect/Effect"
import * as DeltaTable from "../../../src/local/delta/DeltaTable.ts"

const [dir, firstIdText, writersText = "4", batchText = "20", maxBatchesText = "100000"] = process.argv.slice(2)
if (dir === undefined || firstIdText === undefined) {
  console.error("usage: crash-writer.ts <tableDir> <firstId> [writers] [batch] [maxBatches]")
  process.exit(2)
}
const firstId = Number(firstIdText)
const writers = Number(writersText)
const batch = Number(batchText)
const maxBatches = Number(maxBatchesText)

const program = Effect.scoped(Effect.gen(function*() {
  const table = yield* DeltaTable.open({
    dir,
    flushInterval: "10 millis",
    checkpointInterval: 3,
    walSegmentBytes: 16 * 1024
  })
  const stream = yield* table.openStream({ streamId: `crash-${firstId}`, format: "json" })
  process.stdout.write("ready\n")
  yield* Effect.forEach(
    Array.from({ length: writers }, (_, w) => w),
    (writer) =>
      Effect.gen(function*() {
        for (let n = 0; n < maxBatches; n++) {
          const start = firstId + (n * writers + writer) * batch
          const records = Array.from({ length: batch }, (_, i) =>
            JSON.stringify({ id: start + i, writer, payload: `writer ${writer} batch ${n} record ${i}` }))
          const durable = yield* stream.append(start, records)
          yield* durable
          process.stdout.write(`ack ${start} ${start + batch - 1}\n`)
        }
      }),
    { concurrency: "unbounded", discard: true }
  )
}))

Effect.runPromise(program).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e)
    process.exit(1)
  }
)
