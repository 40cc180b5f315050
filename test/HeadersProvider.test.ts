/**
 * Authentication against Zerobus Local: the OAuth provider (token scoped to the table, cached,
 * refreshed), refused credentials and grants, and custom providers.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import * as HeadersProvider from "../src/HeadersProvider.ts"
import { Faults, ZerobusLocal } from "../src/local/index.ts"
import * as Table from "../src/Table.ts"
import * as Zerobus from "../src/Zerobus.ts"
import { clientLayer, failure, localLayer } from "./support/client.ts"
import { uniqueTable } from "./support/local.ts"

const Local = ZerobusLocal.ZerobusLocal

/** The real fetch, counting token requests and recording their bodies. */
const tokenRequests: Array<URLSearchParams> = []
const countingFetch: typeof globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input)
  if (url.endsWith("/oidc/v1/token") && init?.body instanceof URLSearchParams) {
    tokenRequests.push(new URLSearchParams(init.body))
  } else if (url.endsWith("/oidc/v1/token")) {
    tokenRequests.push(new URLSearchParams(String(init?.body ?? "")))
  }
  return globalThis.fetch(input, init)
}

const withClient = <A, E, R>(
  layerToUse: Layer.Layer<Zerobus.Zerobus, E, ZerobusLocal.ZerobusLocal>,
  effect: Effect.Effect<A, E, R>
) =>
  Effect.scoped(effect).pipe(
    Effect.provide(layerToUse),
    Effect.provideService(FetchHttpClient.Fetch, countingFetch)
  )

const server = localLayer({
  tokenTtl: "2 seconds",
  principals: [
    { clientId: "zerobus-local", clientSecret: "zerobus-local-secret" },
    { clientId: "limited", clientSecret: "limited-secret", tables: ["main.allowed.*"] }
  ]
})

layer(server, { excludeTestServices: true })("OAuth client credentials", (it) => {
  it.effect("fetches one table-scoped token per table and reuses it while it is valid", () =>
    withClient(
      clientLayer(),
      Effect.gen(function*() {
        tokenRequests.length = 0
        const local = yield* Local
        const table = uniqueTable("oauth")
        const [catalog, schema] = table.split(".")
        const a = yield* Zerobus.createStream(Table.json(table))
        const b = yield* Zerobus.createStream(Table.json(table))
        yield* Effect.all([a.ingestAndWait({ a: 1 }), b.ingestAndWait({ b: 1 })])
        assert.strictEqual(tokenRequests.length, 1)
        const form = tokenRequests[0]!
        assert.strictEqual(form.get("grant_type"), "client_credentials")
        assert.strictEqual(form.get("scope"), "all-apis")
        assert.strictEqual(
          form.get("resource"),
          `api://databricks/workspaces/${local.workspaceId}/zerobusDirectWriteApi`
        )
        assert.deepStrictEqual(JSON.parse(form.get("authorization_details") ?? "null"), [
          {
            object_full_path: catalog,
            object_type: "CATALOG",
            privileges: ["USE CATALOG"],
            type: "unity_catalog_privileges"
          },
          {
            object_full_path: `${catalog}.${schema}`,
            object_type: "SCHEMA",
            privileges: ["USE SCHEMA"],
            type: "unity_catalog_privileges"
          },
          {
            object_full_path: table,
            object_type: "TABLE",
            operations: ["zerobuswrite"],
            privileges: ["SELECT", "MODIFY"],
            type: "unity_catalog_privileges"
          }
        ])
        yield* Zerobus.createStream(Table.json(uniqueTable("oauth")))
        assert.strictEqual(tokenRequests.length, 2)
      })
    ))

  it.effect("a wrong secret fails creation with Unauthenticated after one token request", () =>
    withClient(
      clientLayer({ clientSecret: Redacted.make("wrong") }),
      Effect.gen(function*() {
        tokenRequests.length = 0
        const error = yield* failure(Zerobus.createStream(Table.json(uniqueTable("oauth")), { recoveryBackoff: 10 }))
        assert.strictEqual(error.reason._tag, "Unauthenticated")
        assert.include(error.message, "401")
        assert.isFalse(error.isRetryable)
        assert.strictEqual(tokenRequests.length, 2) // the first attempt, then one with fresh credentials
      })
    ))

  it.effect("after the token expires, a reconnection fetches a new one and the stream goes on", () =>
    withClient(
      clientLayer(),
      Effect.gen(function*() {
        tokenRequests.length = 0
        const table = uniqueTable("oauth")
        const local = yield* Local
        const stream = yield* Zerobus.createStream(Table.json(table), { coalesce: false, recoveryBackoff: 50 })
        yield* stream.ingestAndWait({ i: 0 })
        yield* Effect.sleep("2200 millis")
        yield* local.inject(table, [Faults.dropConnection(0)])
        yield* Zerobus.createStream(Table.json(table), { recovery: false }).pipe(Effect.exit)
        yield* stream.ingestAndWait({ i: 1 })
        assert.isAtLeast(tokenRequests.length, 2)
        assert.strictEqual(yield* stream.state, "open")
        yield* stream.flush
        assert.deepStrictEqual((yield* local.records(table)).map((r) => r.value.i).toSorted(), [0, 1])
      })
    ))

  it.effect("a token the server refuses is fetched again once (refresh) before creation fails", () =>
    withClient(
      clientLayer(),
      Effect.gen(function*() {
        const table = uniqueTable("oauth")
        const local = yield* Local
        yield* Zerobus.createStream(Table.json(table))
        tokenRequests.length = 0
        yield* local.inject(table, [Faults.failCreate("UNAUTHENTICATED", "revoked")])
        const stream = yield* Zerobus.createStream(Table.json(table))
        yield* stream.ingestAndWait({ ok: true })
        assert.strictEqual(tokenRequests.length, 1)
      })
    ))

  it.effect("a table outside the principal's grants fails with PermissionDenied", () =>
    withClient(
      clientLayer({ clientId: "limited", clientSecret: Redacted.make("limited-secret") }),
      Effect.gen(function*() {
        const error = yield* failure(Zerobus.createStream(Table.json("main.denied.events")))
        assert.strictEqual(error.reason._tag, "PermissionDenied")
        assert.include(error.message, "lacks")
        const allowed = yield* Zerobus.createStream(Table.json("main.allowed.events"))
        yield* allowed.ingestAndWait({ ok: true })
      })
    ))

  it.effect("an unreachable token endpoint is a retryable TokenFetchFailed", () =>
    Effect.gen(function*() {
      const local = yield* Local
      const error = yield* failure(Effect.scoped(
        Zerobus.createStream(Table.json(uniqueTable("oauth")), { recovery: false }).pipe(
          Effect.provide(Zerobus.layer({
            endpoint: local.endpoint,
            unityCatalogUrl: "http://127.0.0.1:1",
            clientId: "zerobus-local",
            clientSecret: Redacted.make("zerobus-local-secret")
          }))
        )
      ))
      assert.strictEqual(error.reason._tag, "TokenFetchFailed")
      assert.isTrue(error.isRetryable)
    }))
})

layer(server, { excludeTestServices: true })("custom headers providers", (it) => {
  describe("providers", () => {
    it.effect("a provider built from an Effect supplies the token for every connection", () =>
      Effect.gen(function*() {
        const local = yield* Local
        const table = uniqueTable("custom")
        let calls = 0
        const provider = HeadersProvider.make((request) =>
          local.token().pipe(Effect.map((token) => {
            calls++
            return { authorization: Redacted.make(`Bearer ${Redacted.value(token)}`), "x-custom": request.table }
          }))
        )
        const stream = yield* Zerobus.createStream(Table.json(table), {
          headersProvider: provider,
          coalesce: false,
          recoveryBackoff: 10
        })
        yield* stream.ingestAndWait({ i: 0 })
        yield* local.inject(table, [Faults.dropConnection(0)])
        yield* Zerobus.createStream(Table.json(table), { headersProvider: provider, recovery: false }).pipe(Effect.exit)
        yield* stream.ingestAndWait({ i: 1 })
        assert.isAtLeast(calls, 3)
      }).pipe(
        Effect.scoped,
        Effect.provide(Layer.unwrap(Effect.map(Local, (local) => Zerobus.layer({ endpoint: local.endpoint }))))
      ))

    it.effect("static headers and the HeadersProvider service", () =>
      Effect.gen(function*() {
        const local = yield* Local
        const token = yield* local.token()
        const table = uniqueTable("custom")
        const layerWithService = Layer.unwrap(Effect.gen(function*() {
          const l = yield* Local
          return Zerobus.layer({ endpoint: l.endpoint }).pipe(
            Layer.provide(
              HeadersProvider.layer(() => Effect.succeed({ authorization: `Bearer ${Redacted.value(token)}` }))
            )
          )
        }))
        yield* Effect.scoped(Effect.gen(function*() {
          const stream = yield* Zerobus.createStream(Table.json(table))
          yield* stream.ingestAndWait({ via: "service" })
          const fixed = yield* Zerobus.createStream(Table.json(table), {
            headersProvider: HeadersProvider.fixed({ authorization: Redacted.make(`Bearer ${Redacted.value(token)}`) })
          })
          yield* fixed.ingestAndWait({ via: "fixed" })
        })).pipe(Effect.provide(layerWithService))
        assert.strictEqual((yield* local.records(table)).length, 2)
      }))

    it.effect("refuses a provider naming another table, and a client without credentials", () =>
      Effect.gen(function*() {
        const local = yield* Local
        const token = yield* local.token()
        const bare = Zerobus.layer({ endpoint: local.endpoint })
        const wrong = yield* failure(
          Effect.scoped(Zerobus.createStream(Table.json("main.a.b"), {
            headersProvider: HeadersProvider.fixed({
              authorization: `Bearer ${Redacted.value(token)}`,
              "x-databricks-zerobus-table-name": "main.a.c"
            })
          })).pipe(Effect.provide(bare))
        )
        assert.strictEqual(wrong.reason._tag, "InvalidArgument")
        assert.include(wrong.message, "main.a.c")
        const none = yield* failure(
          Effect.scoped(Zerobus.createStream(Table.json("main.a.b"))).pipe(Effect.provide(bare))
        )
        assert.include(none.message, "No credentials")
        const missingToken = yield* failure(
          Effect.scoped(Zerobus.createStream(Table.json("main.a.b"), {
            headersProvider: HeadersProvider.fixed({}),
            recovery: false
          })).pipe(Effect.provide(bare))
        )
        assert.strictEqual(missingToken.reason._tag, "Unauthenticated")
      }))
  })
})
