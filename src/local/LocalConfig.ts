/**
 * Options of a Zerobus Local server, their defaults and their validation.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { MAX_REQUEST_BYTES } from "../internal/protocol.ts"
import { isTablePattern, type Principal } from "./Auth.ts"
import { DurationInput } from "./internal/schema.ts"

/**
 * Default service principal id (development only).
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultClientId = "zerobus-local"

/**
 * Default service principal secret (development only: it is public).
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaultClientSecret = "zerobus-local-secret"

/**
 * Defaults of every option.
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  host: "127.0.0.1",
  port: 0,
  httpPort: 0,
  tokenTtl: Duration.seconds(3600),
  rotationNotice: Duration.seconds(5),
  maxRequestBytes: MAX_REQUEST_BYTES
} as const

const Secret = Schema.Union([Schema.Redacted(Schema.String), Schema.RedactedFromValue(Schema.String)])

/**
 * A service principal in the options: secret as a string or `Redacted`; `tables` limits it to
 * table patterns (`catalog.schema.table`, `*` for any part; default every table).
 *
 * @since 0.1.0
 * @category schemas
 */
export const PrincipalOptions = Schema.Struct({
  clientId: Schema.NonEmptyString,
  clientSecret: Secret,
  tables: Schema.optional(Schema.Array(
    Schema.String.check(Schema.makeFilter((s: string) => isTablePattern(s), {
      expected: "a table pattern such as main.default.events or main.*.*"
    }))
  ))
})

/**
 * Server options (see `docs/local.md` for each one). Every field is optional.
 *
 * @since 0.1.0
 * @category schemas
 */
export const OptionsSchema = Schema.Struct({
  /** Interface both servers listen on. Default `127.0.0.1`. */
  host: Schema.optional(Schema.NonEmptyString),
  /** gRPC port; 0 picks a free one. Default 0. */
  port: Schema.optional(Schema.Port),
  /** Workspace HTTP port (OIDC, admin); 0 picks a free one. Default 0. */
  httpPort: Schema.optional(Schema.Port),
  /** Serve gRPC over TLS (ALPN h2) with this PEM certificate chain and key. Default off. */
  tls: Schema.optional(Schema.Struct({ certFile: Schema.NonEmptyString, keyFile: Schema.NonEmptyString })),
  /** Workspace id for the OAuth `resource`; default: what official clients derive from the endpoint. */
  workspaceId: Schema.optional(Schema.NonEmptyString),
  /** Service principals. Default one: `zerobus-local` / `zerobus-local-secret`, every table. */
  principals: Schema.optional(Schema.Array(PrincipalOptions).check(Schema.isMinLength(1))),
  /** HMAC key for tokens; default derived from the principals' ids and secrets. */
  tokenSigningKey: Schema.optional(Secret),
  /** Token lifetime (`expires_in`). Default 3600 s. */
  tokenTtl: Schema.optional(DurationInput),
  /** Rotate streams after this long (CloseStreamSignal, then ABORTED 6002). Default off. */
  streamLifetime: Schema.optional(DurationInput),
  /** Notice given by the rotation CloseStreamSignal. Default 5 s. */
  rotationNotice: Schema.optional(DurationInput),
  /** Largest request accepted, in bytes. Default 10 MiB. */
  maxRequestBytes: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Minimum level of the server's logs (stream events are logged at Info). Default: the caller's. */
  logLevel: Schema.optional(Schema.Literals(["All", "Fatal", "Error", "Warn", "Info", "Debug", "Trace", "None"]))
})

/**
 * Options as callers write them.
 *
 * @since 0.1.0
 * @category models
 */
export type Options = typeof OptionsSchema.Encoded

/**
 * Options with every default applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolvedConfig {
  readonly host: string
  readonly port: number
  readonly httpPort: number
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined
  readonly workspaceId: string | undefined
  readonly principals: ReadonlyArray<Principal>
  readonly tokenSigningKey: Redacted.Redacted<string> | undefined
  readonly tokenTtl: Duration.Duration
  readonly streamLifetime: Duration.Duration | undefined
  readonly rotationNotice: Duration.Duration
  readonly maxRequestBytes: number
  readonly logLevel: LogLevel.LogLevel | undefined
}

/**
 * Validates options and applies the defaults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (options: Options | undefined): Effect.Effect<ResolvedConfig, Schema.SchemaError> =>
  Effect.map(Schema.decodeUnknownEffect(OptionsSchema)(options ?? {}), (o): ResolvedConfig => ({
    host: o.host ?? defaults.host,
    port: o.port ?? defaults.port,
    httpPort: o.httpPort ?? defaults.httpPort,
    tls: o.tls,
    workspaceId: o.workspaceId,
    principals: (o.principals ?? [{ clientId: defaultClientId, clientSecret: Redacted.make(defaultClientSecret) }])
      .map((p) => ({ clientId: p.clientId, clientSecret: p.clientSecret, tables: p.tables ?? ["*.*.*"] })),
    tokenSigningKey: o.tokenSigningKey,
    tokenTtl: o.tokenTtl ?? defaults.tokenTtl,
    streamLifetime: o.streamLifetime,
    rotationNotice: o.rotationNotice ?? defaults.rotationNotice,
    maxRequestBytes: o.maxRequestBytes ?? defaults.maxRequestBytes,
    logLevel: o.logLevel
  }))

/**
 * The workspace ids official clients derive from an endpoint: the text after the scheme up to the
 * first `.` (`127` for `http://127.0.0.1:PORT`, `localhost:PORT` for `http://localhost:PORT`).
 *
 * @since 0.1.0
 * @category workspace
 */
export const workspaceIdOf = (endpoint: string): string => {
  const rest = endpoint.replace(/^[a-z]+:\/\//i, "")
  const dot = rest.indexOf(".")
  return dot < 0 ? rest.replace(/\/.*$/, "") : rest.slice(0, dot)
}

/**
 * Workspace ids accepted in token requests: the configured one, or else the one derived from the
 * gRPC endpoint, plus the ids derived from `localhost` and `127.0.0.1` endpoints on the same port
 * when the server listens on a loopback or wildcard address.
 *
 * @since 0.1.0
 * @category workspace
 */
export const acceptedWorkspaceIds = (config: ResolvedConfig, endpoint: string, grpcPort: number): Array<string> => {
  if (config.workspaceId !== undefined) return [config.workspaceId]
  const ids = new Set([workspaceIdOf(endpoint)])
  if (["127.0.0.1", "localhost", "0.0.0.0", "::", "::1"].includes(config.host)) {
    ids.add("127")
    ids.add(`localhost:${grpcPort}`)
  }
  return [...ids]
}
