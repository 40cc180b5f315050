/**
 * The record checks of Zerobus Local, shared by every storage backend.
 *
 * - {@link make}: format-level checks of one stream, built once when the stream opens: a JSON
 *   record must parse to a JSON object; a protobuf record must decode with the stream's
 *   `DescriptorProto` and carry every `required` field. The descriptor is resolved here, once, and
 *   the resolved message ({@link RecordDecoder.messageSchema}) is what backends use.
 * - {@link TableDecoder}: the checks against a table schema (declared tables, Delta tables): each
 *   record becomes a row or fails naming the column. The memory and Delta backends both use it, so
 *   a declared table applies the same rules whatever the storage.
 *
 * The descriptor a client sends is one `google.protobuf.DescriptorProto`, not a whole file, so the
 * types a message uses must be nested inside it; `google.protobuf.Timestamp` and the wrapper types
 * (`Int64Value`, ...) may be referenced, as they map to table columns.
 *
 * @since 0.1.0
 */
import { type DescMessage, fromBinary, type JsonValue, type Message, toJson } from "@bufbuild/protobuf"
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect"
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt"
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import type { DeltaSchemaError } from "../internal/delta/DeltaSchemaError.ts"
import * as Delta from "../internal/delta/DeltaType.ts"
import * as JsonRecord from "../internal/delta/JsonRecord.ts"
import * as ProtoRecord from "../internal/delta/ProtoRecord.ts"
import * as ProtoSchema from "../internal/delta/ProtoSchema.ts"
import type * as Row from "../internal/delta/Row.ts"
import type { RecordFormat } from "../internal/protocol.ts"

/**
 * Checks and decodes the records of one stream (no table schema involved).
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordDecoder {
  /** The stream's record format. */
  readonly format: RecordFormat
  /** The serialized `DescriptorProto` of a protobuf stream, as the client sent it. */
  readonly descriptor: Uint8Array | undefined
  /** The resolved record message of a protobuf stream (use it with `@bufbuild/protobuf` reflection). */
  readonly messageSchema: DescMessage | undefined
  /** The decoded value of a valid record, or why the record is invalid. */
  readonly decode: (record: string | Uint8Array) => Result.Result<DecodedRecord, string>
}

/**
 * A valid record. `value` is the parsed JSON object for JSON streams and the protobuf JSON form
 * (proto field names, int64 as strings, bytes as base64) for protobuf streams; `message` is the
 * decoded protobuf message.
 *
 * @since 0.1.0
 * @category models
 */
export interface DecodedRecord {
  readonly value: { readonly [key: string]: unknown }
  readonly message: Message | undefined
}

const describeJson = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value

/**
 * The decoder of JSON streams.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json: RecordDecoder = {
  format: "json",
  descriptor: undefined,
  messageSchema: undefined,
  decode: (record) => {
    if (typeof record !== "string") return Result.fail("a protobuf record on a JSON stream")
    let value: unknown
    try {
      value = JSON.parse(record)
    } catch (error) {
      return Result.fail(`not valid JSON (${errorMessage(error)})`)
    }
    return Predicate.isObject(value)
      ? Result.succeed({ value, message: undefined })
      : Result.fail(`JSON must be an object, got ${describeJson(value)}`)
  }
}

/**
 * Builds the decoder of a protobuf stream from the serialized `DescriptorProto` the client sent in
 * `create_stream`; fails with the reason when the descriptor cannot be used.
 *
 * @since 0.1.0
 * @category constructors
 */
export const proto = (descriptorBytes: Uint8Array): Effect.Effect<RecordDecoder, string> =>
  ProtoSchema.resolveDescriptor(descriptorBytes).pipe(
    Effect.mapError((error) => error.message),
    Effect.map((messageSchema): RecordDecoder => {
      const checkRequired = hasRequired(messageSchema, 0)
      return {
        format: "proto",
        descriptor: descriptorBytes,
        messageSchema,
        decode: (record) => {
          if (typeof record === "string") return Result.fail("a JSON record on a protobuf stream")
          let message: Message
          try {
            message = fromBinary(messageSchema, record)
          } catch (error) {
            return Result.fail(`does not decode as ${messageSchema.name} (${errorMessage(error)})`)
          }
          if (checkRequired) {
            const missing = missingRequired(reflect(messageSchema, message), "", 0)
            if (missing !== undefined) return Result.fail(`required field ${missing} is not set`)
          }
          let value: JsonValue
          try {
            value = toJson(messageSchema, message, { useProtoFieldName: true })
          } catch (error) {
            return Result.fail(`cannot be represented (${errorMessage(error)})`)
          }
          return Predicate.isObject(value)
            ? Result.succeed({ value, message })
            : Result.succeed({ value: { value }, message })
        }
      }
    })
  )

/**
 * The decoder for a stream's format and descriptor (`descriptor` is ignored for JSON streams).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  format: RecordFormat,
  descriptor: Uint8Array | undefined
): Effect.Effect<RecordDecoder, string> =>
  format === "json"
    ? Effect.succeed(json)
    : descriptor === undefined || descriptor.length === 0
    ? Effect.fail("a PROTO stream needs descriptor_proto")
    : proto(descriptor)

// -------------------------------------------------------------------------------------------------
// records against a table schema
// -------------------------------------------------------------------------------------------------

/**
 * Turns one record of a stream into a table row, or says which column is wrong.
 *
 * @since 0.1.0
 * @category models
 */
export type RowDecoder = (record: string | Uint8Array) => Result.Result<Row.Row, DeltaSchemaError>

/**
 * The checks of one table: its schema, and the row decoder of each stream writing it (a JSON
 * record: unknown column, wrong type, missing NOT NULL column; a protobuf stream: its message must
 * fit the table when the stream opens, then each record's values are checked).
 *
 * @since 0.1.0
 * @category models
 */
export interface TableDecoder {
  readonly schema: Delta.StructType
  /** The row decoder of a stream; fails (naming the field) when a protobuf message does not fit the table. */
  readonly forStream: (decoder: RecordDecoder) => Effect.Effect<RowDecoder, DeltaSchemaError>
}

/**
 * The decoder of a table schema. Fails with `UnsupportedType` for a schema Zerobus Local cannot
 * write (`timestamp_ntz`, `variant`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const forTable = (schema: Delta.StructType): Effect.Effect<TableDecoder, DeltaSchemaError> =>
  Effect.gen(function*() {
    yield* Delta.checkWritable(schema)
    const jsonRows = JsonRecord.makeDecoder(schema)
    const decodeJson: RowDecoder = (record) => JsonRecord.decodeBytes(jsonRows, record)
    // Streams of one client usually share a descriptor: compile its row decoder once.
    const protoRows = new Map<string, RowDecoder>()
    const forStream = (decoder: RecordDecoder): Effect.Effect<RowDecoder, DeltaSchemaError> => {
      const message = decoder.messageSchema
      if (decoder.format === "json" || message === undefined) return Effect.succeed(decodeJson)
      const key = Buffer.from(decoder.descriptor ?? []).toString("base64")
      const cached = protoRows.get(key)
      if (cached !== undefined) return Effect.succeed(cached)
      return ProtoRecord.makeDecoder(message, schema).pipe(
        Effect.map((decode): RowDecoder => {
          const rows: RowDecoder = (record) => decode(typeof record === "string" ? Buffer.from(record) : record)
          protoRows.set(key, rows)
          return rows
        })
      )
    }
    return { schema, forStream }
  })

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

const maxDepth = 100

const hasRequired = (schema: DescMessage, depth: number): boolean =>
  depth < maxDepth && schema.fields.some((field) =>
    field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED ||
    (field.fieldKind === "message" && field.message !== schema && hasRequired(field.message, depth + 1))
  )

const missingRequired = (message: ReflectMessage, prefix: string, depth: number): string | undefined => {
  if (depth >= maxDepth) return undefined
  for (const field of message.fields) {
    if (!message.isSet(field)) {
      if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) return `${prefix}${field.name}`
      continue
    }
    if (field.fieldKind === "message") {
      const found = missingRequired(message.get(field), `${prefix}${field.name}.`, depth + 1)
      if (found !== undefined) return found
    }
  }
  return undefined
}
