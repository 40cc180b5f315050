/**
 * The code of README.md (type-checked here).
 */
import { Effect, Stream } from "effect"
import { Table, Zerobus } from "effect-zerobus"
import { RecordType, ZerobusSdk } from "effect-zerobus/promise"

export const effectExample = () => {
  const program = Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(Table.json("main.default.events"))
    const offset = yield* stream.ingest({ id: 1, kind: "signup" }) // returns once queued
    yield* stream.waitForOffset(offset) // durable
    yield* Stream.range(2, 100_000).pipe(Stream.map((id) => ({ id, kind: "view" })), Stream.run(stream.sink))
  }) // the scope flushes and closes the stream

  // ZEROBUS_SERVER_ENDPOINT, DATABRICKS_WORKSPACE_URL, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET
  return Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(Zerobus.layerFromEnv)))
}

export const promiseExample = async () => {
  const sdk = new ZerobusSdk(process.env.ZEROBUS_SERVER_ENDPOINT!, process.env.DATABRICKS_WORKSPACE_URL!)
  const stream = await sdk.createStream(
    { tableName: "main.default.events" },
    process.env.DATABRICKS_CLIENT_ID!,
    process.env.DATABRICKS_CLIENT_SECRET!,
    { recordType: RecordType.Json }
  )
  const offset = await stream.ingestRecordOffset({ id: 1, kind: "signup" })
  await stream.waitForOffset(offset)
  await stream.close()
}
