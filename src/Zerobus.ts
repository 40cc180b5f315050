/**
 * The Zerobus client service: one per workspace endpoint, holding one HTTP/2 channel that all of
 * its streams share, and the default credentials.
 *
 * ```ts
 * import { Effect, Redacted } from "effect"
 * import { Table, Zerobus } from "effect-zerobus"
 *
 * const program = Effect.gen(function*() {
 *   const stream = yield* Zerobus.createStream(Table.json("main.default.events"))
 *   yield* stream.ingest({ id: 1, message: "hello" })
 * }) // flushed and closed when the scope closes
 *
 * program.pipe(
 *   Effect.scoped,
 *   Effect.provide(Zerobus.layer({
 *     endpoint: "https://1234567890123456.zerobus.us-west-2.cloud.databricks.com",
 *     unityCatalogUrl: "https://my-workspace.cloud.databricks.com",
 *     clientId: "...",
 *     clientSecret: Redacted.make("...")
 *   }))
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as grpc from "@grpc/grpc-js"
import { Config, Context, Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { FetchHttpClient, HttpClient } from "effect/http"
import * as fs from "node:fs"
import * as HeadersProvider from "./HeadersProvider.ts"
import { type Endpoint, parseEndpoint } from "./internal/endpoint.ts"
import * as Engine from "./internal/stream.ts"
import * as UnityCatalog from "./internal/unityCatalog.ts"
import { version } from "./internal/version.ts"
import * as StreamOptions from "./StreamOptions.ts"
import * as Table from "./Table.ts"
import * as ZerobusError from "./ZerobusError.ts"
import type { ZerobusStream } from "./ZerobusStream.ts"

/**
 * Client options.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Zerobus endpoint, e.g. `https://<workspace-id>.zerobus.<region>.cloud.databricks.com`. No scheme
   * means `https://`; `http://` means plaintext HTTP/2 (Zerobus Local).
   */
  readonly endpoint: string
  /** Workspace URL: OAuth tokens come from `{unityCatalogUrl}/oidc/v1/token`. */
  readonly unityCatalogUrl?: string | undefined
  /** Service principal application id (with `clientSecret`, enables the OAuth provider). */
  readonly clientId?: string | undefined
  /** Service principal OAuth secret. */
  readonly clientSecret?: Redacted.Redacted<string> | undefined
  /** Appended to the `user-agent` of every call (e.g. `"my-app/2.0"`). */
  readonly applicationName?: string | undefined
  /**
   * PEM root certificates trusted for `https://` endpoints (default: the system roots, or the
   * file named by `SSL_CERT_FILE` when set, as the official SDKs do).
   */
  readonly rootCertificates?: string | Uint8Array | undefined
}

/**
 * Options of `createStream`: the stream options, plus a headers provider for this stream
 * (default: the client's credentials, or the `HeadersProvider` service).
 *
 * @since 0.1.0
 * @category models
 */
export interface CreateStreamOptions extends StreamOptions.Input {
  readonly headersProvider?: HeadersProvider.HeadersProvider["Service"] | undefined
}

/**
 * The client.
 *
 * @since 0.1.0
 * @category services
 */
export class Zerobus extends Context.Service<Zerobus, {
  /** The endpoint URL in use (scheme included). */
  readonly endpoint: string
  /** The workspace id derived from the endpoint. */
  readonly workspaceId: string
  /**
   * Opens an ingest stream in the current scope. Creation is retried as the options say; closing
   * the scope flushes and closes the stream.
   */
  readonly createStream: <A>(
    table: Table.Table<A>,
    options?: CreateStreamOptions
  ) => Effect.Effect<ZerobusStream<A>, ZerobusError.ZerobusError, Scope.Scope>
  /**
   * Opens a new stream like `stream` (same table, options and credentials) and queues its
   * unacknowledged requests again, in order and with their batch structure. `stream` must be
   * closed or failed. Offsets on the new stream start at 0.
   */
  readonly recreateStream: <A>(
    stream: ZerobusStream<A>
  ) => Effect.Effect<ZerobusStream<A>, ZerobusError.ZerobusError, Scope.Scope>
}>()("effect-zerobus/Zerobus") {}

const credentialsFor = (endpoint: Endpoint, options: Options): grpc.ChannelCredentials => {
  if (endpoint.plaintext) return grpc.credentials.createInsecure()
  const roots = options.rootCertificates ??
    (process.env.SSL_CERT_FILE !== undefined && fs.existsSync(process.env.SSL_CERT_FILE)
      ? fs.readFileSync(process.env.SSL_CERT_FILE)
      : undefined)
  return grpc.credentials.createSsl(roots === undefined ? null : Buffer.from(roots))
}

const makeMetadata = (headers: Record<string, string>): grpc.Metadata => {
  const metadata = new grpc.Metadata()
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value)
  return metadata
}

/**
 * Builds the client in the current scope (the channel closes with it). Needs an `HttpClient` for
 * OAuth; `layer` provides the fetch-based one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const parsed = parseEndpoint(options.endpoint)
  if (ZerobusError.isZerobusError(parsed)) return yield* parsed
  const endpoint = parsed
  const userAgent = [`effect-zerobus/${version}`, options.applicationName].filter((s) => s !== undefined).join(" ")
  const client = yield* Effect.acquireRelease(
    Effect.sync(() =>
      new grpc.Client(endpoint.target, credentialsFor(endpoint, options), {
        "grpc.primary_user_agent": userAgent,
        "grpc.max_send_message_length": -1,
        "grpc.max_receive_message_length": -1,
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 2_000
      })
    ),
    (channel) => Effect.sync(() => channel.close())
  )

  const http = yield* HttpClient.HttpClient
  let defaultProvider: HeadersProvider.HeadersProvider["Service"] | undefined
  if (options.clientId !== undefined || options.clientSecret !== undefined) {
    if (options.clientId === undefined || options.clientSecret === undefined) {
      return yield* ZerobusError.failInvalidArgument("clientId and clientSecret must be given together")
    }
    if (options.unityCatalogUrl === undefined || options.unityCatalogUrl.length === 0) {
      return yield* ZerobusError.failInvalidArgument("unityCatalogUrl is required for OAuth (clientId/clientSecret)")
    }
    defaultProvider = yield* HeadersProvider.oauth({
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      unityCatalogUrl: options.unityCatalogUrl,
      workspaceId: endpoint.workspaceId
    })
  } else {
    defaultProvider = Option.getOrUndefined(yield* Effect.serviceOption(HeadersProvider.HeadersProvider))
  }

  const open = Effect.fnUntraced(function*<A>(
    table: Table.Table<A>,
    streamOptions: StreamOptions.StreamOptions,
    headers: HeadersProvider.HeadersProvider["Service"]
  ) {
    const valid = yield* Table.validate(table)
    const scope = yield* Scope.Scope
    const streamScope = yield* Scope.fork(scope, "sequential")
    const stream = yield* Engine.make(
      { client, makeMetadata, table: valid, options: streamOptions, headers },
      streamScope
    ).pipe(
      Effect.onError((cause) => Scope.close(streamScope, Exit.failCause(cause)))
    )
    yield* Scope.addFinalizer(
      scope,
      stream.close.pipe(Effect.ignore({ log: "Warn" }), Effect.andThen(Scope.close(streamScope, Exit.void)))
    )
    return stream
  })

  /** A table's Unity Catalog columns, read with the credentials of the stream that needs them. */
  const describeTable = (table: string, headers: HeadersProvider.HeadersProvider["Service"]) =>
    Effect.gen(function*() {
      if (options.unityCatalogUrl === undefined || options.unityCatalogUrl.length === 0) {
        return yield* ZerobusError.failInvalidArgument(
          `unityCatalogUrl is required to describe ${table} from Unity Catalog`
        )
      }
      const provided = HeadersProvider.reveal(yield* headers.getHeaders({ table, refresh: false }))
      const authorization = provided.authorization
      if (authorization === undefined) {
        return yield* ZerobusError.failInvalidArgument("The headers provider gave no authorization header")
      }
      return yield* UnityCatalog.fetchColumns({
        workspaceUrl: options.unityCatalogUrl,
        authorization: Redacted.make(authorization),
        table
      }).pipe(Effect.provideService(HttpClient.HttpClient, http))
    })

  const createStream = Effect.fn("Zerobus.createStream")(function*<A>(
    table: Table.Table<A>,
    createOptions?: CreateStreamOptions
  ) {
    const streamOptions = yield* StreamOptions.resolve(createOptions)
    if (createOptions?.recordType !== undefined && createOptions.recordType !== table.recordType) {
      return yield* ZerobusError.failInvalidArgument(
        `recordType "${createOptions.recordType}" contradicts the table's record type "${table.recordType}"`
      )
    }
    yield* Effect.annotateCurrentSpan({ "zerobus.table": table.name, "zerobus.record_type": table.recordType })
    const headers = createOptions?.headersProvider ?? defaultProvider
    if (headers === undefined) {
      return yield* ZerobusError.failInvalidArgument(
        "No credentials: give the client clientId/clientSecret, provide a HeadersProvider, or pass headersProvider"
      )
    }
    const resolved = table.resolve === undefined
      ? table
      : yield* table.resolve({ describeTable: (name) => describeTable(name, headers) })
    return yield* open(resolved, { ...streamOptions, recordType: resolved.recordType }, headers)
  })

  const recreateStream = Effect.fn("Zerobus.recreateStream")(function*<A>(stream: ZerobusStream<A>) {
    const internals = Engine.internals.get(stream)
    if (internals === undefined) {
      return yield* ZerobusError.failInvalidArgument("recreateStream needs a stream created by this library")
    }
    const state = yield* stream.state
    if (state !== "closed" && state !== "failed") {
      return yield* ZerobusError.make(
        new ZerobusError.InvalidState({
          message: `Cannot recreate a stream that is ${state}; it must be closed or failed`
        })
      )
    }
    const items = internals.items()
    const next = yield* open(stream.table, stream.options, internals.headers)
    const nextInternals = Engine.internals.get(next)
    if (nextInternals !== undefined) {
      for (const item of items) yield* nextInternals.enqueue(item)
    }
    return next
  })

  return Zerobus.of({
    endpoint: endpoint.url,
    workspaceId: endpoint.workspaceId,
    createStream,
    recreateStream
  })
})

/**
 * The client as a layer, with the fetch-based `HttpClient` for OAuth.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Zerobus, ZerobusError.ZerobusError> =>
  Layer.effect(Zerobus, make(options)).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The client from `Config` values (e.g. `Config.String("ZEROBUS_SERVER_ENDPOINT")`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Wrap<Options>
): Layer.Layer<Zerobus, ZerobusError.ZerobusError | Config.ConfigError> =>
  Layer.effect(Zerobus, Effect.flatMap(Config.unwrap(options), make)).pipe(Layer.provide(FetchHttpClient.layer))

/**
 * The environment variables of the official examples.
 *
 * @since 0.1.0
 * @category config
 */
export const env = {
  endpoint: "ZEROBUS_SERVER_ENDPOINT",
  unityCatalogUrl: "DATABRICKS_WORKSPACE_URL",
  clientId: "DATABRICKS_CLIENT_ID",
  clientSecret: "DATABRICKS_CLIENT_SECRET",
  tableName: "ZEROBUS_TABLE_NAME"
} as const

/**
 * The client configured from `ZEROBUS_SERVER_ENDPOINT`, `DATABRICKS_WORKSPACE_URL`,
 * `DATABRICKS_CLIENT_ID` and `DATABRICKS_CLIENT_SECRET` (the secret is read as `Redacted`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<Zerobus, ZerobusError.ZerobusError | Config.ConfigError> = layerConfig(
  Config.all({
    endpoint: Config.String(env.endpoint),
    unityCatalogUrl: Config.String(env.unityCatalogUrl),
    clientId: Config.String(env.clientId),
    clientSecret: Config.Redacted(env.clientSecret)
  })
)

/**
 * The table named by `ZEROBUS_TABLE_NAME`.
 *
 * @since 0.1.0
 * @category config
 */
export const tableNameFromEnv: Config.Config<string> = Config.String(env.tableName)

/**
 * Opens an ingest stream with the `Zerobus` service. Takes a typed `Table`, or the official SDKs'
 * table properties (or just a table name) with `options.recordType` deciding the encoding
 * (default `"proto"`, which needs `descriptorProto`).
 *
 * @since 0.1.0
 * @category accessors
 */
export function createStream<A>(
  table: Table.Table<A>,
  options?: CreateStreamOptions
): Effect.Effect<ZerobusStream<A>, ZerobusError.ZerobusError, Zerobus | Scope.Scope>
export function createStream(
  table: Table.TableProperties | string,
  options?: CreateStreamOptions
): Effect.Effect<ZerobusStream<Table.AnyRecord>, ZerobusError.ZerobusError, Zerobus | Scope.Scope>
export function createStream<A>(
  table: Table.Table<A> | Table.TableProperties | string,
  options?: CreateStreamOptions
): Effect.Effect<ZerobusStream<A> | ZerobusStream<Table.AnyRecord>, ZerobusError.ZerobusError, Zerobus | Scope.Scope> {
  const isTable = (u: Table.Table<A> | Table.TableProperties | string): u is Table.Table<A> => Table.isTable(u)
  return Zerobus.use((
    zerobus
  ): Effect.Effect<
    ZerobusStream<A> | ZerobusStream<Table.AnyRecord>,
    ZerobusError.ZerobusError,
    Scope.Scope
  > =>
    isTable(table)
      ? zerobus.createStream(table, options)
      : zerobus.createStream(
        Table.fromProperties(
          typeof table === "string" ? { tableName: table } : table,
          options?.recordType ?? StreamOptions.defaults.recordType
        ),
        options
      )
  )
}

/**
 * Opens a new stream like a closed or failed one and queues its unacknowledged requests again.
 *
 * @since 0.1.0
 * @category accessors
 */
export const recreateStream = <A>(
  stream: ZerobusStream<A>
): Effect.Effect<ZerobusStream<A>, ZerobusError.ZerobusError, Zerobus | Scope.Scope> =>
  Zerobus.use((zerobus) => zerobus.recreateStream(stream))
