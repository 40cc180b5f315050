/**
 * Typed protobuf records without codegen. An Effect Schema struct is enough to stream protobuf
 * records: `make` derives the proto2 `DescriptorProto` a Zerobus stream sends and a precompiled
 * encoder from the schema's values to protobuf bytes. Values are validated by the Schema before
 * they are encoded, so an invalid record fails with the Schema's error before anything is sent.
 *
 * Descriptors of messages defined elsewhere come from protobuf-es message schemas
 * (`descriptorFromMessage`) or from a serialized FileDescriptorSet, as written by
 * `protoc --descriptor_set_out` (`descriptorFromFileDescriptorSet`). Every descriptor made here is
 * self-contained: the types a message uses are declared inside it, because a Zerobus server receives
 * that one `DescriptorProto` and nothing else.
 *
 * The mapping (see `docs/typed-records.md`): `string` → string, `boolean` → bool, `number` →
 * double (other numeric types with `scalar` or the ready-made schemas `int32`, `int64`, `float`,
 * ...), `bigint` → int64, `Date` and `DateTime` → int64 microseconds since the epoch (TIMESTAMP;
 * `date` / `epochDays` for int32 days, DATE), `Uint8Array` → bytes, arrays → repeated (packed for
 * numbers and booleans), structs and classes → nested messages, `Record(String, V)` and
 * `ReadonlyMap(K, V)` → map, optional / nullable → proto2 `optional`, everything else `required`.
 *
 * @since 0.1.0
 */
import { type DescMessage, toBinary } from "@bufbuild/protobuf"
import { type DescriptorProto, DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { type DateTime, Effect, Order, Predicate, Result, Schema, SchemaAST, SchemaIssue } from "effect"
import { Base64 } from "effect/encoding"
import * as Compile from "./internal/proto/compile.ts"
import * as Descriptors from "./internal/proto/descriptors.ts"
import { Writer } from "./internal/proto/writer.ts"

const TypeId = "~effect-zerobus/ProtoSchema/ProtoDescriptor" as const
const ErrorTypeId = "~effect-zerobus/ProtoSchemaError" as const
const ReasonTypeId = "~effect-zerobus/ProtoSchemaError/Reason" as const

// -------------------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------------------

/**
 * A schema (or one of its fields, named by `path`) has no protobuf mapping, or an option is
 * invalid. `path` is like `items[].price` (`""` for the schema itself).
 *
 * @since 0.1.0
 * @category reasons
 */
export class UnsupportedSchema
  extends Schema.TaggedError<UnsupportedSchema>("effect-zerobus/ProtoSchemaError/UnsupportedSchema")(
    "UnsupportedSchema",
    { path: Schema.String, message: Schema.String }
  )
{
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Never retryable: the schema does not change. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * Bytes are not a valid (or self-contained) descriptor.
 *
 * @since 0.1.0
 * @category reasons
 */
export class InvalidDescriptor
  extends Schema.TaggedError<InvalidDescriptor>("effect-zerobus/ProtoSchemaError/InvalidDescriptor")(
    "InvalidDescriptor",
    { message: Schema.String }
  )
{
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Never retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A FileDescriptorSet has no message of that name (or the name is ambiguous); `candidates` lists
 * the fully-qualified names that were there (or that matched).
 *
 * @since 0.1.0
 * @category reasons
 */
export class MessageNotFound
  extends Schema.TaggedError<MessageNotFound>("effect-zerobus/ProtoSchemaError/MessageNotFound")(
    "MessageNotFound",
    { messageName: Schema.String, message: Schema.String, candidates: Schema.Array(Schema.String) }
  )
{
  /** @since 0.1.0 */
  readonly [ReasonTypeId] = ReasonTypeId
  /** Never retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * Every reason a `ProtoSchemaError` can carry.
 *
 * @since 0.1.0
 * @category models
 */
export type ProtoSchemaErrorReason = UnsupportedSchema | InvalidDescriptor | MessageNotFound

/**
 * Schema of the reasons.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProtoSchemaErrorReason = Schema.Union([UnsupportedSchema, InvalidDescriptor, MessageNotFound])

/**
 * The error of building a codec or a descriptor. (Encoding a record fails with the record
 * Schema's own `Schema.SchemaError` instead.)
 *
 * @since 0.1.0
 * @category errors
 */
export class ProtoSchemaError
  extends Schema.TaggedError<ProtoSchemaError>("effect-zerobus/ProtoSchemaError")("ProtoSchemaError", {
    reason: ProtoSchemaErrorReason
  })
{
  /** @since 0.1.0 */
  readonly [ErrorTypeId] = ErrorTypeId

  /** The reason, also exposed as the JavaScript error cause. @since 0.1.0 */
  override readonly cause = this.reason

  /** `<reason tag>: [<path>: ]<reason message>`. @since 0.1.0 */
  override get message(): string {
    const reason = this.reason
    const at = reason._tag === "UnsupportedSchema" && reason.path !== "" ? `${reason.path}: ` : ""
    return `${reason._tag}: ${at}${reason.message}`
  }

  /** Never retryable. @since 0.1.0 */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/**
 * Whether a value is a `ProtoSchemaError`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isProtoSchemaError = (u: unknown): u is ProtoSchemaError => Predicate.hasProperty(u, ErrorTypeId)

const fromMappingFailure = (failure: Compile.MappingFailure): ProtoSchemaError =>
  new ProtoSchemaError({ reason: new UnsupportedSchema({ path: failure.path, message: failure.detail }) })

const fromDescriptorFailure = (failure: Descriptors.DescriptorFailure, name: string): ProtoSchemaError =>
  new ProtoSchemaError({
    reason: failure.kind === "MessageNotFound"
      ? new MessageNotFound({ messageName: name, message: failure.detail, candidates: failure.candidates })
      : new InvalidDescriptor({ message: failure.detail })
  })

const catchDescriptorFailure = <A>(f: () => A, name: string): Result.Result<A, ProtoSchemaError> => {
  try {
    return Result.succeed(f())
  } catch (error) {
    if (error instanceof Descriptors.DescriptorFailure) return Result.fail(fromDescriptorFailure(error, name))
    throw error
  }
}

// -------------------------------------------------------------------------------------------------
// annotations and ready-made schemas
// -------------------------------------------------------------------------------------------------

/**
 * The protobuf numeric types. `double` is the default for `number`, `int64` for `bigint`.
 *
 * @since 0.1.0
 * @category models
 */
export type NumericType = Compile.NumericType

/**
 * Numeric types that fit a JavaScript `number` only.
 *
 * @since 0.1.0
 * @category models
 */
export type NumberType = "double" | "float" | "int32" | "uint32" | "sint32" | "fixed32" | "sfixed32"

/**
 * 64-bit integer types: the value may be a `bigint` (full range) or a `number` (safe integers).
 *
 * @since 0.1.0
 * @category models
 */
export type Integer64Type = "int64" | "uint64" | "sint64" | "fixed64" | "sfixed64"

const FLOAT32_MAX = 3.4028234663852886e38
const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n

interface Range<T> {
  readonly minimum: T
  readonly maximum: T
}

const numberRanges: Partial<Record<NumericType, Range<number>>> = {
  int32: { minimum: -2147483648, maximum: 2147483647 },
  sint32: { minimum: -2147483648, maximum: 2147483647 },
  sfixed32: { minimum: -2147483648, maximum: 2147483647 },
  uint32: { minimum: 0, maximum: 4294967295 },
  fixed32: { minimum: 0, maximum: 4294967295 },
  int64: { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
  sint64: { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
  sfixed64: { minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
  uint64: { minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  fixed64: { minimum: 0, maximum: Number.MAX_SAFE_INTEGER }
}

const bigintRanges: Partial<Record<NumericType, Range<bigint>>> = {
  int64: { minimum: INT64_MIN, maximum: INT64_MAX },
  sint64: { minimum: INT64_MIN, maximum: INT64_MAX },
  sfixed64: { minimum: INT64_MIN, maximum: INT64_MAX },
  uint64: { minimum: 0n, maximum: UINT64_MAX },
  fixed64: { minimum: 0n, maximum: UINT64_MAX }
}

/** The range check of a numeric type, for number and bigint values (other values pass: the base type rejects them). */
const numericCheck = (type: NumericType, ast: SchemaAST.AST): SchemaAST.Filter<unknown> => {
  const annotations = { [Compile.NUMERIC_TYPE_KEY]: type }
  if (type === "double") return Schema.makeFilter(() => true, annotations)
  if (type === "float") {
    return Schema.makeFilter(
      (u: unknown) => !Predicate.isNumber(u) || !Number.isFinite(u) || Math.abs(u) <= FLOAT32_MAX,
      {
        expected: "a number within the float32 range",
        arbitraryConstraint: { minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX, order: Order.Number },
        ...annotations
      }
    )
  }
  const numbers = numberRanges[type]
  const bigints = bigintRanges[type]
  const base = SchemaAST.toType(ast)
  const expected = `an integer in the ${type} range`
  return Schema.makeFilter(
    (u: unknown) => {
      if (Predicate.isNumber(u)) {
        return numbers !== undefined && Number.isSafeInteger(u) && u >= numbers.minimum && u <= numbers.maximum
      }
      if (Predicate.isBigInt(u)) return bigints !== undefined && u >= bigints.minimum && u <= bigints.maximum
      return true
    },
    {
      expected,
      ...(SchemaAST.isNumber(base) && numbers !== undefined
        ? { arbitraryConstraint: { number: "integer", order: Order.Number, ...numbers } }
        : SchemaAST.isBigInt(base) && bigints !== undefined
        ? { arbitraryConstraint: { order: Order.BigInt, ...bigints } }
        : {}),
      ...annotations
    }
  )
}

/**
 * Writes a number (or bigint) schema as the given protobuf numeric type, and adds the type's
 * range check to the schema (32-bit types: integers in range; 64-bit types: safe integers for
 * numbers, the full range for bigints; `float`: finite values within float32 range, or ±Infinity,
 * NaN). Apply it to the value schema, not to an array or optional wrapper:
 * `Schema.Array(Schema.Int.pipe(ProtoSchema.scalar("int32")))`.
 *
 * @since 0.1.0
 * @category annotations
 */
export function scalar(type: NumberType): <S extends Schema.Top & { readonly Type: number }>(self: S) => S["Rebuild"]
export function scalar(
  type: Integer64Type
): <S extends Schema.Top & { readonly Type: number | bigint }>(self: S) => S["Rebuild"]
export function scalar(type: NumericType) {
  return <S extends Schema.Top>(self: S): S["Rebuild"] => self.check(numericCheck(type, self.ast))
}

/**
 * Writes a `Date` (or `DateTime`) schema as int32 days since 1970-01-01 (UTC), the Databricks DATE
 * column type, instead of int64 microseconds (TIMESTAMP). The time of day is dropped (rounding
 * towards the past).
 *
 * @since 0.1.0
 * @category annotations
 */
export const epochDays = <S extends Schema.Top & { readonly Type: Date | DateTime.DateTime }>(
  self: S
): S["Rebuild"] => self.annotate({ [Compile.EPOCH_DAYS_KEY]: true })

/**
 * Gives a struct property an explicit protobuf field number (1..536870911, not 19000..19999).
 * Unannotated properties are numbered 1, 2, 3, ... in declaration order, skipping the numbers
 * taken explicitly. Apply it to the property schema, after `Schema.optional` if any.
 *
 * @since 0.1.0
 * @category annotations
 */
export const fieldNumber = (number: number) => <S extends Schema.Top>(self: S): S["Rebuild"] =>
  self.annotateKey({ [Compile.FIELD_NUMBER_KEY]: number })

/**
 * A number written as `int32` (INT, also SMALLINT/TINYINT columns).
 *
 * @since 0.1.0
 * @category schemas
 */
export const int32: Schema.Number = Schema.Number.pipe(scalar("int32"))

/**
 * A number written as `uint32`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const uint32: Schema.Number = Schema.Number.pipe(scalar("uint32"))

/**
 * A number written as `sint32` (zigzag: small negative numbers stay short).
 *
 * @since 0.1.0
 * @category schemas
 */
export const sint32: Schema.Number = Schema.Number.pipe(scalar("sint32"))

/**
 * A number written as `fixed32`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const fixed32: Schema.Number = Schema.Number.pipe(scalar("fixed32"))

/**
 * A number written as `sfixed32`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const sfixed32: Schema.Number = Schema.Number.pipe(scalar("sfixed32"))

/**
 * A number written as `float` (FLOAT columns).
 *
 * @since 0.1.0
 * @category schemas
 */
export const float: Schema.Number = Schema.Number.pipe(scalar("float"))

/**
 * A number written as `double` (DOUBLE columns): the same as `Schema.Number`, for explicit tables.
 *
 * @since 0.1.0
 * @category schemas
 */
export const double: Schema.Number = Schema.Number.pipe(scalar("double"))

/**
 * A bigint written as `int64` (BIGINT columns): the same as `Schema.BigInt` with the int64 range.
 * For ids that fit a `number`, use `Schema.Int.pipe(ProtoSchema.scalar("int64"))`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const int64: Schema.BigInt = Schema.BigInt.pipe(scalar("int64"))

/**
 * A bigint written as `uint64` (0 .. 2^64-1; Delta has no unsigned type, see the docs).
 *
 * @since 0.1.0
 * @category schemas
 */
export const uint64: Schema.BigInt = Schema.BigInt.pipe(scalar("uint64"))

/**
 * A bigint written as `sint64` (zigzag).
 *
 * @since 0.1.0
 * @category schemas
 */
export const sint64: Schema.BigInt = Schema.BigInt.pipe(scalar("sint64"))

/**
 * A bigint written as `fixed64`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const fixed64: Schema.BigInt = Schema.BigInt.pipe(scalar("fixed64"))

/**
 * A bigint written as `sfixed64`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const sfixed64: Schema.BigInt = Schema.BigInt.pipe(scalar("sfixed64"))

/**
 * A `Date` written as int64 microseconds since the epoch (TIMESTAMP columns): the same as
 * `Schema.Date`, for explicit tables.
 *
 * @since 0.1.0
 * @category schemas
 */
export const timestamp: Schema.Date = Schema.Date

/**
 * A `Date` written as int32 days since the epoch (DATE columns); see `epochDays`.
 *
 * @since 0.1.0
 * @category schemas
 */
export const date: Schema.Date = Schema.Date.pipe(epochDays)

// -------------------------------------------------------------------------------------------------
// descriptors and codecs
// -------------------------------------------------------------------------------------------------

/**
 * A message's self-contained proto2 `DescriptorProto`: what a Zerobus protobuf stream declares.
 * `descriptorBytes` is its serialization (the stream's `descriptor_proto`).
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtoDescriptor {
  readonly [TypeId]: typeof TypeId
  /** The root message's name (`descriptor.name`). */
  readonly messageName: string
  /** The descriptor, every referenced type declared inside it. */
  readonly descriptor: DescriptorProto
  /** The serialized descriptor. */
  readonly descriptorBytes: Uint8Array
}

/**
 * A descriptor plus an encoder for the values of a Schema (`A` is the Schema's `Type`).
 *
 * Every encoder validates the value against the Schema first and fails with its
 * `Schema.SchemaError` (for `encodeMany`, the path starts with the record's index).
 *
 * Memory: an encoded record is never overwritten, so it can be kept (for example in a replay
 * buffer) for as long as needed. Records up to 16 KiB are views into 64 KiB slabs shared with the
 * codec's other records (allocating an `ArrayBuffer` per record would cost more than encoding it):
 * use `byteOffset`/`byteLength` with `.buffer`, never `.buffer` alone, and never transfer it. A
 * slab stays in memory while any of its records does. Larger records own their buffer.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProtoCodec<A> extends ProtoDescriptor {
  /** Validates and encodes one record. */
  readonly encode: (value: A) => Effect.Effect<Uint8Array, Schema.SchemaError>
  /** Validates and encodes one record, synchronously; the failure is the `Schema.SchemaError`. */
  readonly encodeResult: (value: A) => Result.Result<Uint8Array, Schema.SchemaError>
  /** Validates and encodes one record; throws the `Schema.SchemaError`. */
  readonly encodeSync: (value: A) => Uint8Array
  /** Validates and encodes records in order; fails with the first invalid one. */
  readonly encodeMany: (values: Iterable<A>) => Effect.Effect<Array<Uint8Array>, Schema.SchemaError>
}

/**
 * Options of `make`.
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions {
  /**
   * The root message's name. Defaults to the schema's `identifier` annotation (a class's name),
   * made a valid identifier, else `Record`. Zerobus does not interpret it.
   */
  readonly messageName?: string | undefined
  /**
   * Whether repeated numbers and booleans are packed (declared `[packed = true]` and written as one
   * length-delimited run). Default `true`; every protobuf parser accepts both encodings.
   */
  readonly packed?: boolean | undefined
}

/**
 * Whether a value is a `ProtoDescriptor` (or a `ProtoCodec`).
 *
 * @since 0.1.0
 * @category guards
 */
export const isProtoDescriptor = (u: unknown): u is ProtoDescriptor => Predicate.hasProperty(u, TypeId)

const makeDescriptor = (descriptor: DescriptorProto, bytes?: Uint8Array): ProtoDescriptor => ({
  [TypeId]: TypeId,
  messageName: descriptor.name,
  descriptor,
  descriptorBytes: bytes ?? toBinary(DescriptorProtoSchema, descriptor)
})

const makeCodec = <S extends Schema.Top>(
  schema: S,
  options: MakeOptions | undefined
): Result.Result<ProtoCodec<S["Type"]>, ProtoSchemaError> => {
  const compiled = Compile.compile(schema.ast, options)
  if (compiled instanceof Compile.MappingFailure) return Result.fail(fromMappingFailure(compiled))
  const typeSchema = Schema.toType(schema)
  const isValid = Schema.is(typeSchema)
  const validate = Schema.decodeUnknownResult(typeSchema)
  const invalid = (value: unknown): Schema.SchemaError => {
    const result = validate(value)
    return Result.isFailure(result)
      ? result.failure
      : new Schema.SchemaError(new SchemaIssue.InvalidValue({ message: "rejected by the Schema" }, value))
  }
  const writer = new Writer()
  /** Writes a validated value as one record; a `SchemaError` for bigints outside int64. */
  const encodeValid = (value: unknown): Result.Result<Uint8Array, Schema.SchemaError> => {
    try {
      compiled.write(writer, value)
    } catch (error) {
      writer.rollback()
      if (!(error instanceof Compile.ValueOutOfRange)) throw error
      return Result.fail(
        new Schema.SchemaError(new SchemaIssue.InvalidValue({ message: `${error.path}: ${error.detail}` }, value))
      )
    }
    return Result.succeed(writer.finish())
  }
  const encodeResult = (value: S["Type"]): Result.Result<Uint8Array, Schema.SchemaError> =>
    isValid(value) ? encodeValid(value) : Result.fail(invalid(value))
  const encodeSync = (value: S["Type"]): Uint8Array => {
    const result = encodeResult(value)
    if (Result.isFailure(result)) throw result.failure
    return result.success
  }
  const encodeMany = (values: Iterable<S["Type"]>): Effect.Effect<Array<Uint8Array>, Schema.SchemaError> =>
    Effect.suspend(() => {
      const records: Array<Uint8Array> = []
      let index = 0
      for (const value of values) {
        const result = encodeResult(value)
        if (Result.isFailure(result)) {
          return Effect.fail(new Schema.SchemaError(new SchemaIssue.Pointer([index], result.failure.issue)))
        }
        records.push(result.success)
        index++
      }
      return Effect.succeed(records)
    })
  return Result.succeed({
    ...makeDescriptor(compiled.descriptor),
    encode: (value) => Effect.suspend(() => Effect.fromResult(encodeResult(value))),
    encodeResult,
    encodeSync,
    encodeMany
  })
}

/**
 * Derives the codec of a struct schema (`Schema.Struct`, `Schema.Class`): its descriptor and an
 * encoder of its values. Fails with `UnsupportedSchema` naming the first field that has no
 * protobuf mapping and why.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: <S extends Schema.Top>(
  schema: S,
  options?: MakeOptions
) => Effect.Effect<ProtoCodec<S["Type"]>, ProtoSchemaError> = Effect.fn("ProtoSchema.make")(
  function*<S extends Schema.Top>(schema: S, options?: MakeOptions) {
    return yield* Effect.fromResult(makeCodec(schema, options))
  }
)

/**
 * `make` for module-level constants: returns the codec or throws the `ProtoSchemaError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeUnsafe = <S extends Schema.Top>(schema: S, options?: MakeOptions): ProtoCodec<S["Type"]> => {
  const result = makeCodec(schema, options)
  if (Result.isFailure(result)) throw result.failure
  return result.success
}

/**
 * The self-contained descriptor of a protobuf-es message schema (generated `GenMessage` or any
 * `DescMessage`): messages and enums it uses from other messages or files are declared inside it,
 * and `type_name`s rewritten. `messageName` renames the root message.
 *
 * @since 0.1.0
 * @category descriptors
 */
export const descriptorFromMessage = (
  message: DescMessage,
  options?: { readonly messageName?: string | undefined }
): ProtoDescriptor => makeDescriptor(Descriptors.selfContained(message, options?.messageName ?? message.name))

/**
 * The self-contained descriptor of one message of a serialized FileDescriptorSet (what
 * `protoc --include_imports --descriptor_set_out` and `buf build -o x.binpb` write). `messageName` is
 * the fully-qualified name (`orders.table_Orders`) or, when unique, the simple name.
 *
 * @since 0.1.0
 * @category descriptors
 */
export const descriptorFromFileDescriptorSet: (
  fileDescriptorSet: Uint8Array,
  messageName: string
) => Effect.Effect<ProtoDescriptor, ProtoSchemaError> = Effect.fn("ProtoSchema.descriptorFromFileDescriptorSet")(
  function*(fileDescriptorSet: Uint8Array, messageName: string) {
    return yield* Effect.fromResult(catchDescriptorFailure(() => {
      const registry = Descriptors.registryFromFileDescriptorSet(fileDescriptorSet)
      return makeDescriptor(Descriptors.selfContained(Descriptors.findMessage(registry, messageName)))
    }, messageName))
  }
)

/**
 * A descriptor from `DescriptorProto` bytes (or their base64, as the official TypeScript SDK takes
 * them), checked to decode and to be self-contained.
 *
 * @since 0.1.0
 * @category descriptors
 */
export const descriptorFromBytes: (
  descriptorProto: Uint8Array | string
) => Effect.Effect<ProtoDescriptor, ProtoSchemaError> = Effect.fn("ProtoSchema.descriptorFromBytes")(
  function*(descriptorProto: Uint8Array | string) {
    const bytes = Predicate.isString(descriptorProto)
      ? yield* Effect.fromResult(Base64.decode(descriptorProto)).pipe(
        Effect.mapError((e) => new ProtoSchemaError({ reason: new InvalidDescriptor({ message: e.message }) }))
      )
      : descriptorProto
    return yield* Effect.fromResult(catchDescriptorFailure(() => {
      const { message } = Descriptors.registryFromDescriptor(bytes)
      return makeDescriptor(message.proto, bytes)
    }, ""))
  }
)
