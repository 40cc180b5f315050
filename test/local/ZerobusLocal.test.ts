import { assert, describe, it as vitest, layer } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Redacted } from "effect"
import { Storage, ZerobusLocal } from "../../src/local/index.ts"
import { quiet, rawClient, tokenFor, uniqueTable } from "../support/local.ts"
import { openStream } from "../support/rawClient.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("Zerobus Local core", (it) => {
  it.effect("exposes endpoint, workspace URL and the default principal", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      assert.match(local.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.match(local.workspaceUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.notStrictEqual(local.port, local.httpPort)
      assert.strictEqual(local.workspaceId, "127")
      assert.strictEqual(local.clientId, "zerobus-local")
      assert.strictEqual(Redacted.value(local.clientSecret), "zerobus-local-secret")
      assert.strictEqual(local.tokenUrl, `${local.workspaceUrl}/oidc/v1/token`)
      assert.deepStrictEqual(local.environment(), {
        ZEROBUS_SERVER_ENDPOINT: local.endpoint,
        DATABRICKS_WORKSPACE_URL: local.workspaceUrl,
        DATABRICKS_CLIENT_ID: "zerobus-local",
        DATABRICKS_CLIENT_SECRET: "zerobus-local-secret"
      })
    }))

  it.effect("sends response headers before create_stream, then the stream id first", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      const table = uniqueTable("core")
      const token = yield* tokenFor(local, table)
      const call = client.open({ token, table })
      // Nothing sent yet: the server still answers with headers (official clients wait for them).
      yield* promise(() => call.headers)
      call.createStream({ table })
      const streamId = yield* promise(() => call.streamId())
      assert.match(streamId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
      call.halfClose()
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.OK)
    }))

  it.effect("stores JSON records and batches and acks them cumulatively", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      const table = uniqueTable("core")
      const token = yield* tokenFor(local, table)
      const { call, streamId } = yield* promise(() => openStream(client, { token, table }))
      call.json(0, JSON.stringify({ id: 1 }))
      call.jsonBatch(1, [JSON.stringify({ id: 2 }), JSON.stringify({ id: 3 })])
      call.json(2, JSON.stringify({ id: 4, name: "x" }))
      yield* promise(() => call.waitForAck(2))
      const acks = call.acks()
      assert.isAtLeast(acks.length, 1)
      assert.strictEqual(acks.at(-1), 2)
      for (let i = 1; i < acks.length; i++) assert.isAbove(acks[i]!, acks[i - 1]!)
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      const records = yield* local.records(table)
      assert.deepStrictEqual(
        records.map((r) => ({
          offset: r.offset,
          index: r.index,
          batch: r.batch,
          value: r.value,
          streamId: r.streamId
        })),
        [
          { offset: 0, index: 0, batch: false, value: { id: 1 }, streamId },
          { offset: 1, index: 0, batch: true, value: { id: 2 }, streamId },
          { offset: 1, index: 1, batch: true, value: { id: 3 }, streamId },
          { offset: 2, index: 0, batch: false, value: { id: 4, name: "x" }, streamId }
        ]
      )
      assert.strictEqual(records[0]!.raw, "{\"id\":1}")
    }))

  it.effect("acks everything left when the client half-closes, then ends with OK", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      const table = uniqueTable("core")
      const token = yield* tokenFor(local, table)
      const { call } = yield* promise(() => openStream(client, { token, table }))
      for (let offset = 0; offset < 50; offset++) call.json(offset, JSON.stringify({ offset }))
      call.halfClose()
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.OK)
      assert.strictEqual(call.acks().at(-1), 49)
      assert.strictEqual((yield* local.records(table)).length, 50)
    }))
})

describe("Zerobus Local lifecycle", () => {
  vitest.live("rejects invalid options with a typed error", () =>
    Effect.gen(function*() {
      const error = yield* ZerobusLocal.make({ port: 70000 }).pipe(
        Effect.provide(Storage.layerMemory),
        Effect.flip,
        Effect.scoped
      )
      assert.strictEqual(error._tag, "ZerobusLocalError")
      assert.strictEqual(error.reason._tag, "InvalidOptions")
      assert.match(error.message, /port/)
    }))
})
