/**
 * Protobuf records from protobuf-es generated code (`gen/air_quality_pb.ts`, generated from
 * `proto/air_quality.proto` by `npx buf generate` in examples/). `Table.protoMessage` derives the
 * descriptor the stream declares from the generated schema and encodes each message with it.
 *
 * Environment: see `json-single.ts`.
 */
import { create } from "@bufbuild/protobuf"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect } from "effect"
import { Table, Zerobus } from "effect-zerobus"
import { AirQualitySchema } from "./gen/air_quality_pb.ts"

const program = Effect.gen(function*() {
  const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
  const stream = yield* Zerobus.createStream(Table.protoMessage(tableName, AirQualitySchema))

  for (let i = 0; i < 10; i++) {
    yield* stream.ingest(
      create(AirQualitySchema, { deviceName: `sensor-${i}`, temp: 20 + i, humidity: BigInt(50 + i) })
    )
  }
  // Several messages as one request.
  yield* stream.ingestBatch([
    create(AirQualitySchema, { deviceName: "sensor-batch-a", temp: 30, humidity: 60n }),
    create(AirQualitySchema, { deviceName: "sensor-batch-b", temp: 31, humidity: 61n })
  ])
  yield* stream.flush
  yield* Effect.log(`12 protobuf records acknowledged in ${tableName}`)
})

program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv), NodeRuntime.runMain)
