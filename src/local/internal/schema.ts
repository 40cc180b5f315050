/**
 * Schemas shared by Zerobus Local's options, fault scripts and admin API.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

/**
 * A duration given as a `Duration`, a number of milliseconds or a string such as `"5 seconds"`;
 * encodes as milliseconds.
 */
export const DurationInput = Schema.Union([Schema.DurationFromMillis, Schema.Duration, Schema.DurationFromString])

/** gRPC status codes by name. */
export const grpcCodeNames = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED"
] as const

/** A gRPC status code name. */
export type GrpcCodeName = typeof grpcCodeNames[number]

/** Name of a status code number (`"CODE_<n>"` outside 0..16). */
export const grpcCodeName = (code: number): string => grpcCodeNames[code] ?? `CODE_${code}`

/** A gRPC status code, given by number (0-16) or name (`"UNAVAILABLE"`); decodes to the number. */
export const GrpcCode = Schema.Union([
  Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 16 })),
  Schema.Literals(grpcCodeNames)
]).pipe(Schema.decodeTo(
  Schema.Int,
  SchemaTransformation.transform({
    decode: (code: number | GrpcCodeName): number => typeof code === "number" ? code : grpcCodeNames.indexOf(code),
    encode: (code: number): number | GrpcCodeName => grpcCodeNames[code] ?? code
  })
))

/** What {@link DurationInput} accepts. */
export type DurationLike = typeof DurationInput.Encoded
