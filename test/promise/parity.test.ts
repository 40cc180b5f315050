/**
 * The Promise API next to the official TypeScript SDK 1.3.0 (native core, where this platform has
 * it): the same calls against the same Zerobus Local give the same results (offsets, `null` for
 * empty batches, record conversions, stored records) and both refuse the same bad calls.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import { createRequire } from "node:module"
import { ZerobusLocal } from "../../src/local/index.ts"
import { type Payload, RecordType, type TableProperties, ZerobusError, ZerobusSdk } from "../../src/promise/index.ts"
import { uniqueTable } from "../support/local.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"

/** The calls both SDKs answer, with the official native module's real parameter types. */
interface AnyStream {
  ingestRecordOffset(payload: Payload): Promise<bigint>
  ingestRecordsOffset(payloads: ReadonlyArray<Payload>): Promise<bigint | null>
  ingestRecord(payload: Payload): Promise<bigint>
  waitForOffset(offset: bigint): Promise<void>
  flush(): Promise<void>
  close(): Promise<void>
}
interface AnySdk {
  createStream(
    table: TableProperties,
    clientId: string,
    clientSecret: string,
    options?: { readonly recordType?: RecordType }
  ): Promise<AnyStream>
}

/** The official SDK's native module (1.3.0), where this platform has a build. */
const official: {
  readonly RecordType: { readonly Json: number; readonly Proto: number }
  readonly ZerobusSdk: new(endpoint: string, unityCatalogUrl: string) => AnySdk
} | undefined = createRequire(import.meta.url)("zerobus-official-sdk-peer")

/** A protobufjs-style message: its class has a static `encode(message).finish()`. */
class Order {
  constructor(readonly id: bigint) {}
  static encode(order: Order) {
    return { finish: () => Buffer.from(encodeOrder({ id: order.id, name: "pjs" })) }
  }
}

let local: ZerobusLocal.Handle
let secret: string

beforeAll(async () => {
  local = await ZerobusLocal.start({ logLevel: "None" })
  secret = Redacted.value(local.clientSecret)
})

afterAll(() => local.stop())

const sdks = (): ReadonlyArray<readonly [string, AnySdk]> => {
  if (official === undefined) return []
  return [
    ["official", new official.ZerobusSdk(local.endpoint, local.workspaceUrl)],
    ["effect-zerobus", new ZerobusSdk(local.endpoint, local.workspaceUrl, { logLevel: "None" })]
  ]
}

/** The same script on a JSON stream: what each call returned, and what the server stored. */
const jsonScript = async (sdk: AnySdk) => {
  const table = uniqueTable("parity")
  const stream = await sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: RecordType.Json })
  const results = [
    await stream.ingestRecordOffset({ id: 1 }),
    await stream.ingestRecordOffset("{\"id\":2}"),
    await stream.ingestRecordsOffset([]),
    await stream.ingestRecordsOffset([{ id: 3 }, "{\"id\":4}"]),
    await stream.ingestRecord({ id: 5 }),
    await stream.waitForOffset(2n),
    await stream.flush()
  ]
  await stream.close()
  return { results, stored: (await local.records(table)).map((r) => r.value) }
}

/** The same script on a protobuf stream with a base64 descriptor. */
const protoScript = async (sdk: AnySdk) => {
  const table = uniqueTable("parity")
  const stream = await sdk.createStream(
    { tableName: table, descriptorProto: Buffer.from(ordersDescriptor).toString("base64") },
    local.clientId,
    secret,
    { recordType: RecordType.Proto }
  )
  const results = [
    await stream.ingestRecordOffset(Buffer.from(encodeOrder({ id: 1n }))),
    await stream.ingestRecordOffset(new Order(2n)),
    await stream.ingestRecordsOffset([new Order(3n), Buffer.from(encodeOrder({ id: 4n }))])
  ]
  await stream.close()
  return { results, stored: (await local.records(table)).map((r) => r.value) }
}

const rejects = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  return assert.fail("expected a rejection")
}

describe.runIf(official !== undefined)("Promise API parity with the official SDK 1.3.0", () => {
  it("the same RecordType values", () => {
    assert.deepStrictEqual({ ...RecordType }, { Json: official!.RecordType.Json, Proto: official!.RecordType.Proto })
  })

  it("a JSON stream: the same offsets, nulls and stored records", async () => {
    const [[, theirs], [, ours]] = sdks()
    const expected = await jsonScript(theirs!)
    assert.deepStrictEqual(expected.results, [0n, 1n, null, 2n, 3n, undefined, undefined])
    assert.deepStrictEqual(await jsonScript(ours!), expected)
  })

  it("a protobuf stream: Buffers and protobufjs-style messages converted alike", async () => {
    const [[, theirs], [, ours]] = sdks()
    const expected = await protoScript(theirs!)
    assert.deepStrictEqual(expected.results, [0n, 1n, 2n])
    assert.deepStrictEqual(await protoScript(ours!), expected)
  })

  it("both refuse the same bad calls; ours with typed errors", async () => {
    for (const [name, sdk] of sdks()) {
      const table = uniqueTable("parity")
      const wrongSecret = await rejects(
        sdk.createStream({ tableName: table }, local.clientId, "wrong", { recordType: 0 })
      )
      const noDescriptor = await rejects(sdk.createStream({ tableName: table }, local.clientId, secret))
      const stream = await sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: 0 })
      const wrongKind = await rejects(stream.ingestRecordOffset(Buffer.from([1])))
      await stream.close()
      const afterClose = await rejects(stream.ingestRecordOffset({ id: 1 }))
      for (const error of [wrongSecret, noDescriptor, wrongKind, afterClose]) assert.instanceOf(error, Error, name)
      if (name === "effect-zerobus") {
        assert.deepStrictEqual(
          [wrongSecret, noDescriptor, wrongKind, afterClose].map((e) => e instanceof ZerobusError ? e.code : "?"),
          ["Unauthenticated", "InvalidArgument", "InvalidArgument", "StreamClosed"]
        )
      }
    }
  })
})
