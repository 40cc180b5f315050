/**
 * `zerobus local`: runs Zerobus Local in the foreground, prints how to point clients at it and logs
 * one line per stream event, until SIGINT/SIGTERM.
 *
 * @since 0.1.0
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as LocalConfig from "../local/LocalConfig.ts"
import * as Storage from "../local/Storage.ts"
import * as ZerobusLocal from "../local/ZerobusLocal.ts"

const decodeDuration = Schema.decodeUnknownSync(Schema.DurationFromString)

/** A duration flag: milliseconds, or text such as `5 minutes`. */
const duration = (name: string) =>
  Flag.String(name).pipe(
    Flag.mapTryCatch(
      (text) => /^\d+$/.test(text) ? Duration.millis(Number(text)) : decodeDuration(text),
      () => `--${name} must be milliseconds or a duration such as "5 minutes"`
    ),
    Flag.optional
  )

const flags = {
  host: Flag.String("host").pipe(
    Flag.withDescription("Interface both servers listen on"),
    Flag.withDefault(LocalConfig.defaults.host)
  ),
  port: Flag.Int("port").pipe(
    Flag.withDescription("gRPC port (0: any free port)"),
    Flag.withDefault(LocalConfig.defaults.port)
  ),
  httpPort: Flag.Int("http-port").pipe(
    Flag.withDescription("Workspace HTTP port: OAuth token endpoint and admin API (0: any free port)"),
    Flag.withDefault(LocalConfig.defaults.httpPort)
  ),
  tlsCert: Flag.String("tls-cert").pipe(
    Flag.withDescription("PEM certificate chain: serve gRPC over TLS (with --tls-key)"),
    Flag.optional
  ),
  tlsKey: Flag.String("tls-key").pipe(Flag.withDescription("PEM private key for --tls-cert"), Flag.optional),
  workspaceId: Flag.String("workspace-id").pipe(
    Flag.withDescription("Workspace id accepted in OAuth resource (default: what clients derive from the endpoint)"),
    Flag.optional
  ),
  clientId: Flag.String("client-id").pipe(
    Flag.withDescription("Service principal client id"),
    Flag.withDefault(LocalConfig.defaultClientId)
  ),
  clientSecret: Flag.Redacted("client-secret").pipe(
    Flag.withDescription("Service principal secret (or ZEROBUS_LOCAL_CLIENT_SECRET)"),
    Flag.withFallbackConfig(Config.Redacted("ZEROBUS_LOCAL_CLIENT_SECRET")),
    Flag.optional
  ),
  streamLifetime: duration("stream-lifetime").pipe(
    Flag.withDescription("Rotate streams after this long: CloseStreamSignal, then ABORTED 6002 (default: never)")
  ),
  rotationNotice: duration("rotation-notice").pipe(
    Flag.withDescription("Notice given by the rotation CloseStreamSignal (default 5 seconds)")
  ),
  storage: Flag.Literals("storage", ["memory", "discard"]).pipe(
    Flag.withDescription("memory: keep every record; discard: keep nothing (benchmarks)"),
    Flag.withDefault("memory")
  )
}

/** Parsed flags of `zerobus local`. */
type LocalFlags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

/**
 * Server options from the command line.
 *
 * @since 0.1.0
 * @category options
 */
export const toOptions = (input: LocalFlags): ZerobusLocal.Options => ({
  host: input.host,
  port: input.port,
  httpPort: input.httpPort,
  ...(Option.isSome(input.tlsCert) || Option.isSome(input.tlsKey)
    ? {
      tls: { certFile: Option.getOrElse(input.tlsCert, () => ""), keyFile: Option.getOrElse(input.tlsKey, () => "") }
    }
    : {}),
  ...(Option.isSome(input.workspaceId) ? { workspaceId: input.workspaceId.value } : {}),
  principals: [{
    clientId: input.clientId,
    clientSecret: Option.getOrElse(input.clientSecret, () => Redacted.make(LocalConfig.defaultClientSecret))
  }],
  ...(Option.isSome(input.streamLifetime) ? { streamLifetime: input.streamLifetime.value } : {}),
  ...(Option.isSome(input.rotationNotice) ? { rotationNotice: input.rotationNotice.value } : {})
})

/**
 * The banner: endpoints, credentials and the environment variables to export. The secret is
 * printed only when it is the public development default.
 *
 * @since 0.1.0
 * @category output
 */
export const banner = (local: ZerobusLocal.ZerobusLocal["Service"], storage: string): string => {
  const isDefaultSecret = Redacted.value(local.clientSecret) === LocalConfig.defaultClientSecret
  const secret = isDefaultSecret ? LocalConfig.defaultClientSecret : "<the secret you passed>"
  return [
    `Zerobus Local is running (storage: ${storage}).`,
    `  gRPC endpoint:  ${local.endpoint}`,
    `  Workspace URL:  ${local.workspaceUrl}`,
    `  Token endpoint: ${local.tokenUrl}`,
    `  Workspace id:   ${local.workspaceIds.join(", ")}`,
    `  Client id:      ${local.clientId}`,
    `  Client secret:  ${secret}${isDefaultSecret ? " (development default)" : ""}`,
    `  Admin API:      ${local.workspaceUrl}/admin/stats`,
    "",
    "Point a Zerobus client at it:",
    `export ZEROBUS_SERVER_ENDPOINT=${local.endpoint}`,
    `export DATABRICKS_WORKSPACE_URL=${local.workspaceUrl}`,
    `export DATABRICKS_CLIENT_ID=${local.clientId}`,
    `export DATABRICKS_CLIENT_SECRET=${secret}`,
    "export no_grpc_proxy=127.0.0.1,localhost no_proxy=127.0.0.1,localhost",
    "",
    "Press Ctrl+C to stop."
  ].join("\n")
}

const storageLayer = (name: "memory" | "discard"): Layer.Layer<Storage.Storage> =>
  name === "discard" ? Storage.layerDiscard : Storage.layerMemory

/**
 * The `local` subcommand.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("local", flags, (input) =>
  Effect.gen(function*() {
    const local = yield* ZerobusLocal.make(toOptions(input)).pipe(Effect.provide(storageLayer(input.storage)))
    yield* Console.log(banner(local, input.storage))
    yield* Effect.addFinalizer(() => Console.log("Zerobus Local stopped."))
    return yield* Effect.never
  }).pipe(Effect.scoped)).pipe(
    Command.withDescription(
      "Run Zerobus Local: a Zerobus-compatible gRPC server with an OAuth token endpoint, for development and tests"
    )
  )
