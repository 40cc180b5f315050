/**
 * docs/promise.md and docs/migration.md: the Promise API. Type-checked, not run (the runnable
 * program is examples/promise.ts).
 */
import { loadDescriptorProto, RecordType, ZerobusError, ZerobusSdk, type ZerobusStream } from "effect-zerobus/promise"

export const main = async () => {
  const sdk = new ZerobusSdk(
    "1234567890123456.zerobus.us-west-2.cloud.databricks.com", // no scheme: https://
    "https://my-workspace.cloud.databricks.com",
    { applicationName: "orders-service/1.4" }
  )

  // JSON
  const events = await sdk.createStream(
    { tableName: "main.default.events" },
    process.env["DATABRICKS_CLIENT_ID"] ?? "",
    process.env["DATABRICKS_CLIENT_SECRET"] ?? "",
    { recordType: RecordType.Json, maxInflightRequests: 10_000 }
  )
  try {
    let last: bigint | null = null
    for (let i = 0; i < 1000; i++) last = await events.ingestRecordOffset({ id: i })
    if (last !== null) await events.waitForOffset(last)
  } finally {
    await events.close()
  }

  // Protobuf, with the descriptor from a FileDescriptorSet
  const descriptorProto = loadDescriptorProto({
    descriptorPath: "schemas/orders.binpb",
    protoFileName: "orders.proto",
    messageName: "Order"
  })
  const orders = await sdk.createStream({ tableName: "main.default.orders", descriptorProto }, "id", "secret")

  // Errors are ZerobusError instances
  try {
    await orders.ingestRecordsOffset([Buffer.from([8, 1]), Buffer.from([8, 2])])
    await orders.flush()
  } catch (error) {
    if (error instanceof ZerobusError && !error.isRetryable) {
      console.error(`${error.code}: ${error.message}`)
      await orders.close().catch(() => undefined)
      const unacked = await orders.getUnackedRecords() // still works after close()
      console.error(`${unacked.length} records not acknowledged`)
    } else if (error instanceof ZerobusError) {
      const next = await sdk.recreateStream(orders) // same table, options, credentials
      await next.close()
    }
  } finally {
    await orders.close().catch(() => undefined)
  }

  // A custom headers provider: called at every connection, may be async
  const withToken = await sdk.createStream({ tableName: "main.default.events" }, "", "", {
    recordType: RecordType.Json
  }, {
    getHeadersCallback: async ({ refresh }) => [["authorization", `Bearer ${await myTokenService(refresh)}`]]
  })
  await withToken.close()

  await sdk.close()
}

declare const myTokenService: (refresh: boolean) => Promise<string>

export const retryOnANewStream = async (sdk: ZerobusSdk, first: ZerobusStream) => {
  let stream = first
  try {
    await stream.flush()
  } catch (error) {
    if (error instanceof ZerobusError && error.isRetryable) {
      stream = await sdk.recreateStream(stream)
    } else {
      throw error
    }
  }
  return stream
}
