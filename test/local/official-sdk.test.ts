import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { ZerobusLocal } from "../../src/local/index.ts"
import { quiet, uniqueTable } from "../support/local.ts"
import { official, type OfficialModule, type OfficialSdk } from "../support/official.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Runs an official SDK call that is expected to fail; returns its message. */
const failure = (f: () => Promise<unknown>) =>
  Effect.promise(() => f().then(() => "succeeded", (error: unknown) => String(error)))

const connect = (sdkModule: OfficialModule) =>
  Effect.gen(function*() {
    const local = yield* ZerobusLocal.ZerobusLocal
    const sdk: OfficialSdk = new sdkModule.ZerobusSdk(local.endpoint, local.workspaceUrl)
    const secret = Redacted.value(local.clientSecret)
    return { local, sdk, secret }
  })

describe.runIf(official !== undefined)("official TypeScript SDK 1.3.0 against Zerobus Local", () => {
  const sdkModule = official!

  it.live("JSON: authenticates with the OIDC endpoint, ingests records and batches, gets acks, closes", () =>
    Effect.gen(function*() {
      const { local, sdk, secret } = yield* connect(sdkModule)
      const table = uniqueTable("official")
      const stream = yield* promise(() =>
        sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: sdkModule.RecordType.Json })
      )
      const first = yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ id: 1, name: "one" })))
      const batch = yield* promise(() =>
        stream.ingestRecordsOffset([JSON.stringify({ id: 2 }), JSON.stringify({ id: 3 })])
      )
      const single = yield* promise(() => stream.ingestRecordsOffset([JSON.stringify({ id: 4 })]))
      assert.deepStrictEqual([first, batch, single], [0n, 1n, 2n])
      yield* promise(() => stream.waitForOffset(2n))
      for (let i = 5; i <= 104; i++) yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ id: i })))
      yield* promise(() => stream.flush())
      yield* promise(() => stream.close())

      const records = yield* local.records(table)
      assert.deepStrictEqual(records.map((r) => r.value["id"]), Array.from({ length: 104 }, (_, i) => i + 1))
      assert.deepStrictEqual(
        records.slice(0, 4).map((r) => [r.offset, r.index, r.batch]),
        // A one-record batch goes out as ingest_record.
        [[0, 0, false], [1, 0, true], [1, 1, true], [2, 0, false]]
      )
      assert.strictEqual(new Set(records.map((r) => r.streamId)).size, 1)
      const stats = yield* local.stats
      const stream0 = stats.streams.find((s) => s.table === table)!
      assert.deepStrictEqual([stream0.state, stream0.requests, stream0.records, stream0.ackedUpTo], [
        "closed",
        103,
        104,
        102
      ])
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))

  it.live("PROTO: sends the DescriptorProto; records decode with it", () =>
    Effect.gen(function*() {
      const { local, sdk, secret } = yield* connect(sdkModule)
      const table = uniqueTable("official")
      const stream = yield* promise(() =>
        sdk.createStream(
          { tableName: table, descriptorProto: Buffer.from(ordersDescriptor).toString("base64") },
          local.clientId,
          secret,
          { recordType: sdkModule.RecordType.Proto }
        )
      )
      yield* promise(() => stream.ingestRecordOffset(Buffer.from(encodeOrder({ id: 1n, name: "a", lat: 0.5 }))))
      yield* promise(() =>
        stream.ingestRecordsOffset([Buffer.from(encodeOrder({ id: 2n })), Buffer.from(encodeOrder({ id: 3n }))])
      )
      yield* promise(() => stream.flush())
      yield* promise(() => stream.close())
      const records = yield* local.records(table)
      assert.deepStrictEqual(records.map((r) => r.value), [
        { id: "1", name: "a", loc: { lat: 0.5 } },
        { id: "2" },
        { id: "3" }
      ])
      assert.isTrue(records.every((r) => r.format === "proto"))
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))

  it.live("a wrong secret fails at the token endpoint (401)", () =>
    Effect.gen(function*() {
      const { local, sdk } = yield* connect(sdkModule)
      const message = yield* failure(() =>
        sdk.createStream({ tableName: uniqueTable("official") }, local.clientId, "wrong", {
          recordType: sdkModule.RecordType.Json,
          recovery: false
        })
      )
      assert.match(message, /401/)
      assert.strictEqual((yield* local.stats).streamsOpened, 0)
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))

  it.live("recovers from a retryable mid-stream failure: every record is stored", () =>
    Effect.gen(function*() {
      const { local, sdk, secret } = yield* connect(sdkModule)
      const table = uniqueTable("official")
      yield* local.inject(table, [{ _tag: "FailStream", afterRequests: 2, code: "UNAVAILABLE" }])
      const stream = yield* promise(() =>
        sdk.createStream({ tableName: table }, local.clientId, secret, {
          recordType: sdkModule.RecordType.Json,
          recoveryBackoffMs: 50
        })
      )
      for (let i = 0; i < 5; i++) yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ i })))
      yield* promise(() => stream.flush())
      yield* promise(() => stream.close())
      const records = yield* local.records(table)
      assert.deepStrictEqual(records.map((r) => r.value["i"]), [0, 1, 2, 3, 4])
      assert.strictEqual(new Set(records.map((r) => r.streamId)).size, 2)
      // The second stream starts again at physical offset 0.
      assert.deepStrictEqual(records.map((r) => r.offset), [0, 1, 0, 1, 2])
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))

  it.live("follows CloseStreamSignal: waits, reconnects, resends what was not acknowledged", () =>
    Effect.gen(function*() {
      const { local, sdk, secret } = yield* connect(sdkModule)
      const table = uniqueTable("official")
      yield* local.inject(table, [
        { _tag: "WithholdAcks", afterRequests: 1 },
        { _tag: "CloseStream", afterRequests: 2, duration: 300 }
      ])
      const stream = yield* promise(() =>
        sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: sdkModule.RecordType.Json })
      )
      yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ i: 0 })))
      yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ i: 1 })))
      yield* promise(() => stream.flush())
      yield* promise(() => stream.close())
      const records = yield* local.records(table)
      const streams = [...new Set(records.map((r) => r.streamId))]
      assert.strictEqual(streams.length, 2)
      // Record 1 was stored but not acknowledged, so it was sent again on the new stream.
      assert.deepStrictEqual(records.map((r) => [streams.indexOf(r.streamId), r.offset, r.value["i"]]), [
        [0, 0, 0],
        [0, 1, 1],
        [1, 0, 1]
      ])
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))

  it.live("rotates with the server's stream lifetime without losing records", () =>
    Effect.gen(function*() {
      const { local, sdk, secret } = yield* connect(sdkModule)
      const table = uniqueTable("official")
      const stream = yield* promise(() =>
        sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: sdkModule.RecordType.Json })
      )
      for (let i = 0; i < 12; i++) {
        yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ i })))
        yield* Effect.sleep("50 millis")
      }
      yield* promise(() => stream.flush())
      yield* promise(() => stream.close())
      const values = new Set((yield* local.records(table)).map((r) => r.value["i"]))
      assert.deepStrictEqual(
        [...values].toSorted((a, b) => Number(a) - Number(b)),
        Array.from({ length: 12 }, (_, i) => i)
      )
      const stats = yield* local.stats
      assert.isAtLeast(stats.streams.filter((s) => s.table === table).length, 2)
    }).pipe(Effect.provide(ZerobusLocal.layer({ ...quiet, streamLifetime: 200, rotationNotice: 100 }))))

  it.live("a non-retryable failure reaches the caller with the server's message; unacked records are kept", () =>
    Effect.gen(function*() {
      const { local, sdk, secret } = yield* connect(sdkModule)
      const table = uniqueTable("official")
      yield* local.inject(table, [{
        _tag: "FailStream",
        afterRequests: 1,
        code: "INVALID_ARGUMENT",
        message: "no way"
      }])
      const stream = yield* promise(() =>
        sdk.createStream({ tableName: table }, local.clientId, secret, { recordType: sdkModule.RecordType.Json })
      )
      yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ i: 0 })))
      yield* promise(() => stream.ingestRecordOffset(JSON.stringify({ i: 1 })))
      assert.match(yield* failure(() => stream.flush()), /Invalid argument: no way/)
      const unacked = yield* promise(() => stream.getUnackedRecords())
      assert.deepStrictEqual(unacked.map((b) => b.toString()), [JSON.stringify({ i: 1 })])
      yield* failure(() => stream.close())
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))
})
