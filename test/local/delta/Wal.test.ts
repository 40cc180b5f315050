import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Wal from "../../../src/local/delta/Wal.ts"
import * as WalRecord from "../../../src/local/delta/WalRecord.ts"
import { tempDir as scopedTempDir } from "../../support/delta/fixtures.ts"

const tempDir = scopedTempDir("zerobus-wal-")

const body = (n: number): Uint8Array => new TextEncoder().encode(`record-${n}`)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)
const segmentsOf = (dir: string): Array<string> => fs.readdirSync(dir).filter((n) => n.endsWith(".wal")).toSorted()

describe("Wal", () => {
  it.live("group-commits concurrent writes and recovers them after reopening", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const lsns = yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir })
        const written = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => wal.write(body(i)), {
          concurrency: "unbounded"
        })
        const stats = wal.stats()
        assert.strictEqual(stats.frames, 200)
        assert.isAbove(stats.syncs, 0)
        assert.isBelow(stats.syncs, 200, "one fdatasync covers many frames")
        assert.strictEqual(wal.durableLsn(), 200)
        return written
      }))
      assert.deepStrictEqual(lsns, Array.from({ length: 200 }, (_, i) => i + 1))
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir })
        assert.deepStrictEqual(wal.recovered.map((e) => e.lsn), lsns)
        assert.deepStrictEqual(wal.recovered.map((e) => text(e.body)), lsns.map((l) => `record-${l - 1}`))
        assert.strictEqual(yield* wal.write(body(999)), 201)
      }))
    }))

  it.live("truncates a torn tail of the last segment and keeps everything before it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir })
        for (let i = 0; i < 5; i++) yield* wal.write(body(i))
      }))
      const [segment] = segmentsOf(dir)
      const file = path.join(dir, segment!)
      const fullSize = fs.statSync(file).size
      // a torn frame: half of a sixth frame
      fs.appendFileSync(file, Buffer.from([40, 0, 0, 0, 1, 2, 3, 4, 5]))
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir })
        assert.deepStrictEqual(wal.recovered.map((e) => e.lsn), [1, 2, 3, 4, 5])
        assert.strictEqual(fs.statSync(file).size, fullSize)
      }))
      // a CRC mismatch in the last frame
      const bytes = fs.readFileSync(file)
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff
      fs.writeFileSync(file, bytes)
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir })
        assert.deepStrictEqual(wal.recovered.map((e) => e.lsn), [1, 2, 3, 4])
        assert.strictEqual(yield* wal.write(body(7)), 5)
      }))
    }))

  it.live("rolls segments with a preamble and releases segments below a watermark", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const open = WalRecord.encode({ kind: "StreamOpen", streamId: "s1", format: "json", descriptor: undefined })
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir, segmentBytes: 100, preamble: () => [open] })
        for (let i = 0; i < 10; i++) yield* wal.write(body(i))
        const segments = segmentsOf(dir)
        assert.isAbove(segments.length, 3)
        assert.strictEqual(segments[0], Wal.segmentName(1))
        yield* wal.release(6)
        const kept = segmentsOf(dir)
        assert.isBelow(kept.length, segments.length)
        assert.isAtMost(Number(kept[0]!.slice(0, 20)), 7, "the segment holding LSN 7 is kept")
        yield* wal.release(100)
        assert.deepStrictEqual(segmentsOf(dir), [segments.at(-1)], "the active segment is never deleted")
      }))
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir })
        const preamble = wal.recovered.filter((e) => e.lsn === 0)
        assert.isAbove(preamble.length, 0)
        assert.deepStrictEqual(WalRecord.decode(preamble[0]!.body), {
          kind: "StreamOpen",
          streamId: "s1",
          format: "json",
          descriptor: undefined
        })
        assert.strictEqual(wal.recovered.at(-1)?.lsn, 10)
      }))
    }))

  it.live("reports damage in a segment that is not the last as Corrupt", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir, segmentBytes: 60 })
        for (let i = 0; i < 6; i++) yield* wal.write(body(i))
      }))
      const [first] = segmentsOf(dir)
      const file = path.join(dir, first!)
      const bytes = fs.readFileSync(file)
      bytes[20] = bytes[20]! ^ 0xff
      fs.writeFileSync(file, bytes)
      const error = yield* Effect.flip(Effect.scoped(Wal.open({ dir })))
      assert.strictEqual(error.reason._tag, "Corrupt")
    }))

  it.live("durability 'os' acknowledges without fdatasync; LSNs start after the watermark", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* Effect.scoped(Effect.gen(function*() {
        const wal = yield* Wal.open({ dir, durability: "os", startAfter: 41 })
        assert.strictEqual(yield* wal.write(body(1)), 42)
        assert.strictEqual(wal.stats().syncs, 0)
      }))
    }))

  it("encodes and decodes every payload type", () => {
    const records: ReadonlyArray<WalRecord.WalRecord> = [
      { kind: "StreamOpen", streamId: "stream-é", format: "proto", descriptor: new Uint8Array([1, 2, 3]) },
      { kind: "Records", streamId: "s", firstOffset: 12, records: ["{\"a\":1}", new Uint8Array([9, 8])] },
      { kind: "StreamClose", streamId: "s" }
    ]
    const decoded = records.map((r) => WalRecord.decode(WalRecord.encode(r)))
    assert.deepStrictEqual(decoded[0], {
      kind: "StreamOpen",
      streamId: "stream-é",
      format: "proto",
      descriptor: Buffer.from([1, 2, 3])
    })
    const batch = decoded[1]
    assert.isTrue(batch?.kind === "Records")
    if (batch?.kind === "Records") {
      assert.strictEqual(batch.firstOffset, 12)
      assert.deepStrictEqual(batch.records.map((r) => [...Buffer.from(r)]), [[...Buffer.from("{\"a\":1}")], [9, 8]])
    }
    assert.deepStrictEqual(decoded[2], { kind: "StreamClose", streamId: "s" })
  })
})
