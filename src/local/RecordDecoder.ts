/**
 * Format-level checks of the records a stream carries, shared by every storage backend: a JSON
 * record must parse to a JSON object; a protobuf record must decode with the stream's
 * `DescriptorProto` and carry every `required` field.
 *
 * The descriptor a client sends is one `google.protobuf.DescriptorProto`, not a whole file, so
 * nested types must be nested inside the message. References to the well-known types
 * (`google.protobuf.Timestamp`, wrappers, `Struct`, ...) are resolved as well.
 *
 * @since 0.1.0
 */
import {
  create,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  fromBinary,
  type JsonValue,
  type Message,
  toJson
} from "@bufbuild/protobuf"
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect"
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  FeatureSet_FieldPresence,
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  FileDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import type { RecordFormat } from "../internal/protocol.ts"

/**
 * Checks and decodes the records of one stream.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordDecoder {
  /** The stream's record format. */
  readonly format: RecordFormat
  /** The record message of a protobuf stream (use it with `@bufbuild/protobuf` reflection). */
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

/**
 * The decoder of JSON streams.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json: RecordDecoder = {
  format: "json",
  messageSchema: undefined,
  decode: (record) => {
    if (typeof record !== "string") return Result.fail("a protobuf record on a JSON stream")
    let value: unknown
    try {
      value = JSON.parse(record)
    } catch (error) {
      return Result.fail(`not valid JSON (${error instanceof Error ? error.message : String(error)})`)
    }
    return Predicate.isObject(value)
      ? Result.succeed({ value, message: undefined })
      : Result.fail(
        `JSON must be an object, got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`
      )
  }
}

/**
 * Builds the decoder of a protobuf stream from the serialized `DescriptorProto` the client sent in
 * `create_stream`; fails with the reason when the descriptor cannot be used.
 *
 * @since 0.1.0
 * @category constructors
 */
export const proto = (descriptorBytes: Uint8Array): Result.Result<RecordDecoder, string> => {
  let descriptor: DescriptorProto
  try {
    descriptor = fromBinary(DescriptorProtoSchema, descriptorBytes)
  } catch (error) {
    return Result.fail(`descriptor_proto is not a DescriptorProto (${errorMessage(error)})`)
  }
  const messageName = descriptor.name
  if (messageName === undefined || messageName === "") return Result.fail("descriptor_proto has no message name")
  const schema = Result.try({
    try: () => messageOf(descriptor, messageName),
    catch: (error) => `descriptor_proto cannot be used: ${errorMessage(error)}`
  })
  return Result.map(schema, (messageSchema): RecordDecoder => {
    const checkRequired = hasRequired(messageSchema, 0)
    return {
      format: "proto",
      messageSchema,
      decode: (record) => {
        if (typeof record === "string") return Result.fail("a JSON record on a protobuf stream")
        let message: Message
        try {
          message = fromBinary(messageSchema, record)
        } catch (error) {
          return Result.fail(`does not decode as ${messageSchema.typeName} (${errorMessage(error)})`)
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
}

/**
 * The decoder for a stream's format and descriptor (`descriptor` is ignored for JSON streams).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  format: RecordFormat,
  descriptor: Uint8Array | undefined
): Result.Result<RecordDecoder, string> =>
  format === "json"
    ? Result.succeed(json)
    : descriptor === undefined || descriptor.length === 0
    ? Result.fail("a PROTO stream needs descriptor_proto")
    : proto(descriptor)

const errorMessage = (error: unknown): string => error instanceof Error ? error.message : String(error)

const wellKnownFiles: ReadonlyArray<readonly [DescFile, ReadonlyArray<string>]> = [
  [file_google_protobuf_timestamp, ["Timestamp"]],
  [file_google_protobuf_duration, ["Duration"]],
  [file_google_protobuf_empty, ["Empty"]],
  [file_google_protobuf_any, ["Any"]],
  [file_google_protobuf_field_mask, ["FieldMask"]],
  [file_google_protobuf_struct, ["Struct", "Value", "ListValue", "NullValue"]],
  [file_google_protobuf_wrappers, [
    "DoubleValue",
    "FloatValue",
    "Int64Value",
    "UInt64Value",
    "Int32Value",
    "UInt32Value",
    "BoolValue",
    "StringValue",
    "BytesValue"
  ]]
]

const typeNames = (message: DescriptorProto, into: Array<string>): Array<string> => {
  for (const field of message.field) if (field.typeName) into.push(field.typeName)
  for (const nested of message.nestedType) typeNames(nested, into)
  return into
}

const usesProto3Optional = (message: DescriptorProto): boolean =>
  message.field.some((field) => field.proto3Optional === true) || message.nestedType.some(usesProto3Optional)

/**
 * Places the message in a synthetic file: the package is taken from fully qualified references to
 * the message's own types (`.pkg.Msg.Nested`), and well-known types become imports.
 */
const messageOf = (descriptor: DescriptorProto, messageName: string): DescMessage => {
  const names = typeNames(descriptor, [])
  let packageName = ""
  for (const name of names) {
    if (!name.startsWith(".")) continue
    const self = `.${messageName}`
    const at = name.indexOf(`${self}.`)
    const end = name.endsWith(self) ? name.length - self.length : -1
    const cut = at >= 0 ? at : end
    if (cut > 0) {
      packageName = name.slice(1, cut)
      break
    }
  }
  const dependencies = new Set<string>()
  for (const name of names) {
    const [file] = wellKnownFiles.find(([, types]) => types.some((type) => name === `.google.protobuf.${type}`)) ?? []
    if (file !== undefined) dependencies.add(file.proto.name)
  }
  const file = create(FileDescriptorProtoSchema, {
    name: "zerobus_local_record.proto",
    package: packageName,
    syntax: usesProto3Optional(descriptor) ? "proto3" : "proto2",
    dependency: [...dependencies],
    messageType: [descriptor]
  })
  const registry = createFileRegistry(
    file,
    (name) => wellKnownFiles.find(([known]) => known.proto.name === name)?.[0]
  )
  const typeName = packageName === "" ? messageName : `${packageName}.${messageName}`
  const message = registry.getMessage(typeName)
  if (message === undefined) throw new Error(`message ${typeName} not found`)
  return message
}

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
