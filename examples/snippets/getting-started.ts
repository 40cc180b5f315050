/**
 * docs/getting-started.md: the first programs. Type-checked, not run (examples/json-single.ts and
 * examples/promise.ts are the runnable versions).
 */
import { Effect } from "effect"
import { Table, Zerobus } from "effect-zerobus"
import { RecordType, ZerobusSdk } from "effect-zerobus/promise"

export const program = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(Table.json("main.default.air_quality"))
  let last = 0
  for (let i = 0; i < 10; i++) {
    last = yield* stream.ingest({ device_name: `sensor-${i}`, temp: 20 + i, humidity: 50 + i })
  }
  yield* stream.waitForOffset(last) // durable
  yield* Effect.log("10 records acknowledged")
})

export const runnable = program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv))

export const promise = async () => {
  const sdk = new ZerobusSdk(process.env.ZEROBUS_SERVER_ENDPOINT!, process.env.DATABRICKS_WORKSPACE_URL!)
  const stream = await sdk.createStream(
    { tableName: "main.default.air_quality" },
    process.env.DATABRICKS_CLIENT_ID!,
    process.env.DATABRICKS_CLIENT_SECRET!,
    { recordType: RecordType.Json }
  )
  try {
    await stream.ingestRecordOffset({ device_name: "sensor-1", temp: 21, humidity: 51 })
    await stream.flush()
  } finally {
    await stream.close()
  }
}
