/**
 * Where the call metadata of a stream comes from. Every stream (re)connection asks its provider
 * for headers; the default provider performs OAuth 2.0 client credentials against the workspace's
 * `/oidc/v1/token` endpoint with a token scoped to the table, cached until shortly before it
 * expires. Custom providers (static headers, or any Effect) cover other token sources.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Exit, Layer, Predicate, Redacted, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { parseTableName } from "./internal/endpoint.ts"
import { AUTHORIZATION_HEADER, TABLE_NAME_HEADER } from "./internal/protocol.ts"
import * as ZerobusError from "./ZerobusError.ts"

/**
 * Call metadata. Values may be `Redacted` (tokens); they are unwrapped only when the call is made.
 *
 * @since 0.1.0
 * @category models
 */
export type Headers = Readonly<Record<string, string | Redacted.Redacted<string>>>

/**
 * What a provider is asked for: the headers of a stream to `table`. `refresh` is `true` after the
 * server refused the previous credentials, asking the provider to bypass its caches.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeadersRequest {
  readonly table: string
  readonly refresh: boolean
}

/**
 * A source of call metadata. It must include `authorization`; the client adds
 * `x-databricks-zerobus-table-name` when it is missing and refuses a stream whose header names
 * another table.
 *
 * @since 0.1.0
 * @category services
 */
export class HeadersProvider extends Context.Service<HeadersProvider, {
  readonly getHeaders: (request: HeadersRequest) => Effect.Effect<Headers, ZerobusError.ZerobusError>
}>()("effect-zerobus/HeadersProvider") {}

/**
 * A provider from a function returning an Effect (a secret manager, a token service, ...).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  getHeaders: (request: HeadersRequest) => Effect.Effect<Headers, ZerobusError.ZerobusError>
): HeadersProvider["Service"] => HeadersProvider.of({ getHeaders })

/**
 * A provider that always answers the same headers (plus the table name header).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fixed = (headers: Headers): HeadersProvider["Service"] => make(() => Effect.succeed(headers))

/**
 * Options of the OAuth provider.
 *
 * @since 0.1.0
 * @category models
 */
export interface OAuthOptions {
  /** Service principal application id. */
  readonly clientId: string
  /** Service principal OAuth secret. */
  readonly clientSecret: Redacted.Redacted<string>
  /** Workspace URL; the token endpoint is `{unityCatalogUrl}/oidc/v1/token`. */
  readonly unityCatalogUrl: string
  /** Workspace id named in the token's `resource` (derived from the Zerobus endpoint by `Zerobus`). */
  readonly workspaceId: string
}

const TokenResponse = Schema.Struct({
  access_token: Schema.String,
  token_type: Schema.optional(Schema.String),
  expires_in: Schema.optional(Schema.Number)
})
const decodeTokenResponse = Schema.decodeUnknownEffect(Schema.fromJsonString(TokenResponse))

interface Token {
  readonly value: Redacted.Redacted<string>
  readonly expiresIn: number | undefined
}

/** The privileges a Zerobus write token asks for, keys sorted as the official SDKs send them. */
const authorizationDetails = (catalog: string, schema: string, table: string): string =>
  JSON.stringify([
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
      object_full_path: `${catalog}.${schema}.${table}`,
      object_type: "TABLE",
      operations: ["zerobuswrite"],
      privileges: ["SELECT", "MODIFY"],
      type: "unity_catalog_privileges"
    }
  ])

const tokenFailure = (status: number, body: string): ZerobusError.ZerobusError => {
  const message = `OAuth token request failed (${status}): ${body.slice(0, 500)}`
  return status === 400 || status === 401 || status === 403
    ? ZerobusError.make(new ZerobusError.Unauthenticated({ message }))
    : ZerobusError.make(new ZerobusError.TokenFetchFailed({ message, status }))
}

/** How long a token is reused: until 10% of its lifetime (at most 60 s) before it expires. */
const timeToLive = (exit: Exit.Exit<Token, ZerobusError.ZerobusError>): Duration.Duration => {
  if (Exit.isFailure(exit) || exit.value.expiresIn === undefined) return Duration.zero
  const lifetime = exit.value.expiresIn * 1000
  return Duration.millis(Math.max(0, lifetime - Math.min(60_000, lifetime / 10)))
}

/**
 * The default provider: OAuth 2.0 client credentials, one token per table (scoped to that table
 * with `authorization_details`), reused until shortly before `expires_in`, fetched again on
 * `refresh`. Needs an `HttpClient` (`Zerobus.layer` provides the fetch-based one).
 *
 * @since 0.1.0
 * @category constructors
 */
export const oauth = Effect.fnUntraced(function*(options: OAuthOptions) {
  const client = yield* HttpClient.HttpClient
  const url = `${options.unityCatalogUrl.replace(/\/+$/, "")}/oidc/v1/token`
  const resource = `api://databricks/workspaces/${options.workspaceId}/zerobusDirectWriteApi`

  const fetchToken = Effect.fn("HeadersProvider.fetchToken")(function*(table: string) {
    const name = parseTableName(table)
    if (ZerobusError.isZerobusError(name)) return yield* name
    const request = HttpClientRequest.post(url).pipe(
      HttpClientRequest.basicAuth(options.clientId, options.clientSecret),
      HttpClientRequest.setHeader("accept", "*/*"),
      HttpClientRequest.bodyUrlParams({
        grant_type: "client_credentials",
        scope: "all-apis",
        resource,
        authorization_details: authorizationDetails(name.catalog, name.schema, name.table)
      })
    )
    const response = yield* client.execute(request).pipe(
      Effect.mapError((cause) =>
        ZerobusError.make(
          new ZerobusError.TokenFetchFailed({
            message: `OAuth token request to ${url} failed: ${cause.message}`,
            cause
          })
        )
      )
    )
    const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
    if (response.status < 200 || response.status >= 300) return yield* tokenFailure(response.status, body)
    const decoded = yield* decodeTokenResponse(body).pipe(
      Effect.mapError((error) =>
        ZerobusError.make(
          new ZerobusError.TokenFetchFailed({
            message: `OAuth token response is not valid: ${error.message}`,
            status: response.status
          })
        )
      )
    )
    return { value: Redacted.make(decoded.access_token), expiresIn: decoded.expires_in } satisfies Token
  })

  const caches = new Map<string, readonly [Effect.Effect<Token, ZerobusError.ZerobusError>, Effect.Effect<void>]>()
  const cacheFor = Effect.fnUntraced(function*(table: string) {
    const existing = caches.get(table)
    if (existing !== undefined) return existing
    const created = yield* Effect.cachedInvalidateWithTTL(fetchToken(table), timeToLive)
    caches.set(table, created)
    return created
  })

  return make(Effect.fnUntraced(function*(request: HeadersRequest) {
    const [cached, invalidate] = yield* cacheFor(request.table)
    if (request.refresh) yield* invalidate
    const token = yield* cached
    return {
      [AUTHORIZATION_HEADER]: Redacted.make(`Bearer ${Redacted.value(token.value)}`),
      [TABLE_NAME_HEADER]: request.table
    }
  }))
})

/**
 * A layer with the OAuth provider.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOAuth = (options: OAuthOptions): Layer.Layer<HeadersProvider, never, HttpClient.HttpClient> =>
  Layer.effect(HeadersProvider, oauth(options))

/**
 * A layer with a provider built from a function.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  getHeaders: (request: HeadersRequest) => Effect.Effect<Headers, ZerobusError.ZerobusError>
): Layer.Layer<HeadersProvider> => Layer.succeed(HeadersProvider, make(getHeaders))

/**
 * Unwraps the header values for the wire.
 *
 * @since 0.1.0
 * @category utils
 */
export const reveal = (headers: Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    out[key.toLowerCase()] = Predicate.isString(value) ? value : Redacted.value(value)
  }
  return out
}
