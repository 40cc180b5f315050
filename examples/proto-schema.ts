/**
 * Typed protobuf records without code generation: `ProtoSchema.make` derives the proto2 descriptor
 * and a precompiled encoder from an Effect Schema. Records are validated by the Schema before they
 * are queued, so a bad record fails `ingest` with `InvalidArgument` and nothing is sent.
 *
 * Environment: see `json-single.ts`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Schema } from "effect"
import { ProtoSchema, Table, Zerobus } from "effect-zerobus"

/** `device_name STRING, temp INT, humidity BIGINT`, every column nullable (proto2 `optional`). */
const AirQuality = Schema.Struct({
  device_name: Schema.optional(Schema.String),
  temp: Schema.optional(ProtoSchema.int32),
  humidity: Schema.optional(ProtoSchema.int64)
})

const program = Effect.gen(function*() {
  const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
  const codec = yield* ProtoSchema.make(AirQuality, { messageName: "AirQuality" })
  const stream = yield* Zerobus.createStream(Table.protoSchema(tableName, codec))

  for (let i = 0; i < 10; i++) {
    yield* stream.ingest({ device_name: `sensor-${i}`, temp: 20 + i, humidity: BigInt(50 + i) })
  }
  // A value the Schema refuses (temp is not an int32) fails before anything is sent.
  const refused = yield* stream.ingest({ device_name: "broken", temp: 1.5 }).pipe(
    Effect.catchReason("ZerobusError", "InvalidArgument", (reason) => Effect.succeed(reason.message))
  )
  yield* Effect.log(`refused: ${refused}`)
  yield* stream.flush
  yield* Effect.log(`10 records acknowledged in ${tableName}`)
})

program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv), NodeRuntime.runMain)
