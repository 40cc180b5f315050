/**
 * A protobuf byte writer for the compiled record encoders of `ProtoSchema`.
 *
 * Records are written straight into a slab (64 KiB by default) and handed out as views of it:
 * the slab's memory is never written again once a record is finished, so a record stays valid for
 * as long as it is referenced, and encoding a record allocates only its view. (Allocating a fresh
 * `ArrayBuffer` per record costs more than encoding it.) When a slab is full, the record being
 * written moves to a new slab. Records larger than a quarter of a slab are copied out into their
 * own buffer instead, so a big record does not pin a big slab.
 *
 * Every method reserves the room it needs, so callers never check capacity themselves.
 * Length-delimited values reserve one byte for the length and move the payload only when it turns
 * out to be 128 bytes or longer. Length marks are relative to the record's start, so they survive
 * a move to a new slab.
 *
 * @internal
 */

const TWO_32 = 4294967296

/** Strings up to this many UTF-16 code units encode to at most 126 bytes: a one-byte length. */
const SHORT_STRING = 42

const DEFAULT_SLAB = 64 * 1024

const encoder = new TextEncoder()

/** Bytes of the varint encoding of an unsigned 32-bit value. */
export const varint32Size = (value: number): number =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5

/** A protobuf tag (field number and wire type) as an unsigned 32-bit value. */
export const makeTag = (fieldNumber: number, wireType: number): number => ((fieldNumber << 3) | wireType) >>> 0

/** Protobuf wire types. */
export const WireType = {
  Varint: 0,
  Bit64: 1,
  LengthDelimited: 2,
  Bit32: 5
} as const

/** The writer; see the module comment. */
export class Writer {
  /** The current slab. */
  buf: Uint8Array
  view: DataView
  /** Where the record being written starts in `buf`. */
  start = 0
  /** The write position in `buf`. */
  pos = 0
  private readonly slabSize: number

  constructor(slabSize = DEFAULT_SLAB) {
    this.slabSize = slabSize
    this.buf = new Uint8Array(slabSize)
    this.view = new DataView(this.buf.buffer)
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n)
  }

  /** Moves the record being written to a new slab with room for `n` more bytes. */
  private grow(n: number): void {
    const used = this.pos - this.start
    let size = this.slabSize
    while (size < used + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(this.start, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
    this.start = 0
    this.pos = used
  }

  /** Ends the record being written and returns it (see the module comment). */
  finish(): Uint8Array {
    const start = this.start
    const end = this.pos
    if (end - start > this.slabSize >>> 2) {
      const own = this.buf.slice(start, end)
      this.pos = start
      if (this.buf.length > this.slabSize) this.fresh()
      return own
    }
    this.start = end
    return this.buf.subarray(start, end)
  }

  /** Drops the record being written. */
  rollback(): void {
    this.pos = this.start
  }

  private fresh(): void {
    this.buf = new Uint8Array(this.slabSize)
    this.view = new DataView(this.buf.buffer)
    this.start = 0
    this.pos = 0
  }

  /** An unsigned 32-bit varint (also tags, lengths, bool, uint32). */
  uint32(value: number): void {
    this.ensure(5)
    const buf = this.buf
    let pos = this.pos
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    buf[pos++] = value
    this.pos = pos
  }

  /** A signed 32-bit varint: negative values are sign-extended to ten bytes. */
  int32(value: number): void {
    if (value >= 0) this.uint32(value)
    else this.varint64(value >>> 0, 0xffffffff)
  }

  /** A zigzag-encoded signed 32-bit varint. */
  sint32(value: number): void {
    this.uint32(((value << 1) ^ (value >> 31)) >>> 0)
  }

  /** A 64-bit varint given as two unsigned 32-bit halves. */
  varint64(lo: number, hi: number): void {
    this.ensure(10)
    const buf = this.buf
    let pos = this.pos
    while (hi > 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    buf[pos++] = lo
    this.pos = pos
  }

  /** A 64-bit varint of a safe integer (two's complement for negative values). */
  int64Number(value: number): void {
    if (value >= 0 && value < TWO_32) this.uint32(value)
    else this.varint64(value >>> 0, Math.floor(value / TWO_32) >>> 0)
  }

  /** A 64-bit varint of a bigint (signed or unsigned; wraps modulo 2^64). */
  int64BigInt(value: bigint): void {
    // converting once and checking is cheaper than bigint arithmetic; exact for safe integers
    const n = Number(value)
    if (Number.isSafeInteger(n)) {
      this.int64Number(n)
      return
    }
    const u = BigInt.asUintN(64, value)
    this.varint64(Number(u & 0xffffffffn), Number(u >> 32n))
  }

  /** A zigzag-encoded 64-bit varint of a safe integer. */
  sint64Number(value: number): void {
    const magnitude = value < 0 ? -value : value
    let lo = magnitude >>> 0
    let hi = Math.floor(magnitude / TWO_32) >>> 0
    // zigzag: 2n for n >= 0, 2|n| - 1 for n < 0
    hi = ((hi << 1) | (lo >>> 31)) >>> 0
    lo = (lo << 1) >>> 0
    if (value < 0) {
      if (lo === 0) {
        lo = 0xffffffff
        hi = (hi - 1) >>> 0
      } else {
        lo = lo - 1
      }
    }
    this.varint64(lo, hi)
  }

  /** A zigzag-encoded 64-bit varint of a bigint. */
  sint64BigInt(value: bigint): void {
    const u = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n))
    this.varint64(Number(u & 0xffffffffn), Number(u >> 32n))
  }

  /** Four little-endian bytes of an unsigned or signed 32-bit value. */
  fixed32(value: number): void {
    this.ensure(4)
    this.view.setUint32(this.pos, value >>> 0, true)
    this.pos += 4
  }

  /** Eight little-endian bytes of a safe integer. */
  fixed64Number(value: number): void {
    this.fixed64Halves(value >>> 0, Math.floor(value / TWO_32) >>> 0)
  }

  /** Eight little-endian bytes of a bigint (wraps modulo 2^64). */
  fixed64BigInt(value: bigint): void {
    this.ensure(8)
    this.view.setBigUint64(this.pos, BigInt.asUintN(64, value), true)
    this.pos += 8
  }

  private fixed64Halves(lo: number, hi: number): void {
    this.ensure(8)
    this.view.setUint32(this.pos, lo, true)
    this.view.setUint32(this.pos + 4, hi, true)
    this.pos += 8
  }

  /** A 32-bit float. */
  float(value: number): void {
    this.ensure(4)
    this.view.setFloat32(this.pos, value, true)
    this.pos += 4
  }

  /** A 64-bit float. */
  double(value: number): void {
    this.ensure(8)
    this.view.setFloat64(this.pos, value, true)
    this.pos += 8
  }

  /** A bool varint. */
  bool(value: boolean): void {
    this.ensure(1)
    this.buf[this.pos++] = value ? 1 : 0
  }

  /** Length-prefixed raw bytes. */
  bytes(value: Uint8Array): void {
    const len = value.length
    this.uint32(len)
    this.ensure(len)
    this.buf.set(value, this.pos)
    this.pos += len
  }

  /**
   * Length-prefixed UTF-8. Short strings are encoded by hand behind a one-byte length; longer ones
   * with `TextEncoder.encodeInto` behind a length sized for the worst case, moved back when the
   * actual length needs fewer bytes. Lone surrogates become U+FFFD, as with `TextEncoder`.
   */
  string(value: string): void {
    const len = value.length
    if (len <= SHORT_STRING) {
      this.ensure(1 + len * 3)
      const buf = this.buf
      const start = this.pos + 1
      let pos = start
      for (let i = 0; i < len; i++) {
        const c = value.charCodeAt(i)
        if (c < 0x80) {
          buf[pos++] = c
        } else if (c < 0x800) {
          buf[pos++] = 0xc0 | (c >> 6)
          buf[pos++] = 0x80 | (c & 0x3f)
        } else if (c < 0xd800 || c > 0xdfff) {
          buf[pos++] = 0xe0 | (c >> 12)
          buf[pos++] = 0x80 | ((c >> 6) & 0x3f)
          buf[pos++] = 0x80 | (c & 0x3f)
        } else {
          const d = c <= 0xdbff && i + 1 < len ? value.charCodeAt(i + 1) : 0
          if (d >= 0xdc00 && d <= 0xdfff) {
            const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
            buf[pos++] = 0xf0 | (cp >> 18)
            buf[pos++] = 0x80 | ((cp >> 12) & 0x3f)
            buf[pos++] = 0x80 | ((cp >> 6) & 0x3f)
            buf[pos++] = 0x80 | (cp & 0x3f)
            i++
          } else {
            buf[pos++] = 0xef
            buf[pos++] = 0xbf
            buf[pos++] = 0xbd
          }
        }
      }
      buf[this.pos] = pos - start
      this.pos = pos
      return
    }
    const reserved = varint32Size(len * 3)
    this.ensure(reserved + len * 3)
    const start = this.pos
    const written = encoder.encodeInto(value, this.buf.subarray(start + reserved)).written
    const prefix = varint32Size(written)
    if (prefix !== reserved) {
      this.buf.copyWithin(start + prefix, start + reserved, start + reserved + written)
    }
    this.uint32(written)
    this.pos += written
  }

  /** Reserves a one-byte length prefix; pass the result to `endLength` after writing the payload. */
  beginLength(): number {
    this.ensure(1)
    return this.pos++ - this.start
  }

  /** Writes the length of the payload started at `mark`, widening the prefix when needed. */
  endLength(mark: number): void {
    const at = this.start + mark
    const len = this.pos - at - 1
    if (len < 0x80) {
      this.buf[at] = len
      return
    }
    const size = varint32Size(len)
    this.ensure(size - 1)
    const buf = this.buf
    const from = this.start + mark
    buf.copyWithin(from + size, from + 1, this.pos)
    let pos = from
    let value = len
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80
      value >>>= 7
    }
    buf[pos] = value
    this.pos += size - 1
  }
}
