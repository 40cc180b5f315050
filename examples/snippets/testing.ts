/**
 * docs/effect-patterns.md, "Testing against Zerobus Local": a vitest suite (`@effect/vitest`) with
 * a server and a client as layers, fault injection, and the records the server stored. In your
 * project this is a `*.test.ts` file. Type-checked, not run.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Table, Zerobus } from "effect-zerobus"
import { Faults, ZerobusLocal } from "effect-zerobus/local"

// The code under test: writes events, one request per batch.
const saveEvents = (events: ReadonlyArray<{ readonly id: number }>) =>
  Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(Table.json("main.test.events"))
    yield* stream.ingestBatch(events)
  }).pipe(Effect.scoped)

// A server on ephemeral ports, and a client that authenticates against its token endpoint.
const Local = ZerobusLocal.layer({ logLevel: "None" })
const Client = Layer.unwrap(Effect.gen(function*() {
  const local = yield* ZerobusLocal.ZerobusLocal
  return Zerobus.layer({
    endpoint: local.endpoint,
    unityCatalogUrl: local.workspaceUrl,
    clientId: local.clientId,
    clientSecret: local.clientSecret
  })
}))

describe("saveEvents", () => {
  layer(Client.pipe(Layer.provideMerge(Local)), { excludeTestServices: true })((it) => {
    it.effect("stores every event", () =>
      Effect.gen(function*() {
        const local = yield* ZerobusLocal.ZerobusLocal
        yield* saveEvents([{ id: 1 }, { id: 2 }])
        const stored = yield* local.records("main.test.events")
        assert.deepStrictEqual(stored.map((r) => r.value), [{ id: 1 }, { id: 2 }])
      }))

    it.effect("survives a dropped connection", () =>
      Effect.gen(function*() {
        const local = yield* ZerobusLocal.ZerobusLocal
        yield* local.inject("main.test.events", [Faults.dropConnection(0)])
        yield* saveEvents([{ id: 3 }])
        assert.include((yield* local.records("main.test.events")).map((r) => r.value["id"]), 3)
      }))

    it.effect("reports a revoked grant", () =>
      Effect.gen(function*() {
        const local = yield* ZerobusLocal.ZerobusLocal
        // twice: the client asks for fresh credentials once before giving up
        yield* local.inject("main.test.events", [Faults.failCreate("PERMISSION_DENIED", "revoked", 2)])
        const error = yield* Effect.flip(saveEvents([{ id: 4 }]))
        assert.strictEqual(error.reason._tag, "PermissionDenied")
        assert.isFalse(error.isRetryable)
      }))
  })
})
