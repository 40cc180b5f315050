/**
 * JSON records, one at a time, with the Effect API.
 *
 * Reads the standard environment variables (`ZEROBUS_SERVER_ENDPOINT`, `DATABRICKS_WORKSPACE_URL`,
 * `DATABRICKS_CLIENT_ID`, `DATABRICKS_CLIENT_SECRET`; table: `ZEROBUS_TABLE_NAME`, default
 * `main.default.air_quality`), so it runs against Zerobus Local (`zerobus local` prints them) and
 * against Databricks alike:
 *
 *   node --conditions=zerobus-source --import tsx examples/json-single.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect } from "effect"
import { Table, Zerobus } from "effect-zerobus"

const program = Effect.gen(function*() {
  const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
  // A JSON table takes JSON strings or plain objects. The stream is closed (flushed first) when the
  // scope ends.
  const stream = yield* Zerobus.createStream(Table.json(tableName))

  let last = -1
  for (let i = 0; i < 10; i++) {
    // `ingest` returns the record's offset as soon as it is queued; it does not wait for the ack.
    last = yield* stream.ingest({ device_name: `sensor-${i}`, temp: 20 + i, humidity: 50 + i })
  }
  // Acks are cumulative: waiting for the last offset waits for every record before it.
  yield* stream.waitForOffset(last)
  yield* Effect.log(`10 records acknowledged in ${tableName} (offsets 0..${last})`)
})

// runMain reports a failure (with its typed reason) and exits with code 1.
program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv), NodeRuntime.runMain)
