/**
 * The Promise API's option and argument shapes, with the official TypeScript SDK's names, numeric
 * values and defaults, and their conversion to the Effect API's inputs.
 *
 * @since 0.1.0
 */
import { Effect, Predicate, Redacted, Schema } from "effect"
import * as HeadersProviderModule from "../HeadersProvider.ts"
import * as ProtoSchema from "../ProtoSchema.ts"
import type * as StreamOptions from "../StreamOptions.ts"
import * as ZerobusErrorEffect from "../ZerobusError.ts"

/**
 * Record encodings, with the official TypeScript SDK's numeric values (`Json = 0`, `Proto = 1`;
 * not the wire values).
 *
 * @since 0.1.0
 * @category models
 */
export const RecordType = {
  /** JSON records: strings, or objects serialized with `JSON.stringify`. */
  Json: 0,
  /** Protocol Buffers records (the default): bytes, or messages with a static `encode`. */
  Proto: 1
} as const

/**
 * A record encoding: `RecordType.Json` or `RecordType.Proto`.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordType = typeof RecordType[keyof typeof RecordType]

/**
 * The target table: its three-part name and, for protobuf streams, the record message's
 * `DescriptorProto` as base64 (as the official SDK takes it) or as bytes.
 *
 * @since 0.1.0
 * @category models
 */
export interface TableProperties {
  readonly tableName: string
  readonly descriptorProto?: string | Uint8Array | undefined
}

/**
 * Stream options, with the official SDK's names and defaults. Durations are milliseconds.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamConfigurationOptions {
  /** Record encoding. Default `RecordType.Proto`. */
  readonly recordType?: RecordType | undefined
  /** Most requests (one per ingest call) queued or unacknowledged; ingest waits when full. Default 1,000,000. */
  readonly maxInflightRequests?: number | undefined
  /** Retry stream creation and reconnect automatically. Default `true`. */
  readonly recovery?: boolean | undefined
  /** Deadline of one creation attempt. Default 15,000. */
  readonly recoveryTimeoutMs?: number | undefined
  /** Pause between failed creation attempts. Default 2,000. */
  readonly recoveryBackoffMs?: number | undefined
  /** Creation attempts after the first one. Default 4. */
  readonly recoveryRetries?: number | undefined
  /** Deadline of `flush` and `waitForOffset`. Default 300,000. */
  readonly flushTimeoutMs?: number | undefined
  /** Longest silence from the server while requests are unacknowledged. Default 60,000. */
  readonly serverLackOfAckTimeoutMs?: number | undefined
  /**
   * Longest wait for outstanding acks after the server announced the end of a stream, before
   * moving to a new one (`0`: move at once). Default: the duration the server announced.
   */
  readonly streamPausedMaxWaitTimeMs?: number | undefined
  /**
   * Not in the official SDK: how queued requests are coalesced into gRPC messages (see the
   * configuration reference), or `false` for one message per request.
   */
  readonly coalesce?: StreamOptions.Input["coalesce"]
}

/**
 * Options of `new ZerobusSdk(...)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZerobusSdkOptions {
  /** Appended to the `user-agent` of every call (e.g. `"my-app/2.0"`). */
  readonly applicationName?: string | undefined
  /**
   * Not in the official SDK: the lowest level of the client's log lines (stream recoveries are
   * `Info`, failures `Warn`, which every rejected call reports anyway), written with the default
   * Effect logger. Default `"Error"`.
   */
  readonly logLevel?: "None" | "Error" | "Warn" | "Info" | "Debug" | undefined
  /** Not in the official SDK: PEM root certificates trusted for `https://` endpoints. */
  readonly rootCertificates?: string | Uint8Array | undefined
}

/**
 * Headers as a custom provider returns them: `[name, value]` pairs (the official shape) or an
 * object.
 *
 * @since 0.1.0
 * @category models
 */
export type HeaderList = ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>

/**
 * A custom source of call metadata (a personal access token, a token service, ...). Unlike the
 * official SDK, which calls it once per stream, `getHeadersCallback` is called at every connection
 * (the first one and every reconnection), may be async, and gets the table and whether the server
 * refused the previous credentials. It must return `authorization`;
 * `x-databricks-zerobus-table-name` is added when missing.
 *
 * @since 0.1.0
 * @category models
 */
export interface HeadersProvider {
  readonly getHeadersCallback: (
    request: { readonly table: string; readonly refresh: boolean }
  ) => HeaderList | PromiseLike<HeaderList>
}

const Millis = (name: string) =>
  Schema.Int.check(
    Schema.makeFilter((n: number) => n >= 0 || `${name} must be a non-negative number of milliseconds`)
  )

const OptionsSchema = Schema.Struct({
  recordType: Schema.optional(Schema.Literals([RecordType.Json, RecordType.Proto])),
  maxInflightRequests: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  recovery: Schema.optional(Schema.Boolean),
  recoveryTimeoutMs: Schema.optional(Millis("recoveryTimeoutMs")),
  recoveryBackoffMs: Schema.optional(Millis("recoveryBackoffMs")),
  recoveryRetries: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  flushTimeoutMs: Schema.optional(Millis("flushTimeoutMs")),
  serverLackOfAckTimeoutMs: Schema.optional(Millis("serverLackOfAckTimeoutMs")),
  streamPausedMaxWaitTimeMs: Schema.optional(Millis("streamPausedMaxWaitTimeMs"))
})

const decodeOptions = Schema.decodeUnknownEffect(OptionsSchema)

/**
 * Validates official-style options and converts them to the Effect API's stream options. A bad
 * value fails with `InvalidArgument` naming the option.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toStreamOptions = (
  options: StreamConfigurationOptions | undefined
): Effect.Effect<StreamOptions.Input, ZerobusErrorEffect.ZerobusError> =>
  decodeOptions(options ?? {}).pipe(
    Effect.mapError((error) => ZerobusErrorEffect.invalidArgument(`Invalid stream options: ${error.message}`)),
    Effect.map((o): StreamOptions.Input => ({
      recordType: o.recordType === RecordType.Json ? "json" : "proto",
      maxInflightRequests: o.maxInflightRequests,
      recovery: o.recovery,
      recoveryTimeout: o.recoveryTimeoutMs,
      recoveryBackoff: o.recoveryBackoffMs,
      recoveryRetries: o.recoveryRetries,
      flushTimeout: o.flushTimeoutMs,
      serverLackOfAckTimeout: o.serverLackOfAckTimeoutMs,
      streamPausedMaxWaitTime: o.streamPausedMaxWaitTimeMs,
      coalesce: options?.coalesce
    }))
  )

/**
 * The descriptor of `TableProperties` as bytes: base64 is decoded, bytes are kept, and both are
 * checked to be a self-contained `DescriptorProto`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const descriptorBytes = (
  descriptorProto: string | Uint8Array | undefined
): Effect.Effect<Uint8Array | undefined, ZerobusErrorEffect.ZerobusError> =>
  descriptorProto === undefined
    ? Effect.succeed(undefined)
    : ProtoSchema.descriptorFromBytes(descriptorProto).pipe(
      Effect.map((d) => d.descriptorBytes),
      Effect.mapError((error) =>
        ZerobusErrorEffect.invalidArgument(`TableProperties.descriptorProto is invalid: ${error.message}`)
      )
    )

const headerFailure = (message: string, cause?: unknown) =>
  ZerobusErrorEffect.make(
    new ZerobusErrorEffect.TokenFetchFailed(cause === undefined ? { message } : { message, cause })
  )

const toHeaders = (list: unknown): HeadersProviderModule.Headers | ZerobusErrorEffect.ZerobusError => {
  const headers: Record<string, string | Redacted.Redacted<string>> = {}
  if (!Array.isArray(list) && !Predicate.isObject(list)) {
    return ZerobusErrorEffect.invalidArgument(
      "getHeadersCallback must return [name, value] pairs or an object of header values"
    )
  }
  const entries: ReadonlyArray<unknown> = Array.isArray(list) ? list : Object.entries(list)
  for (const entry of entries) {
    if (!Array.isArray(entry) || !Predicate.isString(entry[0]) || !Predicate.isString(entry[1])) {
      return ZerobusErrorEffect.invalidArgument(
        "Every header from getHeadersCallback must be a [name, value] string pair"
      )
    }
    const name = entry[0].toLowerCase()
    headers[name] = name === "authorization" ? Redacted.make(entry[1]) : entry[1]
  }
  if (headers["authorization"] === undefined) {
    return ZerobusErrorEffect.invalidArgument("getHeadersCallback must return an 'authorization' header")
  }
  return headers
}

/**
 * The Effect API's headers provider for a custom provider: the callback runs at every connection;
 * a callback that throws (or rejects) fails the attempt with a retryable `TokenFetchFailed`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromHeadersProvider = (provider: HeadersProvider): HeadersProviderModule.HeadersProvider["Service"] =>
  HeadersProviderModule.make((request) =>
    Effect.tryPromise({
      try: async () => await provider.getHeadersCallback({ table: request.table, refresh: request.refresh }),
      catch: (cause) =>
        headerFailure(
          `getHeadersCallback failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        )
    }).pipe(
      Effect.flatMap((list) => {
        const headers = toHeaders(list)
        return ZerobusErrorEffect.isZerobusError(headers) ? Effect.fail(headers) : Effect.succeed(headers)
      })
    )
  )
