import { assert, describe, it as vitest, layer } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Redacted } from "effect"
import { LocalError, ZerobusLocal } from "../../src/local/index.ts"
import { quiet, rawClient, uniqueTable } from "../support/local.ts"
import { authorizationDetails, basic, postToken } from "../support/oauth.ts"
import { openStream, RawClient } from "../support/rawClient.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const officialForm = (workspaceId: string, table: string, operations = false) => ({
  grant_type: "client_credentials",
  scope: "all-apis",
  resource: `api://databricks/workspaces/${workspaceId}/zerobusDirectWriteApi`,
  authorization_details: authorizationDetails(table, { operations })
})

/** Opens a stream with `token` and reports the status of the attempt (OK once the stream id came). */
const tryStream = (client: RawClient, token: string, table: string) =>
  promise(async () => {
    const call = client.open({ token, table })
    call.createStream({ table })
    const event = await call.next()
    call.cancel()
    return event._tag === "Status" ? event.code : grpc.status.OK
  })

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("token endpoint", (it) => {
  it.effect("issues tokens for the official clients' request, with and without operations", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      for (const operations of [false, true]) {
        const table = uniqueTable("oidc")
        const response = yield* promise(() =>
          postToken(local.workspaceUrl, {
            clientId: "zerobus-local",
            clientSecret: "zerobus-local-secret",
            form: officialForm(local.workspaceId, table, operations)
          })
        )
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.body["token_type"], "Bearer")
        assert.strictEqual(response.body["expires_in"], 3600)
        assert.isString(response.body["access_token"])
        assert.strictEqual(yield* tryStream(client, String(response.body["access_token"]), table), grpc.status.OK)
        // The token is scoped: another table is denied.
        assert.strictEqual(
          yield* tryStream(client, String(response.body["access_token"]), uniqueTable("oidc")),
          grpc.status.PERMISSION_DENIED
        )
      }
    }))

  it.effect("plain client credentials give a token with the principal's own grants", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      const response = yield* promise(() =>
        postToken(local.workspaceUrl, {
          clientId: "zerobus-local",
          clientSecret: "zerobus-local-secret",
          form: { grant_type: "client_credentials", scope: "all-apis" }
        })
      )
      assert.strictEqual(response.status, 200)
      const token = String(response.body["access_token"])
      assert.strictEqual(yield* tryStream(client, token, uniqueTable("oidc")), grpc.status.OK)
      assert.strictEqual(yield* tryStream(client, token, "other.catalog.table"), grpc.status.OK)
    }))

  it.effect("401 invalid_client for a wrong secret, an unknown client or no credentials", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const form = officialForm(local.workspaceId, "main.default.t")
      for (
        const options of [
          { clientId: "zerobus-local", clientSecret: "wrong" },
          { clientId: "someone", clientSecret: "zerobus-local-secret" },
          {},
          { authorization: "Bearer abc" }
        ]
      ) {
        const response = yield* promise(() => postToken(local.workspaceUrl, { ...options, form }))
        assert.strictEqual(response.status, 401, JSON.stringify(options))
        assert.strictEqual(response.body["error"], "invalid_client")
        assert.isString(response.body["error_description"])
        assert.notProperty(response.body, "access_token")
      }
      // client_secret_post is accepted too.
      const post = yield* promise(() =>
        postToken(local.workspaceUrl, {
          form: { ...form, client_id: "zerobus-local", client_secret: "zerobus-local-secret" }
        })
      )
      assert.strictEqual(post.status, 200)
    }))

  it.effect("400 for a bad form", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const credentials = { clientId: "zerobus-local", clientSecret: "zerobus-local-secret" }
      const cases: ReadonlyArray<readonly [Parameters<typeof postToken>[1], string, RegExp]> = [
        [{ ...credentials, form: { scope: "all-apis" } }, "invalid_request", /grant_type is required/],
        [{ ...credentials, form: { grant_type: "password" } }, "unsupported_grant_type", /password/],
        [{ ...credentials, form: { grant_type: "client_credentials", scope: "sql" } }, "invalid_scope", /all-apis/],
        [
          { ...credentials, form: { grant_type: "client_credentials", authorization_details: "[{" } },
          "invalid_request",
          /authorization_details/
        ],
        [
          {
            ...credentials,
            form: {
              grant_type: "client_credentials",
              authorization_details: JSON.stringify([{
                type: "other",
                object_type: "TABLE",
                object_full_path: "a.b.c"
              }])
            }
          },
          "invalid_request",
          /authorization_details/
        ],
        [
          {
            ...credentials,
            form: {
              grant_type: "client_credentials",
              authorization_details: JSON.stringify([{
                type: "unity_catalog_privileges",
                object_type: "TABLE",
                object_full_path: "a.b",
                privileges: ["MODIFY"]
              }])
            }
          },
          "invalid_request",
          /does not name a TABLE/
        ],
        [
          {
            ...credentials,
            contentType: "application/json",
            body: JSON.stringify({ grant_type: "client_credentials" })
          },
          "invalid_request",
          /x-www-form-urlencoded/
        ]
      ]
      for (const [options, error, description] of cases) {
        const response = yield* promise(() => postToken(local.workspaceUrl, options))
        assert.strictEqual(response.status, 400, JSON.stringify(options))
        assert.strictEqual(response.body["error"], error)
        assert.match(String(response.body["error_description"]), description)
      }
    }))

  it.effect("400 invalid_target for another workspace's resource; loopback ids are accepted", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const credentials = { clientId: "zerobus-local", clientSecret: "zerobus-local-secret" }
      const wrong = yield* promise(() =>
        postToken(local.workspaceUrl, { ...credentials, form: officialForm("1234567890", "main.default.t") })
      )
      assert.strictEqual(wrong.status, 400)
      assert.strictEqual(wrong.body["error"], "invalid_target")
      assert.deepStrictEqual(local.workspaceIds, ["127", `localhost:${local.port}`])
      for (const id of local.workspaceIds) {
        const ok = yield* promise(() =>
          postToken(local.workspaceUrl, { ...credentials, form: officialForm(id, "main.default.t") })
        )
        assert.strictEqual(ok.status, 200, id)
      }
    }))
})

describe("token configuration", () => {
  vitest.live("a configured workspace id is the only one accepted", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      assert.strictEqual(local.workspaceId, "6051921418418893")
      const credentials = { clientId: "zerobus-local", clientSecret: "zerobus-local-secret" }
      const ok = yield* promise(() =>
        postToken(local.workspaceUrl, { ...credentials, form: officialForm("6051921418418893", "main.default.t") })
      )
      assert.strictEqual(ok.status, 200)
      const derived = yield* promise(() =>
        postToken(local.workspaceUrl, { ...credentials, form: officialForm("127", "main.default.t") })
      )
      assert.strictEqual(derived.status, 400)
    }).pipe(Effect.provide(ZerobusLocal.layer({ ...quiet, workspaceId: "6051921418418893" }))))

  vitest.live("principals are limited to their table patterns", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      assert.strictEqual(local.clientId, "writer")
      const client = yield* rawClient(local)
      const tokenFor = (table: string) =>
        promise(() =>
          postToken(local.workspaceUrl, {
            clientId: "writer",
            clientSecret: "s3cret",
            form: officialForm(local.workspaceId, table)
          })
        ).pipe(Effect.map((r) => String(r.body["access_token"])))
      assert.strictEqual(yield* tryStream(client, yield* tokenFor("main.sales.orders"), "main.sales.orders"), 0)
      assert.strictEqual(
        yield* tryStream(client, yield* tokenFor("main.hr.people"), "main.hr.people"),
        grpc.status.PERMISSION_DENIED
      )
      // The second principal's secret is checked independently.
      const admin = yield* promise(() =>
        postToken(local.workspaceUrl, {
          authorization: basic("admin", "admin-secret"),
          form: { grant_type: "client_credentials", scope: "all-apis" }
        })
      )
      assert.strictEqual(admin.status, 200)
      assert.strictEqual(yield* tryStream(client, String(admin.body["access_token"]), "main.hr.people"), 0)
    }).pipe(Effect.provide(ZerobusLocal.layer({
      ...quiet,
      principals: [
        { clientId: "writer", clientSecret: "s3cret", tables: ["main.sales.*"] },
        { clientId: "admin", clientSecret: Redacted.make("admin-secret") }
      ]
    }))))

  vitest.live("tokens expire after tokenTtl", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      const response = yield* promise(() =>
        postToken(local.workspaceUrl, {
          clientId: "zerobus-local",
          clientSecret: "zerobus-local-secret",
          form: officialForm(local.workspaceId, "main.default.t")
        })
      )
      assert.strictEqual(response.body["expires_in"], 0)
      const call = client.open({ token: String(response.body["access_token"]), table: "main.default.t" })
      call.createStream({ table: "main.default.t" })
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.UNAUTHENTICATED)
      assert.match(status.details, /expired/)
    }).pipe(Effect.provide(ZerobusLocal.layer({ ...quiet, tokenTtl: 0 }))))

  vitest.live("invalid principal options are refused", () =>
    Effect.gen(function*() {
      const error: unknown = yield* promise(() =>
        ZerobusLocal.start({ ...quiet, principals: [{ clientId: "x", clientSecret: "y", tables: ["bad"] }] }).then(
          (handle) => handle.stop().then(() => "started"),
          (e: unknown) => e
        )
      )
      assert.instanceOf(error, LocalError.ZerobusLocalError)
      assert.strictEqual(error.reason._tag, "InvalidOptions")
      assert.match(error.message, /table pattern/)
    }))

  vitest.live("the token works over a raw client to open a stream", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = new RawClient(local.endpoint)
      const token = Redacted.value(yield* local.token())
      const { call } = yield* promise(() => openStream(client, { token, table: "main.default.t" }))
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status())).code, 0)
      client.close()
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))
})
