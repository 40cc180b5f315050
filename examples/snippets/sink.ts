/**
 * docs/effect-patterns.md, "Streams into the sink". Type-checked, not run.
 */
import { Effect, Stream } from "effect"
import { Table, Zerobus } from "effect-zerobus"

declare const readings: ReadonlyArray<{ readonly device: string; readonly temp: number; readonly humidity: number }>
declare const records: Stream.Stream<{ readonly id: number }>

export const viaSink = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(Table.json("main.default.air_quality"))
  yield* Stream.fromIterable(readings).pipe(
    Stream.filter((r) => r.temp < 60),
    Stream.map((r) => ({ device_name: r.device, temp: r.temp, humidity: r.humidity })),
    Stream.run(stream.sink)
  )
}).pipe(Effect.scoped)

export const viaBatches = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(Table.json("main.default.events"))
  yield* records.pipe(Stream.grouped(500), Stream.runForEach((batch) => stream.ingestBatch(batch)))
  yield* stream.flush
}).pipe(Effect.scoped)
