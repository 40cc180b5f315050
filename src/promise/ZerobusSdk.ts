/**
 * The entry point of the Promise API, shaped like the official TypeScript SDK's `ZerobusSdk`. Each
 * instance runs the Effect client in its own `ManagedRuntime` (one HTTP/2 channel shared by its
 * streams); `close()` releases it.
 *
 * @since 0.1.0
 */
import { Effect, Exit, Layer, type LogLevel, ManagedRuntime, Predicate, Redacted, References, Scope } from "effect"
import { FetchHttpClient, type HttpClient } from "effect/http"
import * as Crypto from "node:crypto"
import * as HeadersProviderModule from "../HeadersProvider.ts"
import { parseEndpoint } from "../internal/endpoint.ts"
import * as Table from "../Table.ts"
import * as Zerobus from "../Zerobus.ts"
import * as ZerobusErrorEffect from "../ZerobusError.ts"
import type { ZerobusStream as EffectStream } from "../ZerobusStream.ts"
import {
  descriptorBytes,
  fromHeadersProvider,
  type HeadersProvider,
  type StreamConfigurationOptions,
  type TableProperties,
  toStreamOptions,
  type ZerobusSdkOptions
} from "./options.ts"
import { fromCause, invalidArgument, ZerobusError } from "./ZerobusError.ts"
import { handles, ZerobusStream } from "./ZerobusStream.ts"

type Services = Zerobus.Zerobus | HttpClient.HttpClient

const required = (value: unknown, name: string): string => {
  if (!Predicate.isString(value)) {
    throw invalidArgument(`${name} must be a string`)
  }
  return value
}

/**
 * The SDK: creates and recreates ingest streams.
 *
 * ```ts
 * import { RecordType, ZerobusSdk } from "effect-zerobus/promise"
 *
 * const sdk = new ZerobusSdk(process.env.ZEROBUS_SERVER_ENDPOINT!, process.env.DATABRICKS_WORKSPACE_URL!)
 * const stream = await sdk.createStream(
 *   { tableName: "main.default.events" },
 *   process.env.DATABRICKS_CLIENT_ID!,
 *   process.env.DATABRICKS_CLIENT_SECRET!,
 *   { recordType: RecordType.Json }
 * )
 * try {
 *   await stream.ingestRecordOffset({ id: 1, message: "hello" })
 *   await stream.flush()
 * } finally {
 *   await stream.close()
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export class ZerobusSdk {
  readonly #runtime: ManagedRuntime.ManagedRuntime<Services, ZerobusErrorEffect.ZerobusError>
  readonly #unityCatalogUrl: string
  readonly #workspaceId: string
  readonly #logLevel: LogLevel.LogLevel
  readonly #providers = new Map<string, HeadersProviderModule.HeadersProvider["Service"]>()
  readonly #streams = new Set<ZerobusStream>()
  #closed: Promise<void> | undefined = undefined

  /**
   * @param zerobusEndpoint The Zerobus endpoint, `https://<workspace-id>.zerobus.<region>.cloud.databricks.com`
   *   (no scheme means `https://`; `http://` means plaintext, e.g. Zerobus Local).
   * @param unityCatalogUrl The workspace URL; OAuth tokens come from `{unityCatalogUrl}/oidc/v1/token`.
   *   May be `""` when every stream uses a custom headers provider.
   * @throws ZerobusError (`InvalidArgument`) for an endpoint that is not a URL.
   * @since 0.1.0
   */
  constructor(zerobusEndpoint: string, unityCatalogUrl: string, options?: ZerobusSdkOptions) {
    const endpoint = parseEndpoint(required(zerobusEndpoint, "zerobusEndpoint"))
    if (ZerobusErrorEffect.isZerobusError(endpoint)) throw new ZerobusError(endpoint)
    this.#unityCatalogUrl = required(unityCatalogUrl, "unityCatalogUrl")
    this.#workspaceId = endpoint.workspaceId
    this.#logLevel = options?.logLevel ?? "Error"
    const client = Zerobus.layer({
      endpoint: endpoint.url,
      unityCatalogUrl: this.#unityCatalogUrl,
      applicationName: options?.applicationName,
      rootCertificates: options?.rootCertificates
    })
    this.#runtime = ManagedRuntime.make(
      Layer.mergeAll(client, FetchHttpClient.layer).pipe(
        Layer.provideMerge(Layer.succeed(References.MinimumLogLevel, this.#logLevel))
      )
    )
  }

  /** The OAuth provider for a service principal, shared by the streams that use it (one token cache). */
  #oauth(clientId: string, clientSecret: string) {
    return Effect.gen({ self: this }, function*() {
      if (clientId.length === 0 || clientSecret.length === 0) {
        return yield* ZerobusErrorEffect.failInvalidArgument(
          "clientId and clientSecret are required (or pass a headers provider)"
        )
      }
      if (this.#unityCatalogUrl.length === 0) {
        return yield* ZerobusErrorEffect.failInvalidArgument(
          "unityCatalogUrl is required for OAuth (clientId/clientSecret)"
        )
      }
      const key = Crypto.createHash("sha256").update(`${clientId}\n${clientSecret}`).digest("base64")
      const existing = this.#providers.get(key)
      if (existing !== undefined) return existing
      const provider = yield* HeadersProviderModule.oauth({
        clientId,
        clientSecret: Redacted.make(clientSecret),
        unityCatalogUrl: this.#unityCatalogUrl,
        workspaceId: this.#workspaceId
      })
      this.#providers.set(key, provider)
      return provider
    })
  }

  /** Runs `open` in a new scope and wraps the stream it opens; the scope closes if it fails. */
  async #open(
    open: Effect.Effect<
      EffectStream<Table.AnyRecord>,
      ZerobusErrorEffect.ZerobusError,
      Services | Scope.Scope
    >
  ): Promise<ZerobusStream> {
    if (this.#closed !== undefined) {
      throw new ZerobusError(ZerobusErrorEffect.streamClosed("The SDK is closed"))
    }
    const scope = Scope.makeUnsafe("sequential")
    const exit = await this.#runtime.runPromiseExit(Scope.provide(open, scope))
    if (Exit.isFailure(exit)) {
      await Effect.runPromise(
        Scope.close(scope, exit).pipe(Effect.provideService(References.MinimumLogLevel, this.#logLevel))
      )
      throw fromCause(exit.cause)
    }
    const stream = new ZerobusStream({
      inner: exit.value,
      scope,
      logLevel: this.#logLevel,
      onClosed: (closed) => this.#streams.delete(closed)
    })
    this.#streams.add(stream)
    return stream
  }

  /**
   * Opens an ingest stream. Credentials are the service principal's OAuth client id and secret
   * (tokens are cached until shortly before they expire), or a custom `headersProvider`, in which
   * case `clientId` and `clientSecret` are ignored.
   *
   * @throws ZerobusError `InvalidArgument` for bad properties or options (e.g. a proto stream without
   *   `descriptorProto`), or the creation error after the retries the options allow.
   * @since 0.1.0
   */
  createStream(
    tableProperties: TableProperties,
    clientId: string,
    clientSecret: string,
    options?: StreamConfigurationOptions,
    headersProvider?: HeadersProvider
  ): Promise<ZerobusStream> {
    return this.#open(Effect.gen({ self: this }, function*() {
      if (!Predicate.isObject(tableProperties) || !Predicate.isString(tableProperties.tableName)) {
        return yield* ZerobusErrorEffect.failInvalidArgument("tableProperties.tableName must be a string")
      }
      const streamOptions = yield* toStreamOptions(options)
      const descriptor = yield* descriptorBytes(tableProperties.descriptorProto)
      const headers = headersProvider === undefined
        ? yield* this.#oauth(String(clientId), String(clientSecret))
        : fromHeadersProvider(headersProvider)
      return yield* Zerobus.createStream(
        { tableName: tableProperties.tableName, descriptorProto: descriptor },
        { ...streamOptions, headersProvider: headers }
      )
    }))
  }

  /**
   * `createStream` with a custom headers provider (the Rust SDK's
   * `create_stream_with_headers_provider`).
   *
   * @since 0.1.0
   */
  createStreamWithHeadersProvider(
    tableProperties: TableProperties,
    headersProvider: HeadersProvider,
    options?: StreamConfigurationOptions
  ): Promise<ZerobusStream> {
    return this.createStream(tableProperties, "", "", options, headersProvider)
  }

  /**
   * Opens a new stream like `stream` (same table, options and credentials) and queues its
   * unacknowledged records again, in order and with their batch structure. `stream` must have
   * failed or been closed; unlike the official SDK, a closed stream works too. Offsets on the new
   * stream start at 0.
   *
   * @since 0.1.0
   */
  recreateStream(stream: ZerobusStream): Promise<ZerobusStream> {
    const handle = handles.get(stream)
    if (handle === undefined) {
      return Promise.reject(invalidArgument("recreateStream needs a stream created by a ZerobusSdk"))
    }
    return this.#open(Effect.flatMap(Zerobus.Zerobus, (zerobus) => zerobus.recreateStream(handle.inner)))
  }

  /**
   * Not in the official SDK: closes every open stream (flushing what it can), then the channel.
   * Idempotent.
   *
   * @since 0.1.0
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.allSettled([...this.#streams].map((stream) => stream.close()))
      await this.#runtime.dispose()
    })()
    return this.#closed
  }

  /** `close()`, for `await using`. @since 0.1.0 */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
