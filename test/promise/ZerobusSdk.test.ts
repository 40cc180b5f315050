/**
 * The Promise API against Zerobus Local: every method of `ZerobusSdk` and `ZerobusStream`, record
 * conversions, errors (`ZerobusError` instances with the right code and `isRetryable`), failures
 * injected by the server, `getUnackedRecords` and `recreateStream` after `close()`.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { fromBinary } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import { DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Redacted } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Faults, ZerobusLocal } from "../../src/local/index.ts"
import {
  isZerobusError,
  loadDescriptorProto,
  RecordType,
  type StreamConfigurationOptions,
  ZerobusError,
  ZerobusSdk
} from "../../src/promise/index.ts"
import { uniqueTable } from "../support/local.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"

let local: ZerobusLocal.Handle
let sdk: ZerobusSdk
let secret: string

beforeAll(async () => {
  local = await ZerobusLocal.start({ logLevel: "None" })
  secret = Redacted.value(local.clientSecret)
  sdk = new ZerobusSdk(local.endpoint, local.workspaceUrl, { logLevel: "None" })
})

afterAll(async () => {
  await sdk.close()
  await local.stop()
})

const json: StreamConfigurationOptions = { recordType: RecordType.Json }
const descriptorBase64 = Buffer.from(ordersDescriptor).toString("base64")

const jsonStream = (table: string, options: StreamConfigurationOptions = {}) =>
  sdk.createStream({ tableName: table }, local.clientId, secret, { ...json, ...options })

/** The error a promise rejects with; fails the test if it resolves or rejects with something else. */
const rejection = async (promise: Promise<unknown>): Promise<ZerobusError> => {
  try {
    await promise
  } catch (error) {
    assert.instanceOf(error, ZerobusError)
    assert.isTrue(isZerobusError(error))
    return error as ZerobusError
  }
  throw new Error("expected the promise to reject")
}

const stored = async (table: string) => (await local.records(table)).map((r) => r.value)

/** A protobufjs-style message: its class has a static `encode(message).finish()`. */
class Order {
  constructor(readonly id: bigint, readonly name: string) {}
  static encode(order: Order) {
    return { finish: () => encodeOrder({ id: order.id, name: order.name }) }
  }
}

describe("ZerobusSdk (Promise API)", () => {
  it("exposes the official RecordType values", () => {
    assert.strictEqual(RecordType.Json, 0)
    assert.strictEqual(RecordType.Proto, 1)
  })

  it("streams JSON objects and strings, single and batched, with bigint offsets", async () => {
    const table = uniqueTable("promise")
    const stream = await jsonStream(table)
    try {
      assert.strictEqual(stream.tableName, table)
      assert.strictEqual(await stream.ingestRecordOffset({ id: 0 }), 0n)
      assert.strictEqual(await stream.ingestRecordOffset("{\"id\":1}"), 1n)
      assert.strictEqual(await stream.ingestRecordsOffset([{ id: 2 }, "{\"id\":3}"]), 2n)
      assert.isNull(await stream.ingestRecordsOffset([]))
      assert.strictEqual(await stream.ingestRecordOffset({ id: 4 }), 3n)
      await stream.waitForOffset(3n)
      await stream.flush()
    } finally {
      await stream.close()
    }
    assert.deepStrictEqual(await stored(table), [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }])
  })

  it("streams protobuf records from a base64 descriptor: Buffers and protobufjs-style messages", async () => {
    const table = uniqueTable("promise")
    const stream = await sdk.createStream(
      { tableName: table, descriptorProto: descriptorBase64 },
      local.clientId,
      secret
    )
    try {
      await stream.ingestRecordOffset(Buffer.from(encodeOrder({ id: 1n, name: "a" })))
      await stream.ingestRecordOffset(new Order(2n, "b"))
      await stream.ingestRecordsOffset([new Order(3n, "c"), encodeOrder({ id: 4n })])
      await stream.flush()
    } finally {
      await stream.close()
    }
    assert.deepStrictEqual((await stored(table)).map((v) => v["id"]), ["1", "2", "3", "4"])
  })

  it("takes the descriptor as bytes, and from a FileDescriptorSet with loadDescriptorProto", async () => {
    const file = create(FileDescriptorProtoSchema, {
      name: "shop/orders.proto",
      package: "orders",
      syntax: "proto2",
      messageType: [fromBinary(DescriptorProtoSchema, ordersDescriptor)]
    })
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "zerobus-promise-"))
    const descriptorPath = Path.join(dir, "orders.binpb")
    Fs.writeFileSync(
      descriptorPath,
      toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [file] }))
    )
    const loaded = loadDescriptorProto({ descriptorPath, protoFileName: "orders.proto", messageName: "table_Orders" })
    assert.strictEqual(fromBinary(DescriptorProtoSchema, Buffer.from(loaded, "base64")).name, "table_Orders")
    assert.throws(() => loadDescriptorProto({ descriptorPath, protoFileName: "orders.proto", messageName: "Nope" }))
    assert.throws(() => loadDescriptorProto({ descriptorPath, protoFileName: "other.proto", messageName: "x" }))
    Fs.rmSync(dir, { recursive: true })

    for (const descriptorProto of [loaded, ordersDescriptor]) {
      const table = uniqueTable("promise")
      const stream = await sdk.createStream({ tableName: table, descriptorProto }, local.clientId, secret, {
        recordType: RecordType.Proto
      })
      await stream.ingestRecordOffset(encodeOrder({ id: 7n, lat: 1.5 }))
      await stream.close()
      assert.deepStrictEqual(await stored(table), [{ id: "7", loc: { lat: 1.5 } }])
    }
  })

  it("deprecated ingestRecord and ingestRecords resolve once acknowledged", async () => {
    const table = uniqueTable("promise")
    await local.inject(table, [Faults.delayAcks("50 millis")])
    const stream = await jsonStream(table)
    try {
      assert.strictEqual(await stream.ingestRecord({ id: 1 }), 0n)
      assert.lengthOf(await local.records(table), 1)
      assert.strictEqual(await stream.ingestRecords([{ id: 2 }, { id: 3 }]), 1n)
      assert.lengthOf(await local.records(table), 3)
      assert.isNull(await stream.ingestRecords([]))
    } finally {
      await stream.close()
    }
  })

  it("ingestRecordAck returns a handle: offset at once, await() after the ack, tryGet() without waiting", async () => {
    const table = uniqueTable("promise")
    await local.inject(table, [Faults.delayAcks("200 millis")])
    const stream = await jsonStream(table)
    try {
      const first = await stream.ingestRecordAck({ id: 1 })
      const second = await stream.ingestRecordAck({ id: 2 })
      assert.strictEqual(first.offset, 0n)
      assert.strictEqual(second.offset, 1n)
      assert.deepStrictEqual(second.tryGet(), { status: "pending" })
      assert.strictEqual(await second.await(), 1n)
      assert.strictEqual(await second.await(), 1n)
      assert.deepStrictEqual(first.tryGet(), { status: "acked", offset: 0n })
      assert.deepStrictEqual(second.tryGet(), { status: "acked", offset: 1n })
    } finally {
      await stream.close()
    }
  })

  it("close is idempotent; later calls fail with StreamClosed; unacked records stay readable", async () => {
    const stream = await jsonStream(uniqueTable("promise"))
    await stream.ingestRecordOffset({ id: 1 })
    await stream.close()
    await stream.close()
    for (
      const call of [stream.ingestRecordOffset({ id: 2 }), stream.ingestRecordsOffset([{ id: 3 }]), stream.flush()]
    ) {
      const error = await rejection(call)
      assert.strictEqual(error.code, "StreamClosed")
      assert.isFalse(error.isRetryable)
    }
    assert.deepStrictEqual(await stream.getUnackedRecords(), [])
    assert.deepStrictEqual(await stream.getUnackedBatches(), [])
  })

  it("refuses unacked-record reads on an open stream and offsets it never assigned", async () => {
    const stream = await jsonStream(uniqueTable("promise"))
    try {
      assert.strictEqual((await rejection(stream.getUnackedRecords())).code, "InvalidState")
      assert.strictEqual((await rejection(stream.waitForOffset(5n))).code, "InvalidArgument")
    } finally {
      await stream.close()
    }
  })

  it("a stream failure rejects flush; unacked records survive close(); recreateStream re-sends them", async () => {
    const table = uniqueTable("promise")
    await local.inject(table, [Faults.failStream(3, "PERMISSION_DENIED", "grant revoked")])
    const stream = await jsonStream(table, { coalesce: false })
    for (let i = 0; i < 10; i++) await stream.ingestRecordOffset({ id: i })
    await stream.ingestRecordsOffset([{ id: 10 }, { id: 11 }])
    const failure = await rejection(stream.flush())
    assert.strictEqual(failure.code, "PermissionDenied")
    assert.isFalse(failure.isRetryable)
    assert.strictEqual(failure.grpcCode, 7)
    assert.include(failure.message, "grant revoked")

    const closeError = await rejection(stream.close())
    assert.strictEqual(closeError.code, "PermissionDenied")
    await stream.close() // a second close resolves, as in the official SDK

    const unacked = (await stream.getUnackedRecords()).map((b) => JSON.parse(b.toString("utf8")))
    assert.deepStrictEqual(unacked, [3, 4, 5, 6, 7, 8, 9, 10, 11].map((id) => ({ id })))
    const batches = await stream.getUnackedBatches()
    assert.lengthOf(batches, 8)
    assert.lengthOf(batches[7]!, 2)

    const next = await sdk.recreateStream(stream)
    try {
      assert.strictEqual(await next.ingestRecordOffset({ id: 12 }), 8n)
      await next.flush()
    } finally {
      await next.close()
    }
    assert.deepStrictEqual((await stored(table)).map((v) => v["id"]), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
  })

  it("recreateStream works on a failed stream before close, and recovery resends after a retryable failure", async () => {
    const table = uniqueTable("promise")
    await local.inject(table, [Faults.failStream(2, "UNAVAILABLE", "maintenance")])
    const failing = await jsonStream(table, { coalesce: false, recovery: false })
    for (let i = 0; i < 4; i++) await failing.ingestRecordOffset({ id: i })
    const error = await rejection(failing.flush())
    assert.strictEqual(error.code, "Unavailable")
    assert.isTrue(error.isRetryable)
    const next = await sdk.recreateStream(failing)
    await next.close()
    await failing.close().catch(() => undefined)
    assert.deepStrictEqual((await stored(table)).map((v) => v["id"]), [0, 1, 2, 3])

    const recovering = uniqueTable("promise")
    await local.inject(recovering, [Faults.failStream(2, "UNAVAILABLE")])
    const stream = await jsonStream(recovering, { coalesce: false, recoveryBackoffMs: 10 })
    for (let i = 0; i < 4; i++) await stream.ingestRecordOffset({ id: i })
    await stream.close()
    assert.deepStrictEqual((await stored(recovering)).map((v) => v["id"]), [0, 1, 2, 3])
  })

  it("asks a custom headers provider at every connection, with async callbacks", async () => {
    const table = uniqueTable("promise")
    await local.inject(table, [Faults.failStream(1, "UNAVAILABLE")])
    const requests: Array<{ table: string; refresh: boolean }> = []
    const stream = await sdk.createStream({ tableName: table }, "", "", { ...json, coalesce: false }, {
      getHeadersCallback: async (request) => {
        requests.push(request)
        return [["authorization", `Bearer ${await local.token()}`]]
      }
    })
    for (let i = 0; i < 3; i++) await stream.ingestRecordOffset({ id: i })
    await stream.close()
    assert.strictEqual(requests.length, 2)
    assert.deepStrictEqual(requests[0], { table, refresh: false })
    assert.lengthOf(await local.records(table), 3)

    const viaAlias = await sdk.createStreamWithHeadersProvider({ tableName: uniqueTable("promise") }, {
      getHeadersCallback: () => ({ authorization: "Bearer not-a-token" })
    }, json).catch((e: unknown) => e)
    assert.instanceOf(viaAlias, ZerobusError)
    assert.strictEqual((viaAlias as ZerobusError).code, "Unauthenticated")

    const missing = await rejection(sdk.createStreamWithHeadersProvider({ tableName: table }, {
      getHeadersCallback: () => [["x-other", "1"]]
    }, json))
    assert.strictEqual(missing.code, "InvalidArgument")
    assert.include(missing.message, "authorization")

    const throwing = await rejection(sdk.createStreamWithHeadersProvider({ tableName: table }, {
      getHeadersCallback: () => {
        throw new Error("vault sealed")
      }
    }, { ...json, recovery: false }))
    assert.strictEqual(throwing.code, "TokenFetchFailed")
    assert.isTrue(throwing.isRetryable)
    assert.include(throwing.message, "vault sealed")
  })

  describe("errors", () => {
    it("the constructor refuses an endpoint that is not a URL, and takes a schemeless one", () => {
      const error = (() => {
        try {
          return new ZerobusSdk("ftp://example.com", "")
        } catch (e) {
          return e
        }
      })()
      assert.instanceOf(error, ZerobusError)
      assert.strictEqual((error as ZerobusError).code, "InvalidArgument")
      assert.instanceOf(new ZerobusSdk("1234.zerobus.us-west-2.cloud.databricks.com", ""), ZerobusSdk)
    })

    it("wrong credentials: Unauthenticated, not retryable", async () => {
      const error = await rejection(
        sdk.createStream({ tableName: uniqueTable("promise") }, local.clientId, "nope", json)
      )
      assert.strictEqual(error.code, "Unauthenticated")
      assert.isFalse(error.isRetryable)
      assert.instanceOf(error.cause, Error)
    })

    it("bad arguments fail with InvalidArgument before anything is sent", async () => {
      const table = uniqueTable("promise")
      const cases: ReadonlyArray<[Promise<unknown>, string]> = [
        [sdk.createStream({ tableName: table }, local.clientId, secret), "descriptor is required"],
        [sdk.createStream({ tableName: "no_dots" }, local.clientId, secret, json), "3 parts"],
        [sdk.createStream({ tableName: table, descriptorProto: "%%%" }, local.clientId, secret), "descriptorProto"],
        [
          sdk.createStream({ tableName: table }, local.clientId, secret, { ...json, recoveryTimeoutMs: -1 }),
          "recoveryTimeoutMs"
        ],
        [
          sdk.createStream({ tableName: table }, local.clientId, secret, { ...json, maxInflightRequests: 0 }),
          "maxInflightRequests"
        ],
        [sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: 7 as RecordType }), "recordType"],
        [sdk.createStream({ tableName: table }, "", "", json), "clientId and clientSecret"]
      ]
      for (const [call, text] of cases) {
        const error = await rejection(call)
        assert.strictEqual(error.code, "InvalidArgument", text)
        assert.isFalse(error.isRetryable)
        assert.include(error.message, text)
      }
      assert.strictEqual((await local.stats()).tables[table], undefined)
    })

    it("a record of the wrong kind fails and leaves the stream usable", async () => {
      const table = uniqueTable("promise")
      const stream = await jsonStream(table)
      try {
        const wrong = await rejection(stream.ingestRecordOffset(Buffer.from([1, 2])))
        assert.strictEqual(wrong.code, "InvalidArgument")
        assert.strictEqual(
          (await rejection(stream.ingestRecordOffset(42 as unknown as object))).code,
          "InvalidArgument"
        )
        const inBatch = await rejection(stream.ingestRecordsOffset([{ id: 1 }, null as unknown as object]))
        assert.include(inBatch.message, "Record 1 of the batch")
        assert.strictEqual(await stream.ingestRecordOffset({ id: 1 }), 0n)
      } finally {
        await stream.close()
      }
      assert.lengthOf(await local.records(table), 1)
    })

    it("a retryable creation failure without recovery: Unavailable, retryable", async () => {
      const table = uniqueTable("promise")
      await local.inject(table, [Faults.failCreate("UNAVAILABLE", "starting up")])
      const error = await rejection(jsonStream(table, { recovery: false }))
      assert.strictEqual(error.code, "Unavailable")
      assert.isTrue(error.isRetryable)
      assert.strictEqual(error.grpcCode, 14)
    })

    it("a server-refused record: InvalidArgument from the server", async () => {
      const table = uniqueTable("promise")
      const stream = await sdk.createStream(
        { tableName: table, descriptorProto: ordersDescriptor },
        local.clientId,
        secret,
        {
          recovery: false
        }
      )
      await stream.ingestRecordOffset(encodeOrder({ name: "no id" }))
      const error = await rejection(stream.flush())
      assert.strictEqual(error.code, "InvalidArgument")
      assert.isFalse(error.isRetryable)
      await stream.close().catch(() => undefined)
      assert.lengthOf(await stream.getUnackedRecords(), 1)
    })
  })

  it("close() on the SDK closes its open streams; later createStream fails", async () => {
    const own = new ZerobusSdk(local.endpoint, local.workspaceUrl, { logLevel: "None" })
    const table = uniqueTable("promise")
    const stream = await own.createStream({ tableName: table }, local.clientId, secret, json)
    await stream.ingestRecordOffset({ id: 1 })
    await own.close()
    await own.close()
    assert.lengthOf(await local.records(table), 1)
    assert.strictEqual((await rejection(stream.ingestRecordOffset({ id: 2 }))).code, "StreamClosed")
    assert.strictEqual(
      (await rejection(own.createStream({ tableName: table }, local.clientId, secret, json))).code,
      "StreamClosed"
    )
  })
})
