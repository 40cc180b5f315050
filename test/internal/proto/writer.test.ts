import { BinaryReader, BinaryWriter } from "@bufbuild/protobuf/wire"
import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { Writer } from "../../../src/internal/proto/writer.ts"

/** Bytes of one record written into a fresh writer (tiny slabs, so moves to new slabs are exercised). */
const ours = (f: (w: Writer) => void): Array<number> => {
  const w = new Writer(4)
  f(w)
  return [...w.finish()]
}

const theirs = (f: (w: BinaryWriter) => void): Array<number> => {
  const w = new BinaryWriter()
  f(w)
  return [...w.finish()]
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n

describe("Writer", () => {
  it("writes 32-bit varints like protobuf-es", () => {
    for (const v of [0, 1, 127, 128, 300, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 31, 2 ** 32 - 1]) {
      assert.deepStrictEqual(ours((w) => w.uint32(v)), theirs((w) => w.uint32(v)), `uint32 ${v}`)
    }
    for (const v of [0, 1, -1, -2, 2147483647, -2147483648, -300]) {
      assert.deepStrictEqual(ours((w) => w.int32(v)), theirs((w) => w.int32(v)), `int32 ${v}`)
      assert.deepStrictEqual(ours((w) => w.sint32(v)), theirs((w) => w.sint32(v)), `sint32 ${v}`)
      assert.deepStrictEqual(ours((w) => w.fixed32(v)), theirs((w) => w.sfixed32(v)), `sfixed32 ${v}`)
    }
    assert.strictEqual(ours((w) => w.int32(-1)).length, 10, "negative int32 is a 10-byte varint")
    assert.deepStrictEqual(ours((w) => w.fixed32(4294967295)), theirs((w) => w.fixed32(4294967295)))
  })

  it("writes 64-bit integers from bigints and safe numbers like protobuf-es", () => {
    const bigints = [0n, 1n, -1n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n, INT64_MIN, INT64_MAX]
    for (const v of bigints) {
      assert.deepStrictEqual(ours((w) => w.int64BigInt(v)), theirs((w) => w.int64(v)), `int64 ${v}`)
      assert.deepStrictEqual(ours((w) => w.sint64BigInt(v)), theirs((w) => w.sint64(v)), `sint64 ${v}`)
      assert.deepStrictEqual(ours((w) => w.fixed64BigInt(v)), theirs((w) => w.sfixed64(v)), `sfixed64 ${v}`)
    }
    for (const v of [0n, 2n ** 63n, UINT64_MAX]) {
      assert.deepStrictEqual(ours((w) => w.int64BigInt(v)), theirs((w) => w.uint64(v)), `uint64 ${v}`)
      assert.deepStrictEqual(ours((w) => w.fixed64BigInt(v)), theirs((w) => w.fixed64(v)), `fixed64 ${v}`)
    }
    const numbers = [
      0,
      1,
      -1,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 32,
      -(2 ** 32),
      2 ** 32 + 1,
      -(2 ** 32) - 1,
      1714979289123000,
      -1714979289123000,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER
    ]
    for (const v of numbers) {
      assert.deepStrictEqual(ours((w) => w.int64Number(v)), theirs((w) => w.int64(BigInt(v))), `int64 ${v}`)
      assert.deepStrictEqual(ours((w) => w.sint64Number(v)), theirs((w) => w.sint64(BigInt(v))), `sint64 ${v}`)
      assert.deepStrictEqual(ours((w) => w.fixed64Number(v)), theirs((w) => w.sfixed64(BigInt(v))), `sfixed64 ${v}`)
    }
  })

  it("writes floats, doubles and bools like protobuf-es", () => {
    for (const v of [0, -0, 1.5, -2.25, Math.PI, 1e300, -1e-300, Number.NaN, Infinity, -Infinity]) {
      assert.deepStrictEqual(ours((w) => w.double(v)), theirs((w) => w.double(v)), `double ${v}`)
    }
    for (const v of [0, -0, 1.5, Math.PI, 3.4e38, Number.NaN, Infinity, -Infinity]) {
      assert.deepStrictEqual(ours((w) => w.float(v)), theirs((w) => w.float(v)), `float ${v}`)
    }
    assert.deepStrictEqual(ours((w) => w.bool(true)), [1])
    assert.deepStrictEqual(ours((w) => w.bool(false)), [0])
  })

  it("writes strings like protobuf-es, at every length-prefix boundary", () => {
    const samples = [
      "",
      "a",
      "héllo wörld",
      "日本語のテキスト",
      "😀 emoji 🎉 pairs",
      "lone \ud800 high",
      "lone \udc00 low",
      "ends with \ud83d",
      "\ud83d\ude00".repeat(21),
      "é".repeat(42),
      "€".repeat(42),
      "x".repeat(42),
      "x".repeat(43),
      "x".repeat(127),
      "x".repeat(128),
      "é".repeat(64),
      "€".repeat(5462),
      "x".repeat(16384),
      "😀".repeat(3000)
    ]
    for (const s of samples) {
      assert.deepStrictEqual(ours((w) => w.string(s)), theirs((w) => w.string(s)), `string of length ${s.length}`)
    }
  })

  it.prop("writes any string like protobuf-es and reads back the same text", [Schema.String], ([s]) => {
    const bytes = ours((w) => w.string(s))
    assert.deepStrictEqual(bytes, theirs((w) => w.string(s)))
    assert.strictEqual(
      new BinaryReader(new Uint8Array(bytes)).string(),
      new TextDecoder().decode(new TextEncoder().encode(s))
    )
  })

  it("writes bytes, and length prefixes that widen after the payload", () => {
    for (const n of [0, 1, 127, 128, 16383, 16384, 70000]) {
      const payload = Uint8Array.from({ length: n }, (_, i) => i & 0xff)
      assert.deepStrictEqual(ours((w) => w.bytes(payload)), theirs((w) => w.bytes(payload)), `bytes ${n}`)
      const nested = ours((w) => {
        w.uint32(0x0a)
        const mark = w.beginLength()
        for (let i = 0; i < n; i++) w.bool(i % 2 === 0)
        w.endLength(mark)
        w.uint32(0x10)
      })
      const expected = theirs((w) => {
        w.uint32(0x0a).fork()
        for (let i = 0; i < n; i++) w.bool(i % 2 === 0)
        w.join().uint32(0x10)
      })
      assert.deepStrictEqual(nested, expected, `nested payload of ${n} bytes`)
    }
  })

  it("hands out records that later writes never touch", () => {
    const w = new Writer(64)
    const records: Array<Uint8Array> = []
    const expected: Array<Array<number>> = []
    for (let i = 0; i < 200; i++) {
      // nested lengths across slab moves: some records do not fit the rest of their slab
      w.uint32(0x0a)
      const mark = w.beginLength()
      w.string(`record ${i} `.repeat(i % 4))
      w.endLength(mark)
      const record = w.finish()
      records.push(record)
      expected.push(theirs((t) => {
        t.uint32(0x0a).fork().string(`record ${i} `.repeat(i % 4)).join()
      }))
    }
    assert.deepStrictEqual(records.map((r) => [...r]), expected)
    const buffers = new Set(records.map((r) => r.buffer))
    assert.isTrue(buffers.size > 1, "records moved to new slabs")
    assert.isTrue(buffers.size < 200, "records share slabs")
  })

  it("copies records larger than a quarter slab out, and reuses the slab space", () => {
    const w = new Writer(64)
    w.string("small")
    const small = w.finish()
    w.bytes(new Uint8Array(20))
    const big = w.finish()
    assert.strictEqual(big.byteOffset, 0)
    assert.strictEqual(big.buffer.byteLength, 21)
    w.string("next")
    const next = w.finish()
    assert.strictEqual(next.buffer, small.buffer)
    assert.strictEqual(next.byteOffset, small.byteOffset + small.byteLength)
    // a record bigger than a slab gets a bigger slab for its writing, then its own buffer
    w.bytes(new Uint8Array(1000).fill(7))
    const huge = w.finish()
    assert.deepStrictEqual([...huge], theirs((t) => t.bytes(new Uint8Array(1000).fill(7))))
    assert.strictEqual(w.buf.length, 64, "back to a normal slab")
    assert.deepStrictEqual([...small], [5, ...new TextEncoder().encode("small")])
    assert.deepStrictEqual([...next], [4, ...new TextEncoder().encode("next")])
  })

  it("rolls back a partial record", () => {
    const w = new Writer(64)
    w.string("kept")
    const kept = w.finish()
    w.string("dropped")
    w.rollback()
    w.string("after")
    const after = w.finish()
    assert.deepStrictEqual([...after], [5, ...new TextEncoder().encode("after")])
    assert.strictEqual(after.byteOffset, kept.byteOffset + kept.byteLength)
    assert.strictEqual(new BinaryReader(kept).string(), "kept")
  })
})
