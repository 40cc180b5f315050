/**
 * Our client, through its Effect API: one `Zerobus` client (OAuth against the server's token
 * endpoint) and one stream per case, default options (coalescing on: up to 1,000 records or 4 MiB
 * per message, no linger). Records are the fixtures as users hand them over already encoded (JSON
 * strings for `Table.json`, bytes for `Table.proto`), the same input the official client gets.
 * The clock runs from the first record to the end of `flush` (every record acknowledged).
 *
 * Variants:
 * - `ingest-c1000`: `Effect.forEach(records, stream.ingest, { concurrency: 1000 })` (1,000
 *   fibers calling `ingest`; none awaits an ack), then `flush`;
 * - `ingest-seq`: one fiber, `yield* stream.ingest(record)` per record (each call returns once
 *   queued), then `flush`;
 * - `ingest-ack`: one fiber, `yield* stream.ingestAndWait(record)` per record (each call returns
 *   once acknowledged);
 * - `batch100` / `batch1000`: `yield* stream.ingestBatch(records)` of 100 / 1,000 records, then
 *   `flush`;
 * - `sink`: `Stream.range` mapped to records, run into `stream.sink` (ends once all are acked).
 */
import { Effect, Redacted, Stream } from "effect"
import * as Table from "../../src/Table.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import type { ZerobusStream } from "../../src/ZerobusStream.ts"
import { benchDescriptor, DISTINCT, jsonRecords, protoRecords, totalBytes } from "./fixtures.ts"
import { type CaseInput, type Outcome, type Section, tableFor } from "./harness.ts"

/** Starts the measured section (an Effect around `section.begin`). */
export const begin = (section: Section) => Effect.promise(() => section.begin())

/** Ends the measured section (an Effect around `section.end`). */
export const end = (section: Section) => Effect.promise(() => section.end())

/** The client layer for the benchmark server. */
export const clientLayer = (input: CaseInput) =>
  Zerobus.layer({
    endpoint: input.server.endpoint,
    unityCatalogUrl: input.server.workspaceUrl,
    clientId: input.server.clientId,
    clientSecret: Redacted.make(input.server.clientSecret)
  })

/** The measured work of a variant on an open stream. */
const work = <A>(
  variant: string,
  stream: ZerobusStream<A>,
  records: ReadonlyArray<A>,
  count: number
): Effect.Effect<void, unknown> => {
  const record = (i: number): A => records[i % DISTINCT]!
  switch (variant) {
    case "ingest-c1000":
      return Effect.andThen(
        Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => stream.ingest(record(i)), {
          concurrency: 1000,
          discard: true
        }),
        stream.flush
      )
    case "ingest-seq":
      return Effect.gen(function*() {
        for (let i = 0; i < count; i++) yield* stream.ingest(record(i))
        yield* stream.flush
      })
    case "ingest-ack":
      return Effect.gen(function*() {
        for (let i = 0; i < count; i++) yield* stream.ingestAndWait(record(i))
      })
    case "batch100":
    case "batch1000": {
      const size = variant === "batch100" ? 100 : 1000
      // Pre-sliced batches of the fixtures, cycled (DISTINCT is a multiple of both sizes).
      const batches = Array.from({ length: DISTINCT / size }, (_, b) => records.slice(b * size, (b + 1) * size))
      return Effect.gen(function*() {
        let sent = 0
        for (let b = 0; sent < count; b++) {
          const batch = batches[b % batches.length]!
          const take = Math.min(size, count - sent)
          yield* stream.ingestBatch(take === size ? batch : batch.slice(0, take))
          sent += take
        }
        yield* stream.flush
      })
    }
    case "sink":
      return Stream.range(0, count - 1).pipe(Stream.map(record), Stream.run(stream.sink))
    default:
      return Effect.die(new Error(`unknown variant ${variant}`))
  }
}

const measure = <A>(input: CaseInput, section: Section, table: Table.Table<A>, records: ReadonlyArray<A>) =>
  Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(table)
    yield* begin(section)
    yield* work(input.variant, stream, records, input.records)
    yield* end(section)
    yield* stream.close
  }).pipe(Effect.scoped, Effect.provide(clientLayer(input)))

/** Runs one of our client's cases. */
export const run = async (input: CaseInput, section: Section): Promise<Outcome> => {
  const name = tableFor(input)
  await Effect.runPromise(
    input.format === "json"
      ? measure(input, section, Table.json(name), jsonRecords)
      : measure(input, section, Table.proto(name, benchDescriptor), protoRecords)
  )
  return { records: input.records, bytes: totalBytes(input.format, input.records) }
}
