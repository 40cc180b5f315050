/**
 * The Promise API (`effect-zerobus/promise`), for code that does not use Effect. It has the shape
 * of the official TypeScript SDK: moving over is changing the import.
 *
 * Environment: see `json-single.ts`.
 */
import { RecordType, ZerobusError, ZerobusSdk } from "effect-zerobus/promise"

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === "") throw new Error(`${name} is not set`)
  return value
}

const main = async () => {
  const tableName = process.env["ZEROBUS_TABLE_NAME"] ?? "main.default.air_quality"
  const sdk = new ZerobusSdk(env("ZEROBUS_SERVER_ENDPOINT"), env("DATABRICKS_WORKSPACE_URL"))
  const stream = await sdk.createStream(
    { tableName },
    env("DATABRICKS_CLIENT_ID"),
    env("DATABRICKS_CLIENT_SECRET"),
    { recordType: RecordType.Json }
  )
  try {
    for (let i = 0; i < 10; i++) {
      // Resolves with the record's offset (a bigint) once it is queued.
      await stream.ingestRecordOffset({ device_name: `sensor-${i}`, temp: 20 + i, humidity: 50 + i })
    }
    const batch = await stream.ingestRecordsOffset([
      { device_name: "sensor-a", temp: 30, humidity: 60 },
      JSON.stringify({ device_name: "sensor-b", temp: 31, humidity: 61 })
    ])
    // An ack handle: the offset now, the acknowledgement later.
    const ack = await stream.ingestRecordAck({ device_name: "sensor-c", temp: 32, humidity: 62 })
    await ack.await()
    await stream.flush()
    console.log(`13 records acknowledged in ${tableName} (batch offset ${batch}, last offset ${ack.offset})`)
  } catch (error) {
    if (error instanceof ZerobusError) {
      // Typed: `code` says what went wrong, `isRetryable` whether a new stream can help.
      console.error(`ingest failed (${error.code}, retryable: ${error.isRetryable}): ${error.message}`)
      // Unacknowledged records stay readable, even after close().
      await stream.close().catch(() => undefined)
      console.error(`${(await stream.getUnackedRecords()).length} records were not acknowledged`)
    }
    throw error
  } finally {
    await stream.close()
    await sdk.close()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
