/**
 * The Zerobus wire: method path, call metadata names, protobuf-es (de)serializers and the grpc-js
 * service definition shared by the client and Zerobus Local. No `.proto` is loaded at run time; the
 * message code in `./gen` is generated from `proto/zerobus_service.proto` by `npm run proto`.
 *
 * @internal
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf"
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire"
import type * as grpc from "@grpc/grpc-js"
import {
  type CreateIngestStreamRequest,
  CreateIngestStreamRequestSchema,
  type EphemeralStreamRequest,
  EphemeralStreamRequestSchema,
  type EphemeralStreamResponse,
  EphemeralStreamResponseSchema,
  RecordType
} from "./gen/zerobus_service_pb.ts"

export * from "./gen/zerobus_service_pb.ts"

/** Fully qualified service name. */
export const SERVICE_NAME = "databricks.zerobus.Zerobus"

/** HTTP/2 path of the only RPC, the bidirectional `EphemeralStream`. */
export const METHOD_PATH = `/${SERVICE_NAME}/EphemeralStream`

/** Call metadata naming the three-part table; must equal `create_stream.table_name`. */
export const TABLE_NAME_HEADER = "x-databricks-zerobus-table-name"

/** Call metadata carrying `Bearer <token>`. */
export const AUTHORIZATION_HEADER = "authorization"

/** Largest request the service accepts (the client refuses larger payloads before sending). */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024

/** The record encodings a stream can declare, by their names in this library. */
export type RecordFormat = "json" | "proto"

/** Wire enum value of a record format. */
export const recordTypeOf = (format: RecordFormat): RecordType => format === "json" ? RecordType.JSON : RecordType.PROTO

/** Wraps protobuf-es output as a Buffer without copying (grpc-js wants Buffers). */
export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Encodes a client message. */
export const encodeRequest = (message: EphemeralStreamRequest): Buffer =>
  asBuffer(toBinary(EphemeralStreamRequestSchema, message))

/** Decodes a client message; throws on malformed bytes (grpc-js turns that into INTERNAL). */
export const decodeRequest = (bytes: Uint8Array): EphemeralStreamRequest =>
  fromBinary(EphemeralStreamRequestSchema, bytes)

/** Encodes a server message. */
export const encodeResponse = (message: EphemeralStreamResponse): Buffer =>
  asBuffer(toBinary(EphemeralStreamResponseSchema, message))

/** Decodes a server message. */
export const decodeResponse = (bytes: Uint8Array): EphemeralStreamResponse =>
  fromBinary(EphemeralStreamResponseSchema, bytes)

/**
 * grpc-js definition of the `Zerobus` service, every message through protobuf-es. Zerobus Local
 * (`GrpcServer`) replaces `requestDeserialize` with its envelope reader ({@link decodeServerRequest}).
 */
export const serviceDefinition: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = {
  EphemeralStream: {
    path: METHOD_PATH,
    requestStream: true,
    responseStream: true,
    originalName: "ephemeralStream",
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse
  }
}

/**
 * A client message as Zerobus Local reads it: `create_stream` decoded by protobuf-es, record
 * requests as an envelope read by hand (offset, record kind and count; the records themselves only
 * when asked: a storage that keeps nothing does not pay for turning them into strings).
 */
export type ServerRequest =
  | { readonly case: "createStream"; readonly value: CreateIngestStreamRequest }
  | {
    readonly case: "ingest"
    /** `ingest_record_batch` (true) or `ingest_record` (false). */
    readonly batch: boolean
    readonly offsetSet: boolean
    readonly offsetId: bigint
    /** The record kind, or undefined when the request carries no record or batch. */
    readonly kind: RecordFormat | undefined
    readonly count: number
    /** The records (strings for JSON, bytes for protobuf); empty when not materialized. */
    readonly records: ReadonlyArray<string> | ReadonlyArray<Uint8Array>
  }
  | { readonly case: undefined }

const utf8 = (bytes: Uint8Array): string => asBuffer(bytes).toString("utf8")

/** Reads the records of a `JsonRecordBatch` / `ProtoEncodedRecordBatch` (field 1, repeated). */
interface Collected {
  strings: Array<string>
  bytes: Array<Uint8Array>
  count: number
}

const readBatchRecords = (
  reader: BinaryReader,
  end: number,
  kind: RecordFormat,
  materialize: boolean,
  into: Collected
): void => {
  while (reader.pos < end) {
    const [field, wireType] = reader.tag()
    if (field === 1 && wireType === WireType.LengthDelimited) {
      const record = reader.bytes()
      into.count++
      if (materialize) {
        if (kind === "json") into.strings.push(utf8(record))
        else into.bytes.push(record)
      }
    } else {
      reader.skip(wireType, field)
    }
  }
}

/**
 * Decodes a client message for the server. Throws on malformed bytes, like protobuf-es. Within a
 * oneof the last field read wins, and a repeated batch message merges, as protobuf specifies.
 */
export const decodeServerRequest = (bytes: Uint8Array, materialize: boolean): ServerRequest => {
  const reader = new BinaryReader(bytes)
  let result: ServerRequest = { case: undefined }
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag()
    if (wireType !== WireType.LengthDelimited || field < 1 || field > 3) {
      reader.skip(wireType, field)
      continue
    }
    const length = reader.uint32()
    const end = reader.pos + length
    if (end > reader.len) throw new RangeError("premature end of message")
    if (field === 1) {
      result = {
        case: "createStream",
        value: fromBinary(CreateIngestStreamRequestSchema, bytes.subarray(reader.pos, end))
      }
      reader.pos = end
      continue
    }
    const batch = field === 3
    let offsetSet = false
    let offsetId = 0n
    let kind: RecordFormat | undefined
    const into: Collected = {
      strings: [],
      bytes: [],
      count: 0
    }
    if (result.case === "ingest" && result.batch === batch) {
      // A repeated message field merges into the previous one.
      offsetSet = result.offsetSet
      offsetId = result.offsetId
      kind = result.kind
      into.count = result.count
      for (const r of result.records) {
        if (typeof r === "string") into.strings.push(r)
        else into.bytes.push(r)
      }
    }
    while (reader.pos < end) {
      const [inner, innerType] = reader.tag()
      if (inner === 1 && innerType === WireType.Varint) {
        offsetSet = true
        offsetId = BigInt(reader.int64())
      } else if ((inner === 2 || inner === 3) && innerType === WireType.LengthDelimited) {
        const next: RecordFormat = inner === 2 ? "proto" : "json"
        if (next !== kind) {
          into.strings = []
          into.bytes = []
          into.count = 0
          kind = next
        }
        if (batch) {
          const batchLength = reader.uint32()
          readBatchRecords(reader, reader.pos + batchLength, next, materialize, into)
        } else {
          const record = reader.bytes()
          into.strings = []
          into.bytes = []
          into.count = 1
          if (materialize) {
            if (next === "json") into.strings.push(utf8(record))
            else into.bytes.push(record)
          }
        }
      } else {
        reader.skip(innerType, inner)
      }
    }
    if (reader.pos !== end) throw new RangeError("premature end of message")
    result = {
      case: "ingest",
      batch,
      offsetSet,
      offsetId,
      kind,
      count: into.count,
      records: kind === "json" ? into.strings : into.bytes
    }
  }
  return result
}
