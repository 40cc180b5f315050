/**
 * The one error type of effect-zerobus. Every failure is a `ZerobusError` whose `reason` says what
 * went wrong and whether retrying can help (`isRetryable`), following the Zerobus service's gRPC
 * status table: INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, OUT_OF_RANGE and
 * UNIMPLEMENTED are fatal; every other status (including a clean end of the call) is retryable.
 *
 * @since 0.1.0
 */
import { Effect, Predicate, Schema } from "effect"

const TypeId = "~effect-zerobus/ZerobusError" as const
const ReasonTypeId = "~effect-zerobus/ZerobusError/Reason" as const

/**
 * gRPC status codes (numeric values of the gRPC specification).
 *
 * @since 0.1.0
 * @category models
 */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16
} as const

const fatalCodes: ReadonlySet<number> = new Set([
  GrpcCode.INVALID_ARGUMENT,
  GrpcCode.UNAUTHENTICATED,
  GrpcCode.PERMISSION_DENIED,
  GrpcCode.OUT_OF_RANGE,
  GrpcCode.UNIMPLEMENTED,
  GrpcCode.NOT_FOUND
])

/**
 * Whether the service treats a gRPC status code as transient.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetryableCode = (code: number): boolean => !fatalCodes.has(code)

/**
 * A request, record, option, table name or endpoint is invalid, or the server refused a record.
 *
 * @since 0.1.0
 * @category reasons
 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>("effect-zerobus/ZerobusError/InvalidArgument")(
  "InvalidArgument",
  { message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Never retryable: the same input fails again. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The credentials were refused (UNAUTHENTICATED, or the token endpoint answered 4xx).
 *
 * @since 0.1.0
 * @category reasons
 */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>("effect-zerobus/ZerobusError/Unauthenticated")(
  "Unauthenticated",
  { message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Not retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The principal may not write the table (PERMISSION_DENIED).
 *
 * @since 0.1.0
 * @category reasons
 */
export class PermissionDenied
  extends Schema.TaggedError<PermissionDenied>("effect-zerobus/ZerobusError/PermissionDenied")(
    "PermissionDenied",
    { message: Schema.String }
  )
{
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Not retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The table (or another named object) does not exist (NOT_FOUND).
 *
 * @since 0.1.0
 * @category reasons
 */
export class NotFound extends Schema.TaggedError<NotFound>("effect-zerobus/ZerobusError/NotFound")(
  "NotFound",
  { message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Not retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The OAuth token could not be fetched. Retryable for network errors, 429 and 5xx answers;
 * malformed answers and other 4xx are not.
 *
 * @since 0.1.0
 * @category reasons
 */
export class TokenFetchFailed
  extends Schema.TaggedError<TokenFetchFailed>("effect-zerobus/ZerobusError/TokenFetchFailed")(
    "TokenFetchFailed",
    { message: Schema.String, status: Schema.optional(Schema.Number), cause: Schema.optional(Schema.Defect()) }
  )
{
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** True when the failure is transient. @since 0.1.0 */
  get isRetryable(): boolean {
    return this.status === undefined ? this.cause !== undefined : this.status === 429 || this.status >= 500
  }
}

/**
 * An operation did not finish in time: stream creation, flush, wait for an offset, or the server
 * sent no ack for `serverLackOfAckTimeout` (DEADLINE_EXCEEDED).
 *
 * @since 0.1.0
 * @category reasons
 */
export class Timeout extends Schema.TaggedError<Timeout>("effect-zerobus/ZerobusError/Timeout")(
  "Timeout",
  { message: Schema.String, operation: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The stream is closed: by `close`, or after it failed. Use `unackedRecords` and
 * `Zerobus.recreateStream` to continue.
 *
 * @since 0.1.0
 * @category reasons
 */
export class StreamClosed extends Schema.TaggedError<StreamClosed>("effect-zerobus/ZerobusError/StreamClosed")(
  "StreamClosed",
  { message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Not retryable on this stream object. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The connection failed or the server is unavailable (UNAVAILABLE, connection reset, TLS failure).
 *
 * @since 0.1.0
 * @category reasons
 */
export class Unavailable extends Schema.TaggedError<Unavailable>("effect-zerobus/ZerobusError/Unavailable")(
  "Unavailable",
  { message: Schema.String, cause: Schema.optional(Schema.Defect()) }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The server ended the call with another gRPC status (`code`), including a clean end (`0`) while
 * the stream was in use. Retryable unless the code is OUT_OF_RANGE or UNIMPLEMENTED.
 *
 * @since 0.1.0
 * @category reasons
 */
export class ServerError extends Schema.TaggedError<ServerError>("effect-zerobus/ZerobusError/ServerError")(
  "ServerError",
  { message: Schema.String, code: Schema.Number }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Follows the service's status table. @since 0.1.0 */
  get isRetryable(): boolean {
    return isRetryableCode(this.code)
  }
}

/**
 * The server broke the protocol (a missing field, a message out of order). Retryable.
 *
 * @since 0.1.0
 * @category reasons
 */
export class UnexpectedResponse
  extends Schema.TaggedError<UnexpectedResponse>("effect-zerobus/ZerobusError/UnexpectedResponse")(
    "UnexpectedResponse",
    { message: Schema.String }
  )
{
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The operation is not allowed in the stream's current state (e.g. reading unacknowledged
 * records from a stream that is still open).
 *
 * @since 0.1.0
 * @category reasons
 */
export class InvalidState extends Schema.TaggedError<InvalidState>("effect-zerobus/ZerobusError/InvalidState")(
  "InvalidState",
  { message: Schema.String }
) {
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Not retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * Every reason a `ZerobusError` can carry.
 *
 * @since 0.1.0
 * @category models
 */
export type ZerobusErrorReason =
  | InvalidArgument
  | Unauthenticated
  | PermissionDenied
  | NotFound
  | TokenFetchFailed
  | Timeout
  | StreamClosed
  | Unavailable
  | ServerError
  | UnexpectedResponse
  | InvalidState

/**
 * Schema of the reasons.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ZerobusErrorReason = Schema.Union([
  InvalidArgument,
  Unauthenticated,
  PermissionDenied,
  NotFound,
  TokenFetchFailed,
  Timeout,
  StreamClosed,
  Unavailable,
  ServerError,
  UnexpectedResponse,
  InvalidState
])

/**
 * The error of every effect-zerobus operation. Match on `reason._tag` (or use
 * `Effect.catchReason("ZerobusError", ...)`); `isRetryable` says whether trying again can help.
 *
 * @since 0.1.0
 * @category errors
 */
export class ZerobusError extends Schema.TaggedError<ZerobusError>("effect-zerobus/ZerobusError")("ZerobusError", {
  reason: ZerobusErrorReason
}) {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId

  /** The reason, also exposed as the JavaScript error cause. @since 0.1.0 */
  override readonly cause = this.reason

  /** `<reason tag>: <reason message>`. @since 0.1.0 */
  override get message(): string {
    return `${this.reason._tag}: ${this.reason.message}`
  }

  /** Whether retrying can help. @since 0.1.0 */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }

  /** The gRPC status code of the reason, whether the server sent it or the client found the problem. @since 0.1.0 */
  get grpcCode(): number | undefined {
    switch (this.reason._tag) {
      case "InvalidArgument":
        return GrpcCode.INVALID_ARGUMENT
      case "Unauthenticated":
        return GrpcCode.UNAUTHENTICATED
      case "PermissionDenied":
        return GrpcCode.PERMISSION_DENIED
      case "NotFound":
        return GrpcCode.NOT_FOUND
      case "Timeout":
        return GrpcCode.DEADLINE_EXCEEDED
      case "Unavailable":
        return GrpcCode.UNAVAILABLE
      case "ServerError":
        return this.reason.code
      default:
        return undefined
    }
  }
}

/**
 * Whether a value is a `ZerobusError`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isZerobusError = (u: unknown): u is ZerobusError => Predicate.hasProperty(u, TypeId)

/**
 * Whether a value is one of the reasons.
 *
 * @since 0.1.0
 * @category guards
 */
export const isZerobusErrorReason = (u: unknown): u is ZerobusErrorReason => Predicate.hasProperty(u, ReasonTypeId)

/**
 * Wraps a reason.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (reason: ZerobusErrorReason): ZerobusError => new ZerobusError({ reason })

/**
 * An `InvalidArgument` error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalidArgument = (message: string): ZerobusError => make(new InvalidArgument({ message }))

/**
 * A `StreamClosed` error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const streamClosed = (message: string): ZerobusError => make(new StreamClosed({ message }))

/**
 * Maps a gRPC status (code and details) to the matching error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromGrpcStatus = (code: number, details: string): ZerobusError => {
  const message = details.length > 0 ? details : `gRPC status ${code}`
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
      return make(new InvalidArgument({ message }))
    case GrpcCode.UNAUTHENTICATED:
      return make(new Unauthenticated({ message }))
    case GrpcCode.PERMISSION_DENIED:
      return make(new PermissionDenied({ message }))
    case GrpcCode.NOT_FOUND:
      return make(new NotFound({ message }))
    case GrpcCode.DEADLINE_EXCEEDED:
      return make(new Timeout({ message, operation: "server" }))
    case GrpcCode.UNAVAILABLE:
      return make(new Unavailable({ message }))
    default:
      return make(new ServerError({ message, code }))
  }
}

/**
 * Fails with an `InvalidArgument` error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const failInvalidArgument = (message: string): Effect.Effect<never, ZerobusError> =>
  Effect.fail(invalidArgument(message))
