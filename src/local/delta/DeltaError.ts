/**
 * The one error of Zerobus Local's Delta storage. Each reason says whether a retry can help.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { DeltaSchemaError } from "../../internal/delta/DeltaSchemaError.ts"

const TypeId = "~effect-zerobus/local/delta/DeltaError" as const

/** The table (or a file it needs) does not exist. */
export class NotFound extends Schema.TaggedError<NotFound>("effect-zerobus/local/delta/NotFound")("NotFound", {
  message: Schema.String
}) {
  /** Never: retrying does not create the table. */
  get isRetryable(): boolean {
    return false
  }
}

/** The table already exists (creation only). */
export class AlreadyExists
  extends Schema.TaggedError<AlreadyExists>("effect-zerobus/local/delta/AlreadyExists")("AlreadyExists", {
    message: Schema.String
  })
{
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * Bad input: a schema, a descriptor or a record that does not fit the table. `column` names the
 * offending column (dotted path) when there is one; `index` is the record's position in its request;
 * `cause` is the schema check's own error, when one found the problem.
 */
export class InvalidArgument
  extends Schema.TaggedError<InvalidArgument>("effect-zerobus/local/delta/InvalidArgument")("InvalidArgument", {
    message: Schema.String,
    column: Schema.optional(Schema.String),
    index: Schema.optional(Schema.Int),
    cause: Schema.optional(DeltaSchemaError)
  })
{
  /** Never: the same input fails again. */
  get isRetryable(): boolean {
    return false
  }
}

/** A file-system operation failed (`operation` on `path`). */
export class Io extends Schema.TaggedError<Io>("effect-zerobus/local/delta/Io")("Io", {
  operation: Schema.String,
  path: Schema.String,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** Yes: after the cause is fixed (space, permissions) or the server restarts, a retry can succeed. */
  get isRetryable(): boolean {
    return true
  }
}

/** Stored state cannot be read: a damaged WAL segment, commit or checkpoint. */
export class Corrupt extends Schema.TaggedError<Corrupt>("effect-zerobus/local/delta/Corrupt")("Corrupt", {
  path: Schema.String,
  message: Schema.String
}) {
  /** Never: the data must be repaired first. */
  get isRetryable(): boolean {
    return false
  }
}

/** Someone else changed the table in a way this writer cannot follow (protocol, schema, too many races). */
export class Conflict extends Schema.TaggedError<Conflict>("effect-zerobus/local/delta/Conflict")("Conflict", {
  message: Schema.String
}) {
  /** Yes: a fresh writer re-reads the table. */
  get isRetryable(): boolean {
    return true
  }
}

/** The storage was closed or failed earlier and accepts nothing more. */
export class Closed extends Schema.TaggedError<Closed>("effect-zerobus/local/delta/Closed")("Closed", {
  message: Schema.String
}) {
  /** Yes: a restarted server accepts records again. */
  get isRetryable(): boolean {
    return true
  }
}

/** Why a storage operation failed. */
export const DeltaErrorReason = Schema.Union([
  NotFound,
  AlreadyExists,
  InvalidArgument,
  Io,
  Corrupt,
  Conflict,
  Closed
])

/** Why a storage operation failed. */
export type DeltaErrorReason = typeof DeltaErrorReason.Type

/** A failed Delta storage operation. */
export class DeltaError extends Schema.TaggedError<DeltaError>("effect-zerobus/local/delta/DeltaError")("DeltaError", {
  reason: DeltaErrorReason
}) {
  /** Marks the value for {@link isDeltaError}. */
  readonly [TypeId] = TypeId

  /** The reason, as the JavaScript error cause. */
  override readonly cause = this.reason

  /** The reason's message. */
  override get message(): string {
    return this.reason.message
  }

  /** Whether a retry can succeed. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/** Whether a value is a {@link DeltaError}. */
export const isDeltaError = (u: unknown): u is DeltaError => Predicate.hasProperty(u, TypeId)

/** Shorthand for a `NotFound` failure. */
export const notFound = (message: string): DeltaError => new DeltaError({ reason: new NotFound({ message }) })

/** Shorthand for an `AlreadyExists` failure. */
export const alreadyExists = (message: string): DeltaError => new DeltaError({ reason: new AlreadyExists({ message }) })

/** Shorthand for an `InvalidArgument` failure. */
export const invalidArgument = (
  message: string,
  details: {
    readonly column?: string | undefined
    readonly index?: number | undefined
    readonly cause?: DeltaSchemaError | undefined
  } = {}
): DeltaError =>
  new DeltaError({
    reason: new InvalidArgument({
      message,
      ...(details.column === undefined ? {} : { column: details.column }),
      ...(details.index === undefined ? {} : { index: details.index }),
      ...(details.cause === undefined ? {} : { cause: details.cause })
    })
  })

/** Shorthand for an `Io` failure; the message includes the system error. */
export const io = (operation: string, path: string, cause: unknown): DeltaError =>
  new DeltaError({
    reason: new Io({
      operation,
      path,
      message: `${operation} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
  })

/** Shorthand for a `Corrupt` failure. */
export const corrupt = (path: string, message: string): DeltaError =>
  new DeltaError({ reason: new Corrupt({ path, message: `${path}: ${message}` }) })

/** Shorthand for a `Conflict` failure. */
export const conflict = (message: string): DeltaError => new DeltaError({ reason: new Conflict({ message }) })

/** Shorthand for a `Closed` failure. */
export const closed = (message: string): DeltaError => new DeltaError({ reason: new Closed({ message }) })
