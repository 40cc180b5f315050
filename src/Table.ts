/**
 * What a stream writes: the three-part table name, the record encoding, the protobuf descriptor
 * (for proto streams) and how a record value becomes bytes on the wire. The record type of a
 * `Table<A>` is the type `ingest` accepts, so a JSON value cannot reach a proto stream:
 *
 * - `Table.json(name)`: JSON strings or plain objects;
 * - `Table.json(name, schema)`: values of an Effect Schema, encoded by it, then as JSON;
 * - `Table.proto(name, descriptor)`: protobuf-encoded bytes;
 * - `Table.protoSchema(name, codec)`: values of an Effect Schema, as protobuf (see `ProtoSchema`);
 * - `Table.protoMessage(name, messageSchema)`: protobuf-es messages of a generated schema;
 * - `Table.unityCatalog(name)`: plain objects, encoded as protobuf with a descriptor built from the
 *   table's Unity Catalog columns when the stream opens (no `.proto`, no codegen);
 * - `Table.fromProperties(properties, recordType)`: the official SDKs' untyped shape, checked
 *   at run time.
 *
 * Every check happens in `ingest`, before the record is queued: a record of the wrong kind, one
 * that cannot be encoded, or one over the request size limit fails with `InvalidArgument`.
 *
 * @since 0.1.0
 */
import { type DescMessage, fromBinary, isMessage, type MessageShape, toBinary } from "@bufbuild/protobuf"
import { type DescriptorProto, DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { Effect, Predicate, Result, Schema } from "effect"
import { parseTableName } from "./internal/endpoint.ts"
import * as UnityCatalog from "./internal/unityCatalog.ts"
import { type Payload, payloadBound, payloadBytes } from "./internal/wire.ts"
import * as ProtoSchema from "./ProtoSchema.ts"
import { maxRequestBytes, type RecordType } from "./StreamOptions.ts"
import * as ZerobusError from "./ZerobusError.ts"

const TypeId = "~effect-zerobus/Table" as const

/**
 * A JSON record: a JSON object as a string, or a plain object to serialize.
 *
 * @since 0.1.0
 * @category models
 */
export type JsonRecord = string | { readonly [key: string]: unknown }

/**
 * Any record the untyped API accepts: JSON strings and objects for JSON streams, bytes for proto
 * streams.
 *
 * @since 0.1.0
 * @category models
 */
export type AnyRecord = JsonRecord | Uint8Array

/**
 * The official SDKs' table properties: the table name and, for proto streams, the record
 * message's descriptor (serialized `DescriptorProto` bytes or the message itself).
 *
 * @since 0.1.0
 * @category models
 */
export interface TableProperties {
  readonly tableName: string
  readonly descriptorProto?: Uint8Array | DescriptorProto | undefined
}

/**
 * A table and the encoding of its records.
 *
 * @since 0.1.0
 * @category models
 */
export interface Table<A> {
  readonly [TypeId]: typeof TypeId
  /** Three-part name, `catalog.schema.table`. */
  readonly name: string
  /** Wire encoding of the records. */
  readonly recordType: RecordType
  /** `DescriptorProto` of proto records, or its serialized bytes (sent when a proto stream opens). */
  readonly descriptorProto: Uint8Array | DescriptorProto | undefined
  /** Encodes one record, or returns the reason it cannot be sent. Never throws. */
  readonly encode: (record: A) => Payload | ZerobusError.ZerobusError
  /**
   * For tables known only when a stream opens (`unityCatalog`): builds the usable table. Called by
   * `createStream` with the stream's credentials.
   */
  readonly resolve?: ((context: ResolveContext) => Effect.Effect<Table<A>, ZerobusError.ZerobusError>) | undefined
}

/**
 * What a table can ask of the client when its stream opens.
 *
 * @since 0.1.0
 * @category models
 */
export interface ResolveContext {
  /** The table's columns from Unity Catalog (`GET /api/2.1/unity-catalog/tables/{name}`). */
  readonly describeTable: (table: string) => Effect.Effect<ReadonlyArray<UnityCatalogColumn>, ZerobusError.ZerobusError>
}

/**
 * A column as Unity Catalog lists it.
 *
 * @since 0.1.0
 * @category models
 */
export type UnityCatalogColumn = UnityCatalog.Column

/**
 * A record of a `Table.unityCatalog` table: a plain object with one entry per column.
 *
 * @since 0.1.0
 * @category models
 */
export type UnityCatalogRecord = UnityCatalog.UnityCatalogRecord

/**
 * Whether a value is a `Table`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTable = (u: unknown): u is Table<unknown> => Predicate.hasProperty(u, TypeId)

const checkSize = (payload: Payload): Payload | ZerobusError.ZerobusError => {
  // Only records whose upper bound exceeds the limit (long strings) need measuring.
  if (payloadBound(payload) <= maxRequestBytes) return payload
  const bytes = payloadBytes(payload)
  return bytes <= maxRequestBytes
    ? payload
    : ZerobusError.invalidArgument(`Record of ${bytes} bytes exceeds the request limit of ${maxRequestBytes} bytes`)
}

const describe = (record: unknown): string =>
  record instanceof Uint8Array
    ? "bytes"
    : Array.isArray(record)
    ? "an array"
    : record === null
    ? "null"
    : typeof record

const wrongKind = (expected: RecordType, record: unknown): ZerobusError.ZerobusError =>
  ZerobusError.invalidArgument(
    `Record type does not match the stream: a ${expected === "json" ? "JSON" : "proto"} stream takes ${
      expected === "json" ? "JSON strings or plain objects" : "protobuf-encoded bytes"
    }, got ${describe(record)}`
  )

const stringify = (value: unknown): Payload | ZerobusError.ZerobusError => {
  try {
    const json = JSON.stringify(value)
    return Predicate.isString(json)
      ? checkSize(json)
      : ZerobusError.invalidArgument("JSON record could not be serialized")
  } catch (error) {
    return ZerobusError.invalidArgument(
      `JSON record could not be serialized: ${error instanceof Error ? error.message : String(error)}`
    )
  }
}

const encodeJson = (record: unknown): Payload | ZerobusError.ZerobusError => {
  if (Predicate.isString(record)) return checkSize(record)
  if (Predicate.isObject(record) && !Array.isArray(record) && !(record instanceof Uint8Array)) {
    return stringify(record)
  }
  return wrongKind("json", record)
}

const encodeProto = (record: unknown): Payload | ZerobusError.ZerobusError =>
  record instanceof Uint8Array ? checkSize(record) : wrongKind("proto", record)

const make = <A>(
  name: string,
  recordType: RecordType,
  descriptorProto: Uint8Array | DescriptorProto | undefined,
  encode: (record: A) => Payload | ZerobusError.ZerobusError
): Table<A> => ({ [TypeId]: TypeId, name, recordType, descriptorProto, encode })

/**
 * A JSON table. Without a schema it takes JSON strings (sent as they are) and plain objects
 * (serialized with `JSON.stringify`). With an Effect Schema it takes the schema's values, encodes
 * them with the schema (a value the schema refuses fails `ingest`), then serializes the result.
 *
 * @since 0.1.0
 * @category constructors
 */
export const json: {
  (name: string): Table<JsonRecord>
  <A, I>(name: string, schema: Schema.Codec<A, I>): Table<A>
} = <A, I>(name: string, schema?: Schema.Codec<A, I>): Table<A> | Table<JsonRecord> => {
  if (schema === undefined) return make<JsonRecord>(name, "json", undefined, encodeJson)
  const encode = Schema.encodeResult(schema)
  return make<A>(name, "json", undefined, (record) => {
    const encoded = encode(record)
    return Result.isSuccess(encoded)
      ? stringify(encoded.success)
      : ZerobusError.invalidArgument(`Record does not match the table schema: ${encoded.failure.message}`)
  })
}

/**
 * A proto table: records are protobuf-encoded bytes of the message `descriptor` describes (a
 * `DescriptorProto`, or its serialized bytes, with every nested type inside it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const proto = (name: string, descriptor: Uint8Array | DescriptorProto): Table<Uint8Array> =>
  make(name, "proto", descriptor, encodeProto)

/**
 * A proto table whose records come from a custom encoder (used by typed record modules such as
 * `ProtoSchema`). `encode` must not throw; it returns the bytes or the reason they cannot be
 * produced.
 *
 * @since 0.1.0
 * @category constructors
 */
export const protoWith = <A>(
  name: string,
  descriptor: Uint8Array | DescriptorProto,
  encode: (record: A) => Uint8Array | ZerobusError.ZerobusError
): Table<A> =>
  make<A>(name, "proto", descriptor, (record) => {
    const bytes = encode(record)
    return ZerobusError.isZerobusError(bytes) ? bytes : checkSize(bytes)
  })

/**
 * A proto table whose records are values of an Effect Schema, encoded by a `ProtoSchema` codec
 * (`ProtoSchema.make(schema)`): the codec's descriptor is declared when the stream opens, and a
 * value the schema refuses fails `ingest` with `InvalidArgument` carrying the Schema's message.
 *
 * @since 0.1.0
 * @category constructors
 */
export const protoSchema = <A>(name: string, codec: ProtoSchema.ProtoCodec<A>): Table<A> =>
  protoWith(name, codec.descriptorBytes, (record) => {
    const encoded = codec.encodeResult(record)
    return Result.isSuccess(encoded)
      ? encoded.success
      : ZerobusError.invalidArgument(`Record does not match the table schema: ${encoded.failure.message}`)
  })

/**
 * A proto table whose records are protobuf-es messages of a generated message schema (e.g.
 * `OrderSchema` from `protoc-gen-es` output). The descriptor is derived from the schema, with
 * every message it references nested inside it; records are encoded with `toBinary`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const protoMessage = <Desc extends DescMessage>(
  name: string,
  messageSchema: Desc
): Table<MessageShape<Desc>> => {
  const descriptor = ProtoSchema.descriptorFromMessage(messageSchema)
  return protoWith(name, descriptor.descriptorBytes, (record) =>
    isMessage(record, messageSchema)
      ? toBinary(messageSchema, record)
      : ZerobusError.invalidArgument(`Record is not a ${messageSchema.typeName} message`))
}

/**
 * A proto table described by Unity Catalog: when the stream opens, the client reads the table's
 * columns with the stream's credentials and builds the descriptor Databricks' generator would
 * write (`zerobus generate-proto` writes the same). Records are plain objects following the JSON
 * conventions of the table: BIGINT as a number or bigint, TIMESTAMP as a `Date`, ISO text or
 * microseconds, DATE as a `Date`, `YYYY-MM-DD` or days, BINARY as bytes or base64, structs, arrays
 * and maps as objects and arrays. Unknown columns, wrong types and missing NOT NULL columns fail
 * `ingest` with `InvalidArgument` naming the column. Needs the client's `unityCatalogUrl`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unityCatalog = (name: string): Table<UnityCatalogRecord> => ({
  ...make<UnityCatalogRecord>(
    name,
    "proto",
    undefined,
    () => ZerobusError.invalidArgument(`Table ${name} is described when its stream opens; open a stream first`)
  ),
  resolve: (context) =>
    context.describeTable(name).pipe(
      Effect.flatMap((columns) => UnityCatalog.tableCodec(name, columns)),
      Effect.map((codec) => make(name, "proto", codec.descriptorProto, codec.encode))
    )
})

/**
 * The untyped form used by the official SDKs: `recordType` decides the encoding and every record
 * is checked at run time. A proto table needs `descriptorProto`; a JSON table ignores it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromProperties = (properties: TableProperties, recordType: RecordType): Table<AnyRecord> =>
  recordType === "json"
    ? make<AnyRecord>(properties.tableName, "json", undefined, encodeJson)
    : make<AnyRecord>(properties.tableName, "proto", properties.descriptorProto, encodeProto)

/**
 * A table checked for use: a valid three-part name and, for proto tables, a parseable descriptor
 * (serialized).
 *
 * @since 0.1.0
 * @category models
 */
export interface ValidTable<A> extends Table<A> {
  readonly descriptorProto: Uint8Array | undefined
}

/**
 * Checks a table before a stream opens: the name has three non-empty parts, a proto table has a
 * `DescriptorProto` with a message name. Fails with `InvalidArgument` saying what is wrong.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = <A>(table: Table<A>): Effect.Effect<ValidTable<A>, ZerobusError.ZerobusError> =>
  Effect.suspend((): Effect.Effect<ValidTable<A>, ZerobusError.ZerobusError> => {
    const name = parseTableName(table.name)
    if (ZerobusError.isZerobusError(name)) return Effect.fail(name)
    if (table.recordType === "json") return Effect.succeed({ ...table, descriptorProto: undefined })
    if (table.descriptorProto === undefined) {
      return ZerobusError.failInvalidArgument("Proto descriptor is required for the proto record type")
    }
    const bytes = table.descriptorProto instanceof Uint8Array
      ? table.descriptorProto
      : toBinary(DescriptorProtoSchema, table.descriptorProto)
    let messageName: string | undefined
    try {
      messageName = fromBinary(DescriptorProtoSchema, bytes).name
    } catch {
      return ZerobusError.failInvalidArgument("The descriptor is not a serialized google.protobuf.DescriptorProto")
    }
    if (messageName === undefined || messageName.length === 0) {
      return ZerobusError.failInvalidArgument("The descriptor has no message name")
    }
    return Effect.succeed({ ...table, descriptorProto: bytes })
  })
