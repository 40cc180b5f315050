/**
 * Why a Zerobus Local server could not start.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The options do not validate.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidOptions extends Schema.TaggedError<InvalidOptions>()("InvalidOptions", {
  message: Schema.String
}) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A server could not listen (port in use, address not available).
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenFailed extends Schema.TaggedError<ListenFailed>()("ListenFailed", {
  server: Schema.Literals(["grpc", "http"]),
  address: Schema.String,
  message: Schema.String
}) {
  /** Always: the port may be free later. */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * The TLS certificate or key cannot be read or used.
 *
 * @since 0.1.0
 * @category errors
 */
export class TlsFailed extends Schema.TaggedError<TlsFailed>()("TlsFailed", { message: Schema.String }) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The storage could not be opened (data directory in use by another server, unreadable, corrupt).
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageFailed extends Schema.TaggedError<StorageFailed>()("StorageFailed", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** Always: the directory may be released or repaired. */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * A server failed to start.
 *
 * @since 0.1.0
 * @category errors
 */
export class ZerobusLocalError extends Schema.TaggedError<ZerobusLocalError>()("ZerobusLocalError", {
  reason: Schema.Union([InvalidOptions, ListenFailed, TlsFailed, StorageFailed])
}) {
  /** The reason's message. */
  override get message(): string {
    return this.reason.message
  }
  /** Whether starting again may work. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}
