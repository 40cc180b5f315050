/**
 * The error every method of the Promise API throws (or rejects with): a `ZerobusError` instance
 * whose `code` says what went wrong and `isRetryable` whether trying again can help. The official
 * TypeScript SDK throws plain `Error`s; here `error instanceof ZerobusError` always holds for
 * failures of the service, the stream or the arguments.
 *
 * @since 0.1.0
 */
import { Cause, Exit, Option, Predicate, Result } from "effect"
import * as Effect from "../ZerobusError.ts"

const TypeId = "~effect-zerobus/promise/ZerobusError" as const

/**
 * What went wrong: the reason tags of the Effect API's `ZerobusError`.
 *
 * - `InvalidArgument`: a bad record, option, table name or endpoint, or a record the server refused;
 * - `Unauthenticated`, `PermissionDenied`, `NotFound`: the credentials, grants or table;
 * - `TokenFetchFailed`: the OAuth token could not be fetched;
 * - `Timeout`: creation, flush, `waitForOffset` or the server's acks took too long;
 * - `StreamClosed`: the stream is closed (or failed; the failure is in the message);
 * - `Unavailable`, `ServerError`, `UnexpectedResponse`: the connection or the server;
 * - `InvalidState`: the call does not fit the stream's state.
 *
 * @since 0.1.0
 * @category models
 */
export type ZerobusErrorCode = Effect.ZerobusErrorReason["_tag"]

/**
 * The error of the Promise API.
 *
 * @since 0.1.0
 * @category errors
 */
export class ZerobusError extends Error {
  /** @since 0.1.0 */
  readonly [TypeId] = TypeId
  /** What went wrong (see {@link ZerobusErrorCode}). @since 0.1.0 */
  readonly code: ZerobusErrorCode
  /** Whether retrying (on a new stream, for stream failures) can help. @since 0.1.0 */
  readonly isRetryable: boolean
  /** The gRPC status code of the reason, whether the server sent it or the client found the problem. @since 0.1.0 */
  readonly grpcCode: number | undefined
  /** The Effect API's error this one was made from. @since 0.1.0 */
  override readonly cause: Effect.ZerobusError

  /** @since 0.1.0 */
  constructor(cause: Effect.ZerobusError) {
    super(cause.message, { cause })
    this.name = "ZerobusError"
    this.cause = cause
    this.code = cause.reason._tag
    this.isRetryable = cause.isRetryable
    this.grpcCode = cause.grpcCode
  }
}

/**
 * Whether a value is a {@link ZerobusError} of the Promise API.
 *
 * @since 0.1.0
 * @category guards
 */
export const isZerobusError = (u: unknown): u is ZerobusError => Predicate.hasProperty(u, TypeId)

/**
 * An `InvalidArgument` error.
 *
 * @since 0.1.0
 * @category constructors
 */
export const invalidArgument = (message: string): ZerobusError => new ZerobusError(Effect.invalidArgument(message))

/**
 * The value a Promise rejects with for a failed `Exit`: a {@link ZerobusError} for failures of the
 * client, `StreamClosed` for an operation interrupted by `close`, the defect itself otherwise.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromCause = (cause: Cause.Cause<Effect.ZerobusError>): unknown => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) return new ZerobusError(error.value)
  const defect = Cause.findDefect(cause)
  if (Result.isSuccess(defect)) return defect.success
  return new ZerobusError(Effect.streamClosed("The operation was interrupted (the stream or the SDK was closed)"))
}

/**
 * The value of an `Exit`, or throws what {@link fromCause} gives.
 *
 * @since 0.1.0
 * @category conversions
 */
export const getOrThrow = <A>(exit: Exit.Exit<A, Effect.ZerobusError>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw fromCause(exit.cause)
}
