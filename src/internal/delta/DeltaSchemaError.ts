/**
 * The one error of the Delta schema model: a schema, type text or descriptor that cannot be read,
 * a type that has no mapping, a descriptor field that does not fit a table, or a record that does
 * not fit a table. None of them is retryable: the input itself is wrong.
 *
 * @internal
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const TypeId = "~effect-zerobus/internal/delta/DeltaSchemaError" as const

/** A Delta `schemaString`, a Unity Catalog `type_text` or a descriptor that cannot be parsed. */
export class InvalidSchema extends Schema.TaggedError<InvalidSchema>("effect-zerobus/delta/InvalidSchema")(
  "InvalidSchema",
  { message: Schema.String }
) {
  /** Never retryable: the same input fails again. */
  get isRetryable(): boolean {
    return false
  }
}

/** A type (of the named field) that has no mapping in the requested direction. */
export class UnsupportedType extends Schema.TaggedError<UnsupportedType>("effect-zerobus/delta/UnsupportedType")(
  "UnsupportedType",
  { field: Schema.String, message: Schema.String }
) {
  /** Never retryable: the same input fails again. */
  get isRetryable(): boolean {
    return false
  }
}

/** A protobuf field (or a missing one) that does not fit the table's column. */
export class IncompatibleField
  extends Schema.TaggedError<IncompatibleField>("effect-zerobus/delta/IncompatibleField")("IncompatibleField", {
    field: Schema.String,
    message: Schema.String
  })
{
  /** Never retryable: the same input fails again. */
  get isRetryable(): boolean {
    return false
  }
}

/** A record that does not fit the table; `column` is the dotted path of the offending value ("" = whole record). */
export class InvalidRecord extends Schema.TaggedError<InvalidRecord>("effect-zerobus/delta/InvalidRecord")(
  "InvalidRecord",
  { column: Schema.String, message: Schema.String }
) {
  /** Never retryable: the same input fails again. */
  get isRetryable(): boolean {
    return false
  }
}

/** Why a schema operation failed. */
export const DeltaSchemaErrorReason = Schema.Union([InvalidSchema, UnsupportedType, IncompatibleField, InvalidRecord])

/** Why a schema operation failed. */
export type DeltaSchemaErrorReason = typeof DeltaSchemaErrorReason.Type

/** Failure of the Delta schema model; the `reason` says what was wrong and where. */
export class DeltaSchemaError extends Schema.TaggedError<DeltaSchemaError>("effect-zerobus/delta/DeltaSchemaError")(
  "DeltaSchemaError",
  { reason: DeltaSchemaErrorReason }
) {
  /** Marks the value for {@link isDeltaSchemaError}. */
  readonly [TypeId] = TypeId

  /** The reason, as the JavaScript error cause. */
  override readonly cause = this.reason

  /** The reason's message, prefixed with the field or column it names. */
  override get message(): string {
    const reason = this.reason
    if (reason instanceof InvalidSchema) return reason.message
    if (reason instanceof InvalidRecord) {
      return reason.column === "" ? reason.message : `column '${reason.column}': ${reason.message}`
    }
    return `field '${reason.field}': ${reason.message}`
  }

  /** Always false: see the reasons. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/** Whether a value is a {@link DeltaSchemaError}. */
export const isDeltaSchemaError = (u: unknown): u is DeltaSchemaError => Predicate.hasProperty(u, TypeId)

/** Shorthand: an `InvalidSchema` failure. */
export const invalidSchema = (message: string): DeltaSchemaError =>
  new DeltaSchemaError({ reason: new InvalidSchema({ message }) })

/** Shorthand: an `UnsupportedType` failure naming the field. */
export const unsupportedType = (field: string, message: string): DeltaSchemaError =>
  new DeltaSchemaError({ reason: new UnsupportedType({ field, message }) })

/** Shorthand: an `IncompatibleField` failure naming the field. */
export const incompatibleField = (field: string, message: string): DeltaSchemaError =>
  new DeltaSchemaError({ reason: new IncompatibleField({ field, message }) })

/** Shorthand: an `InvalidRecord` failure naming the column. */
export const invalidRecord = (column: string, message: string): DeltaSchemaError =>
  new DeltaSchemaError({ reason: new InvalidRecord({ column, message }) })
