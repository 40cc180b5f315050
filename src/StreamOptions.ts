/**
 * Options of an ingest stream, with the official SDKs' names and defaults. Durations accept
 * milliseconds, strings such as `"5 seconds"`, or `Duration` values. Input is validated with
 * Schema: a bad option fails `createStream` with an `InvalidArgument` naming it.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Schedule, Schema } from "effect"
import { MAX_REQUEST_BYTES, type RecordFormat } from "./internal/protocol.ts"
import * as ZerobusError from "./ZerobusError.ts"

/**
 * How records are encoded on the wire: `"proto"` (the default, as in every official SDK) or
 * `"json"`.
 *
 * @since 0.1.0
 * @category models
 */
export type RecordType = RecordFormat

/**
 * Coalescing of queued requests into one gRPC message (see the performance guide). Several
 * queued `ingest`/`ingestBatch` calls travel as one `ingest_record_batch` message of at most
 * `maxRecords` records and `maxBytes` payload bytes; each call keeps its own logical offset. The
 * records of one message are acknowledged, or refused, together.
 *
 * @since 0.1.0
 * @category models
 */
export interface Coalescing {
  /** Most records in one message. Default 1,000. */
  readonly maxRecords: number
  /** Most payload bytes in one message. Default 4 MiB. */
  readonly maxBytes: number
  /** How long the sender waits for more records before sending a partial message. Default 0. */
  readonly linger: Duration.Duration
}

/**
 * Resolved options of a stream (every field set).
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  /** Most requests (one per `ingest`/`ingestBatch` call) queued or unacknowledged. Default 1,000,000. */
  readonly maxInflightRequests: number
  /** Retry stream creation and reconnect automatically. Default `true`. */
  readonly recovery: boolean
  /** Deadline of one creation attempt (token, connection, server reply). Default 15 s. */
  readonly recoveryTimeout: Duration.Duration
  /** Pause between failed creation attempts. Default 2 s. */
  readonly recoveryBackoff: Duration.Duration
  /** Attempts after the first one. Default 4. */
  readonly recoveryRetries: number
  /** Replaces `recoveryBackoff`/`recoveryRetries` when set: paces and bounds creation retries. */
  readonly recoverySchedule: Schedule.Schedule<unknown, ZerobusError.ZerobusError> | undefined
  /** Deadline of `flush` and `waitForOffset`. Default 300 s. */
  readonly flushTimeout: Duration.Duration
  /** Longest silence from the server while requests are unacknowledged. Default 60 s. */
  readonly serverLackOfAckTimeout: Duration.Duration
  /** Record encoding. Default `"proto"`. */
  readonly recordType: RecordType
  /**
   * Longest wait for outstanding acks after the server's CloseStreamSignal before moving to a new
   * stream. Default: the duration the server announced.
   */
  readonly streamPausedMaxWaitTime: Duration.Duration | undefined
  /** Wire coalescing, or `false` to send one message per call. */
  readonly coalesce: Coalescing | false
}

/**
 * A duration as options accept it: milliseconds, a string such as `"5 seconds"`, or a `Duration`.
 *
 * @since 0.1.0
 * @category models
 */
export type DurationInput = number | `${number} ${Duration.Unit}` | Duration.Duration

/**
 * Options as users write them: every field optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Input {
  readonly maxInflightRequests?: number | undefined
  readonly recovery?: boolean | undefined
  readonly recoveryTimeout?: DurationInput | undefined
  readonly recoveryBackoff?: DurationInput | undefined
  readonly recoveryRetries?: number | undefined
  readonly recoverySchedule?: Schedule.Schedule<unknown, ZerobusError.ZerobusError> | undefined
  readonly flushTimeout?: DurationInput | undefined
  readonly serverLackOfAckTimeout?: DurationInput | undefined
  readonly recordType?: RecordType | undefined
  readonly streamPausedMaxWaitTime?: DurationInput | undefined
  readonly coalesce?:
    | false
    | {
      readonly maxRecords?: number | undefined
      readonly maxBytes?: number | undefined
      readonly linger?: DurationInput | undefined
    }
    | undefined
}

/** Coalescing used when `coalesce` is not `false`, field by field. */
const defaultCoalescing: Coalescing = { maxRecords: 1_000, maxBytes: 4 * 1024 * 1024, linger: Duration.zero }

/**
 * The defaults (those of the official SDKs).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: StreamOptions = {
  maxInflightRequests: 1_000_000,
  recovery: true,
  recoveryTimeout: Duration.seconds(15),
  recoveryBackoff: Duration.seconds(2),
  recoveryRetries: 4,
  recoverySchedule: undefined,
  flushTimeout: Duration.seconds(300),
  serverLackOfAckTimeout: Duration.seconds(60),
  recordType: "proto",
  streamPausedMaxWaitTime: undefined,
  coalesce: defaultCoalescing
}

/**
 * The largest request payload (sum of record bytes) the client sends: 10 MiB minus 64 KiB of room
 * for framing. Larger records are refused with `InvalidArgument` before anything is sent.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxRequestBytes = MAX_REQUEST_BYTES - 64 * 1024

const DurationInput = Schema.Union([Schema.Duration, Schema.DurationFromMillis, Schema.DurationFromString]).check(
  Schema.makeFilter((d: Duration.Duration) => !Duration.isNegative(d) || "expected a non-negative duration")
)

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

const InputSchema = Schema.Struct({
  maxInflightRequests: Schema.optional(PositiveInt),
  recovery: Schema.optional(Schema.Boolean),
  recoveryTimeout: Schema.optional(DurationInput),
  recoveryBackoff: Schema.optional(DurationInput),
  recoveryRetries: Schema.optional(NonNegativeInt),
  recoverySchedule: Schema.optional(
    Schema.declare(Schedule.isSchedule, { expected: "a Schedule" })
  ),
  flushTimeout: Schema.optional(DurationInput),
  serverLackOfAckTimeout: Schema.optional(DurationInput),
  recordType: Schema.optional(Schema.Literals(["proto", "json"])),
  streamPausedMaxWaitTime: Schema.optional(DurationInput),
  coalesce: Schema.optional(Schema.Union([
    Schema.Literal(false),
    Schema.Struct({
      maxRecords: Schema.optional(PositiveInt),
      maxBytes: Schema.optional(PositiveInt.check(Schema.isLessThanOrEqualTo(maxRequestBytes))),
      linger: Schema.optional(DurationInput)
    })
  ]))
})

const decodeInput = Schema.decodeUnknownEffect(InputSchema)

/**
 * Validates user options and fills in the defaults. Unknown keys are ignored; a wrong value fails
 * with `InvalidArgument` naming the option.
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (input: Input | undefined): Effect.Effect<StreamOptions, ZerobusError.ZerobusError> =>
  decodeInput(input ?? {}).pipe(
    Effect.mapError((error) => ZerobusError.invalidArgument(`Invalid stream options: ${error.message}`)),
    Effect.map((o): StreamOptions => ({
      maxInflightRequests: o.maxInflightRequests ?? defaults.maxInflightRequests,
      recovery: o.recovery ?? defaults.recovery,
      recoveryTimeout: o.recoveryTimeout ?? defaults.recoveryTimeout,
      recoveryBackoff: o.recoveryBackoff ?? defaults.recoveryBackoff,
      recoveryRetries: o.recoveryRetries ?? defaults.recoveryRetries,
      recoverySchedule: input?.recoverySchedule,
      flushTimeout: o.flushTimeout ?? defaults.flushTimeout,
      serverLackOfAckTimeout: o.serverLackOfAckTimeout ?? defaults.serverLackOfAckTimeout,
      recordType: o.recordType ?? defaults.recordType,
      streamPausedMaxWaitTime: o.streamPausedMaxWaitTime,
      coalesce: o.coalesce === false ? false : {
        maxRecords: o.coalesce?.maxRecords ?? defaultCoalescing.maxRecords,
        maxBytes: o.coalesce?.maxBytes ?? defaultCoalescing.maxBytes,
        linger: o.coalesce?.linger ?? defaultCoalescing.linger
      }
    }))
  )
