/**
 * Hand-written encoding of the record requests, the client's hot path: one `Buffer` per gRPC
 * message, written in one pass after one sizing pass, with no intermediate message objects. The
 * bytes are identical to protobuf-es' output for the same message (checked by the test suite).
 * Stream creation, which happens once per connection, uses protobuf-es.
 *
 * @internal
 */
import { create } from "@bufbuild/protobuf"
import { encodeRequest, EphemeralStreamRequestSchema, type RecordFormat, recordTypeOf } from "./protocol.ts"

/** One encoded record: a JSON string or protobuf bytes. */
export type Payload = string | Uint8Array

/** Bytes of a record on the wire (UTF-8 for JSON). */
export const payloadBytes = (payload: Payload): number =>
  typeof payload === "string" ? Buffer.byteLength(payload, "utf8") : payload.byteLength

const varintSize = (value: number): number => {
  let size = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    size++
  }
  return size
}

const writeVarint = (buffer: Buffer, position: number, value: number): number => {
  while (value >= 0x80) {
    buffer[position++] = (value % 0x80) | 0x80
    value = Math.floor(value / 0x80)
  }
  buffer[position++] = value
  return position
}

const writePayload = (buffer: Buffer, position: number, payload: Payload, length: number): number => {
  if (typeof payload === "string") {
    buffer.write(payload, position, length, "utf8")
  } else {
    buffer.set(payload, position)
  }
  return position + length
}

// Tags: field << 3 | wire type (0 = varint, 2 = length-delimited).
const TAG_OFFSET = 0x08 // offset_id = 1, varint
const TAG_INGEST_RECORD = 0x12 // EphemeralStreamRequest.ingest_record = 2
const TAG_INGEST_BATCH = 0x1a // EphemeralStreamRequest.ingest_record_batch = 3
const TAG_PROTO_RECORD = 0x12 // IngestRecordRequest.proto_encoded_record = 2
const TAG_JSON_RECORD = 0x1a // IngestRecordRequest.json_record = 3
const TAG_PROTO_BATCH = 0x12 // IngestRecordBatchRequest.proto_encoded_batch = 2
const TAG_JSON_BATCH = 0x1a // IngestRecordBatchRequest.json_batch = 3
const TAG_BATCH_ENTRY = 0x0a // (Json|ProtoEncoded)RecordBatch.records = 1

/**
 * Encodes the request carrying `payloads` (all of `format`) at physical `offset`: one record as
 * `ingest_record`, two or more as `ingest_record_batch`, as the service expects. `lengths` holds
 * each payload's byte size (see `payloadBytes`); callers compute them once for size limits.
 */
export const encodeIngest = (
  offset: number,
  format: RecordFormat,
  payloads: ReadonlyArray<Payload>,
  lengths: ReadonlyArray<number>
): Buffer => {
  const offsetSize = 1 + varintSize(offset)
  if (payloads.length === 1) {
    const length = lengths[0]
    const inner = offsetSize + 1 + varintSize(length) + length
    const buffer = Buffer.allocUnsafe(1 + varintSize(inner) + inner)
    let p = writeVarint(buffer, 0, TAG_INGEST_RECORD)
    p = writeVarint(buffer, p, inner)
    buffer[p++] = TAG_OFFSET
    p = writeVarint(buffer, p, offset)
    buffer[p++] = format === "json" ? TAG_JSON_RECORD : TAG_PROTO_RECORD
    p = writeVarint(buffer, p, length)
    writePayload(buffer, p, payloads[0], length)
    return buffer
  }
  let entries = 0
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i]
    entries += 1 + varintSize(length) + length
  }
  const inner = offsetSize + 1 + varintSize(entries) + entries
  const buffer = Buffer.allocUnsafe(1 + varintSize(inner) + inner)
  let p = writeVarint(buffer, 0, TAG_INGEST_BATCH)
  p = writeVarint(buffer, p, inner)
  buffer[p++] = TAG_OFFSET
  p = writeVarint(buffer, p, offset)
  buffer[p++] = format === "json" ? TAG_JSON_BATCH : TAG_PROTO_BATCH
  p = writeVarint(buffer, p, entries)
  for (let i = 0; i < payloads.length; i++) {
    const length = lengths[i]
    buffer[p++] = TAG_BATCH_ENTRY
    p = writeVarint(buffer, p, length)
    p = writePayload(buffer, p, payloads[i], length)
  }
  return buffer
}

/** Encodes the `create_stream` request opening every call. */
export const encodeCreateStream = (
  tableName: string,
  format: RecordFormat,
  descriptorProto: Uint8Array | undefined
): Buffer =>
  encodeRequest(create(EphemeralStreamRequestSchema, {
    payload: {
      case: "createStream",
      value: {
        tableName,
        recordType: recordTypeOf(format),
        ...(format === "proto" && descriptorProto !== undefined ? { descriptorProto } : {})
      }
    }
  }))
