/**
 * Hand-written encoding of the record requests, the client's hot path: one `Buffer` per gRPC
 * message, written in one pass, with no intermediate message objects. The bytes are identical to
 * protobuf-es' output for the same message (checked by the test suite). Stream creation, which
 * happens once per connection, uses protobuf-es.
 *
 * JSON strings are written without measuring them first: a string of `L` UTF-16 units takes
 * between `L` and `3L` UTF-8 bytes, so when both bounds need the same number of varint bytes the
 * length prefix can be reserved, the string written, and the prefix filled in. The message header
 * is written last, right-aligned in room kept before the records, so nothing is moved.
 *
 * @internal
 */
import { create } from "@bufbuild/protobuf"
import { encodeRequest, EphemeralStreamRequestSchema, type RecordFormat, recordTypeOf } from "./protocol.ts"

/** One encoded record: a JSON string or protobuf bytes. */
export type Payload = string | Uint8Array

/** Whether a value is an encoded record (a table's `encode` returns one, or the reason it cannot). */
export const isPayload = (u: unknown): u is Payload => typeof u === "string" || u instanceof Uint8Array

/** Exact bytes of a record on the wire (UTF-8 for JSON). Measures strings: avoid on hot paths. */
export const payloadBytes = (payload: Payload): number =>
  typeof payload === "string" ? Buffer.byteLength(payload, "utf8") : payload.byteLength

/** An upper bound of a record's bytes on the wire, without measuring strings (3 bytes per unit). */
export const payloadBound = (payload: Payload): number =>
  typeof payload === "string" ? payload.length * 3 : payload.byteLength

/** Bytes of a varint (non-negative safe integers). */
const varintSize = (value: number): number => {
  if (value < 0x80) return 1
  if (value < 0x4000) return 2
  if (value < 0x200000) return 3
  if (value < 0x10000000) return 4
  let size = 5
  for (let rest = Math.floor(value / 0x800000000); rest > 0; rest = Math.floor(rest / 0x80)) size++
  return size
}

/** Writes a varint (non-negative safe integers) and returns the position after it. */
const writeVarint = (buffer: Buffer, position: number, value: number): number => {
  if (value < 0x80000000) {
    while (value > 0x7f) {
      buffer[position++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    buffer[position++] = value
    return position
  }
  while (value >= 0x80) {
    buffer[position++] = (value % 0x80) | 0x80
    value = Math.floor(value / 0x80)
  }
  buffer[position++] = value
  return position
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

/** Room kept before the records for the header (at most 3 tags and 3 varints of 10 bytes). */
const HEADER_ROOM = 33

/**
 * The room one record takes in the first, optimistic, buffer: exact for bytes, one byte per
 * UTF-16 unit for strings (with a length prefix sized for the worst case).
 */
export const entryEstimate = (payload: Payload): number => {
  const length = typeof payload === "string" ? payload.length : payload.byteLength
  return 1 + varintSize(typeof payload === "string" ? length * 3 : length) + length
}

/** Buffers from this size up are reused (smaller ones come from Node's own pool). */
const POOLED_FROM = 64 * 1024
/** Buffers above this size are not kept. */
const POOLED_UP_TO = 16 * 1024 * 1024
/** Most buffers kept. */
const POOL_SLOTS = 16

/**
 * Reusable buffers for large messages. grpc-js copies a message into its own framed buffer before
 * it calls the write callback, so the buffer of a message can be reused from that callback on.
 * Saves allocating (and page-faulting) a fresh buffer of up to megabytes per message.
 */
export class BufferPool {
  private readonly free: Array<Buffer> = []

  /** A buffer of at least `size` bytes (contents undefined). */
  acquire(size: number): Buffer {
    if (size >= POOLED_FROM) {
      let best = -1
      for (let i = 0; i < this.free.length; i++) {
        const candidate = this.free[i]
        if (candidate.length >= size && (best === -1 || candidate.length < this.free[best].length)) best = i
      }
      if (best !== -1) return this.free.splice(best, 1)[0]
      if (size <= POOLED_UP_TO) return Buffer.allocUnsafeSlow(2 ** Math.ceil(Math.log2(size)))
    }
    return Buffer.allocUnsafe(size)
  }

  /** Gives a buffer back once nothing reads it any more. */
  release(buffer: Buffer): void {
    if (buffer.length < POOLED_FROM || buffer.length > POOLED_UP_TO) return
    if (this.free.length >= POOL_SLOTS) {
      let smallest = 0
      for (let i = 1; i < this.free.length; i++) if (this.free[i].length < this.free[smallest].length) smallest = i
      if (this.free[smallest].length >= buffer.length) return
      this.free.splice(smallest, 1)
    }
    this.free.push(buffer)
  }
}

/** An encoded message: `message` is the bytes to send, a view of `buffer` (give it back to the pool). */
export interface Encoded {
  readonly buffer: Buffer
  readonly message: Buffer
}

const unpooled = new BufferPool()

/**
 * Writes one record as a `tag length bytes` entry at `p`; returns the position after it, or -1
 * when the buffer is too small (for a string: may have been too small; the caller then retries
 * with more room).
 */
const writeEntry = (buffer: Buffer, p: number, tag: number, payload: Payload): number => {
  const capacity = buffer.length
  if (typeof payload !== "string") {
    const length = payload.byteLength
    if (p + 11 + length > capacity) return -1
    buffer[p++] = tag
    p = writeVarint(buffer, p, length)
    buffer.set(payload, p)
    return p + length
  }
  const units = payload.length
  const prefix = varintSize(units)
  if (prefix === varintSize(units * 3)) {
    const start = p + 1 + prefix
    const room = capacity - start
    if (room < 4) return -1
    const written = buffer.write(payload, start, room, "utf8")
    // The string may have been cut short when it nearly filled the room.
    if (room - written < 4) return -1
    buffer[p] = tag
    // The prefix has exactly `prefix` bytes: the written size needs that many varint bytes.
    writeVarint(buffer, p + 1, written)
    return start + written
  }
  const length = Buffer.byteLength(payload, "utf8")
  if (p + 11 + length > capacity) return -1
  buffer[p++] = tag
  p = writeVarint(buffer, p, length)
  return p + buffer.write(payload, p, length, "utf8")
}

/**
 * Writes the first `count` payloads as entries from `HEADER_ROOM` on; returns the end, or -1 when
 * the buffer was too small.
 */
const writeEntries = (buffer: Buffer, tag: number, payloads: ReadonlyArray<Payload>, count: number): number => {
  let p = HEADER_ROOM
  for (let i = 0; i < count; i++) {
    p = writeEntry(buffer, p, tag, payloads[i])
    if (p === -1) return -1
  }
  return p
}

/** Exact room of the first `count` payloads. */
const exactRoom = (payloads: ReadonlyArray<Payload>, count: number): number => {
  let size = 0
  for (let i = 0; i < count; i++) {
    const length = payloadBytes(payloads[i])
    size += 1 + varintSize(length) + length
  }
  return size
}

/**
 * Writes the header in front of entries sitting at `[HEADER_ROOM, end)` of `buffer` and returns
 * the message: `ingest_record` when `records` is 1, `ingest_record_batch` otherwise.
 */
const frame = (buffer: Buffer, end: number, offset: number, format: RecordFormat, records: number): Buffer => {
  const single = records === 1
  const entries = end - HEADER_ROOM
  // Header, right-aligned before the entries: [tag len [offset] ([batch tag len])] entries
  const offsetSize = 1 + varintSize(offset)
  const batchWrapper = single ? 0 : 1 + varintSize(entries)
  const inner = offsetSize + batchWrapper + entries
  const start = HEADER_ROOM - (1 + varintSize(inner) + offsetSize + batchWrapper)
  let p = start
  buffer[p++] = single ? TAG_INGEST_RECORD : TAG_INGEST_BATCH
  p = writeVarint(buffer, p, inner)
  buffer[p++] = TAG_OFFSET
  p = writeVarint(buffer, p, offset)
  if (!single) {
    buffer[p++] = format === "json" ? TAG_JSON_BATCH : TAG_PROTO_BATCH
    writeVarint(buffer, p, entries)
  }
  return buffer.subarray(start, end)
}

/**
 * Encodes the request carrying the first `count` payloads (all of `format`) at physical `offset`
 * into a buffer from `pool`: one record as `ingest_record`, two or more as `ingest_record_batch`,
 * as the service expects. `room` is the sum of the payloads' `entryEstimate`s.
 */
export const encodeMessage = (
  pool: BufferPool,
  offset: number,
  format: RecordFormat,
  payloads: ReadonlyArray<Payload>,
  count: number,
  room: number
): Encoded => {
  const tag = count === 1 ? (format === "json" ? TAG_JSON_RECORD : TAG_PROTO_RECORD) : TAG_BATCH_ENTRY
  let buffer = pool.acquire(HEADER_ROOM + 16 + room)
  let end = writeEntries(buffer, tag, payloads, count)
  if (end === -1) {
    pool.release(buffer)
    buffer = pool.acquire(HEADER_ROOM + 16 + exactRoom(payloads, count))
    end = writeEntries(buffer, tag, payloads, count)
    if (end === -1) throw new RangeError("record encoding overflowed an exactly sized buffer")
  }
  return { buffer, message: frame(buffer, end, offset, format, count) }
}

/**
 * Encodes the request carrying `payloads` (all of `format`) at physical `offset`: one record as
 * `ingest_record`, two or more as `ingest_record_batch`.
 */
export const encodeIngest = (offset: number, format: RecordFormat, payloads: ReadonlyArray<Payload>): Buffer => {
  let room = 0
  for (let i = 0; i < payloads.length; i++) room += entryEstimate(payloads[i])
  return encodeMessage(unpooled, offset, format, payloads, payloads.length, room).message
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
