/**
 * JSON records in batches: each `ingestBatch` call is one request with one offset, acknowledged
 * (or refused) as a whole. Records are typed by an Effect Schema, which checks and encodes them
 * before they are queued.
 *
 * Environment: see `json-single.ts`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Option, Schema } from "effect"
import { Table, Zerobus } from "effect-zerobus"

/** A row of the table: `device_name STRING, temp INT, humidity BIGINT`. */
const AirQuality = Schema.Struct({
  device_name: Schema.String,
  temp: Schema.Int,
  humidity: Schema.Int
})

const program = Effect.gen(function*() {
  const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
  const stream = yield* Zerobus.createStream(Table.json(tableName, AirQuality))

  for (let batch = 0; batch < 4; batch++) {
    const records = Array.from({ length: 25 }, (_, i) => ({
      device_name: `sensor-${batch}-${i}`,
      temp: 15 + i,
      humidity: 40 + batch
    }))
    // One offset per batch; `Option.none()` for an empty batch (nothing is sent).
    const offset = yield* stream.ingestBatch(records)
    yield* Effect.log(`batch ${batch} queued at offset ${Option.getOrElse(offset, () => -1)}`)
  }
  yield* stream.ingestBatch([]) // an empty batch: no request, no offset

  // Waits for every batch queued so far.
  yield* stream.flush
  yield* Effect.log(`100 records in 4 batches acknowledged in ${tableName}`)
})

program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv), NodeRuntime.runMain)
