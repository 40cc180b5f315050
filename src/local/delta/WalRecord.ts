/**
 * The payloads of WAL frames: `STREAM_OPEN{streamId, format, descriptor}`, `RECORDS{streamId,
 * firstOffset, records[]}` (the raw JSON or protobuf bytes, stored after validation) and
 * `STREAM_CLOSE{streamId}`. Replay re-decodes records with the descriptor of their stream.
 *
 * Layout (little-endian): `u8 type`, then `u16 length + UTF-8 streamId`, then per type:
 * open `u8 format (1 proto, 2 json) | u32 length + descriptor`; records `f64 firstOffset | u32
 * count | count × (u32 length + bytes)`; close nothing.
 *
 * @internal
 */
import type { RecordFormat } from "../../internal/protocol.ts"

/** A stream started writing; replay needs its format and descriptor to decode its records. */
export interface StreamOpen {
  readonly kind: "StreamOpen"
  readonly streamId: string
  readonly format: RecordFormat
  readonly descriptor: Uint8Array | undefined
}

/** One request's records, already validated against the table. */
export interface Records {
  readonly kind: "Records"
  readonly streamId: string
  readonly firstOffset: number
  readonly records: ReadonlyArray<Uint8Array | string>
}

/** A stream ended. */
export interface StreamClose {
  readonly kind: "StreamClose"
  readonly streamId: string
}

/** A WAL payload. */
export type WalRecord = StreamOpen | Records | StreamClose

const OPEN = 1
const RECORDS = 2
const CLOSE = 3

/** Encodes a payload. */
export const encode = (record: WalRecord): Buffer => {
  const idBytes = Buffer.byteLength(record.streamId)
  if (idBytes > 0xffff) throw new RangeError("stream id longer than 65535 bytes")
  let size = 1 + 2 + idBytes
  switch (record.kind) {
    case "StreamOpen":
      size += 1 + 4 + (record.descriptor?.length ?? 0)
      break
    case "Records":
      size += 8 + 4
      for (const r of record.records) size += 4 + (typeof r === "string" ? Buffer.byteLength(r) : r.length)
      break
    case "StreamClose":
      break
  }
  const buf = Buffer.allocUnsafe(size)
  buf[0] = record.kind === "StreamOpen" ? OPEN : record.kind === "Records" ? RECORDS : CLOSE
  buf.writeUInt16LE(idBytes, 1)
  let at = 3 + buf.write(record.streamId, 3)
  switch (record.kind) {
    case "StreamOpen": {
      buf[at++] = record.format === "proto" ? 1 : 2
      const descriptor = record.descriptor ?? new Uint8Array(0)
      buf.writeUInt32LE(descriptor.length, at)
      buf.set(descriptor, at + 4)
      break
    }
    case "Records": {
      buf.writeDoubleLE(record.firstOffset, at)
      buf.writeUInt32LE(record.records.length, at + 8)
      at += 12
      for (const r of record.records) {
        const n = typeof r === "string" ? buf.write(r, at + 4) : (buf.set(r, at + 4), r.length)
        buf.writeUInt32LE(n, at)
        at += 4 + n
      }
      break
    }
    case "StreamClose":
      break
  }
  return buf
}

/** Decodes a payload; throws a `RangeError` on malformed bytes (the frame CRC makes that unlikely). */
export const decode = (buf: Uint8Array): WalRecord => {
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
  const type = view[0]
  const idBytes = view.readUInt16LE(1)
  const streamId = view.toString("utf8", 3, 3 + idBytes)
  let at = 3 + idBytes
  switch (type) {
    case OPEN: {
      const format: RecordFormat = view[at] === 1 ? "proto" : "json"
      const length = view.readUInt32LE(at + 1)
      const descriptor = length === 0 && format === "json" ? undefined : view.subarray(at + 5, at + 5 + length)
      return { kind: "StreamOpen", streamId, format, descriptor }
    }
    case RECORDS: {
      const firstOffset = view.readDoubleLE(at)
      const count = view.readUInt32LE(at + 8)
      at += 12
      const records: Array<Uint8Array> = []
      for (let i = 0; i < count; i++) {
        const n = view.readUInt32LE(at)
        if (at + 4 + n > view.length) throw new RangeError("record past the end of the payload")
        records.push(view.subarray(at + 4, at + 4 + n))
        at += 4 + n
      }
      return { kind: "Records", streamId, firstOffset, records }
    }
    case CLOSE:
      return { kind: "StreamClose", streamId }
    default:
      throw new RangeError(`unknown WAL payload type ${type}`)
  }
}
