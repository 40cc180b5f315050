/**
 * An Effect Stream pipeline into a stream's sink: records flow through `Stream` operators and the
 * sink ingests them (waiting whenever the in-flight window is full) and completes once every
 * record is acknowledged. Acknowledged offsets are observed on `stream.acks`.
 *
 * Environment: see `json-single.ts`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Fiber, Stream } from "effect"
import { Table, Zerobus } from "effect-zerobus"

const program = Effect.gen(function*() {
  const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
  const stream = yield* Zerobus.createStream(Table.json(tableName), { maxInflightRequests: 500 })

  // Counts acknowledgements while the pipeline runs (ends when the stream closes).
  const acked = yield* stream.acks.pipe(Stream.runCount, Effect.forkChild)

  yield* Stream.range(1, 2_000).pipe(
    Stream.map((i) => ({ device_name: `sensor-${i % 20}`, temp: 15 + (i % 25), humidity: 30 + (i % 60) })),
    Stream.filter((reading) => reading.temp < 38), // drop implausible readings
    Stream.run(stream.sink)
  )
  yield* stream.close
  yield* Effect.log(`${yield* Fiber.join(acked)} records acknowledged in ${tableName}`)
})

program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv), NodeRuntime.runMain)
