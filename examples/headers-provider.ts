/**
 * A custom headers provider: where the stream's credentials come from when they are not a service
 * principal's client id and secret (a token service, a secret manager, a personal access token).
 * The provider is asked for headers at every connection (the first one and every reconnection),
 * with `refresh: true` after the server refused the previous credentials.
 *
 * This one uses `ZEROBUS_TOKEN` when it is set; otherwise it stands in for a token service by
 * fetching a token from the workspace's OAuth endpoint with `DATABRICKS_CLIENT_ID` and
 * `DATABRICKS_CLIENT_SECRET`, cached until shortly before it expires.
 *
 * Environment: see `json-single.ts`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Duration, Effect, Exit, Layer, Option, Redacted, Schema } from "effect"
import { HeadersProvider, Table, Zerobus, ZerobusError } from "effect-zerobus"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"

const TokenResponse = Schema.Struct({ access_token: Schema.String, expires_in: Schema.Number })

/** A token from the workspace token endpoint, scoped to writing `table` (the details the official SDKs send). */
const fetchToken = (table: string) =>
  Effect.gen(function*() {
    const workspaceUrl = yield* Config.String("DATABRICKS_WORKSPACE_URL")
    const clientId = yield* Config.String("DATABRICKS_CLIENT_ID")
    const clientSecret = yield* Config.Redacted("DATABRICKS_CLIENT_SECRET")
    const [catalog, schema] = table.split(".")
    const details = [
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
    ]
    const response = yield* HttpClientRequest.post(`${workspaceUrl}/oidc/v1/token`).pipe(
      HttpClientRequest.basicAuth(clientId, clientSecret),
      HttpClientRequest.bodyUrlParams({
        grant_type: "client_credentials",
        scope: "all-apis",
        authorization_details: JSON.stringify(details)
      }),
      HttpClient.execute,
      Effect.flatMap(HttpClientResponse.filterStatusOk),
      Effect.flatMap(HttpClientResponse.schemaBodyJson(TokenResponse))
    )
    yield* Effect.log(`fetched a token for ${table} (expires in ${response.expires_in} s)`)
    return { token: Redacted.make(response.access_token), expiresIn: Duration.seconds(response.expires_in) }
  }).pipe(
    // A provider fails with a ZerobusError; TokenFetchFailed with a cause is retryable.
    Effect.mapError((cause) =>
      ZerobusError.make(new ZerobusError.TokenFetchFailed({ message: `token service: ${cause.message}`, cause }))
    )
  )

/** The provider: a fixed token, or cached tokens from the token service. */
const TokenProvider = Layer.effect(
  HeadersProvider.HeadersProvider,
  Effect.gen(function*() {
    const fixed = yield* Config.option(Config.Redacted("ZEROBUS_TOKEN"))
    if (Option.isSome(fixed)) {
      return HeadersProvider.fixed({ authorization: Redacted.make(`Bearer ${Redacted.value(fixed.value)}`) })
    }
    const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
    const context = yield* Effect.context<HttpClient.HttpClient>()
    // Reuse a token until a minute before it expires; failures are not cached.
    const [cached, invalidate] = yield* Effect.cachedInvalidateWithTTL(
      fetchToken(tableName).pipe(Effect.provideContext(context)),
      (exit) => Exit.isSuccess(exit) ? Duration.subtract(exit.value.expiresIn, Duration.minutes(1)) : Duration.zero
    )
    return HeadersProvider.make((request) =>
      Effect.gen(function*() {
        if (request.refresh) yield* invalidate // the server refused the last token
        const { token } = yield* cached
        return { authorization: Redacted.make(`Bearer ${Redacted.value(token)}`) }
      })
    )
  })
).pipe(Layer.provide(FetchHttpClient.layer))

const program = Effect.gen(function*() {
  const tableName = yield* Zerobus.tableNameFromEnv.pipe(Config.withDefault("main.default.air_quality"))
  const stream = yield* Zerobus.createStream(Table.json(tableName))
  for (let i = 0; i < 5; i++) {
    yield* stream.ingest({ device_name: `sensor-${i}`, temp: 20 + i, humidity: 50 + i })
  }
  yield* stream.flush
  yield* Effect.log(`5 records acknowledged in ${tableName}, with credentials from the custom provider`)
})

// Without clientId/clientSecret, the client takes its credentials from the HeadersProvider service.
const ZerobusClient = Layer.unwrap(
  Effect.map(Config.String("ZEROBUS_SERVER_ENDPOINT"), (endpoint) => Zerobus.layer({ endpoint }))
)

program.pipe(
  Effect.scoped,
  Effect.provide(ZerobusClient.pipe(Layer.provide(TokenProvider))),
  NodeRuntime.runMain
)
