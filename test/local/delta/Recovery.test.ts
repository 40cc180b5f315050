import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as DeltaTable from "../../../src/local/delta/DeltaTable.ts"
import { conformance, readDelta } from "../../support/delta/DuckDb.ts"
import { tempDir } from "../../support/delta/fixtures.ts"

const schema = Delta.struct([Delta.field("id", Delta.long, false), Delta.field("note", Delta.string)])
const records = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ id: from + i, note: `n${from + i}` }))

/**
 * Writes `batches` durable batches of 10 records with no commit, and copies the table directory at
 * that moment: the copy is what a crash right then leaves on disk.
 */
const crashedCopy = (batches: number) =>
  Effect.gen(function*() {
    const root = yield* tempDir("zerobus-recovery-")
    const dir = path.join(root, "live")
    const copy = path.join(root, "crashed")
    yield* DeltaTable.create({ dir, name: "main.default.t", schema })
    yield* Effect.scoped(Effect.gen(function*() {
      const table = yield* DeltaTable.open({ dir, flushInterval: "1 hour" })
      const stream = yield* table.openStream({ streamId: "s", format: "json" })
      for (let b = 0; b < batches; b++) yield* Effect.flatten(stream.append(b * 10, records(b * 10, 10)))
      assert.strictEqual(table.stats().commits, 0)
      fs.cpSync(dir, copy, { recursive: true })
    }))
    return copy
  })

const ids = (dir: string) =>
  readDelta(dir, { select: "id", orderBy: "id" }).pipe(Effect.map((r) => r.rows.map((row) => Number(row["id"]))))

describe("recovery", () => {
  it.live("materializes acknowledged records that were never committed, once", () =>
    Effect.gen(function*() {
      const copy = yield* crashedCopy(3)
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir: copy, flushInterval: "1 hour" })
        return table.stats().commits
      }))
      assert.strictEqual(first, 1, "recovery commits the replayed records at once")
      assert.deepStrictEqual(yield* ids(copy), Array.from({ length: 30 }, (_, i) => i))
      // reopening again replays nothing: the txn watermark covers the WAL
      const second = yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir: copy, flushInterval: "1 hour" })
        return table.stats().commits
      }))
      assert.strictEqual(second, 0)
      assert.strictEqual((yield* ids(copy)).length, 30)
      assert.deepStrictEqual(yield* conformance(copy), [])
    }))

  it.live("ignores an orphan Parquet file and a torn WAL tail left by the crash", () =>
    Effect.gen(function*() {
      const copy = yield* crashedCopy(2)
      fs.writeFileSync(path.join(copy, "part-00000-00000000-0000-0000-0000-000000000000-c000.snappy.parquet"), "junk")
      const walDir = DeltaTable.walDir(copy)
      const segment = fs.readdirSync(walDir).toSorted().at(-1)!
      fs.appendFileSync(path.join(walDir, segment), Buffer.from([200, 0, 0, 0, 1, 2, 3]))
      yield* Effect.scoped(DeltaTable.open({ dir: copy, flushInterval: "1 hour" }))
      assert.deepStrictEqual(yield* ids(copy), Array.from({ length: 20 }, (_, i) => i))
      assert.deepStrictEqual(yield* conformance(copy), [])
    }))

  it.live("keeps accepting records after recovery, with LSNs above the watermark", () =>
    Effect.gen(function*() {
      const copy = yield* crashedCopy(1)
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir: copy, flushInterval: "1 hour" })
        const stream = yield* table.openStream({ streamId: "after", format: "json" })
        yield* Effect.flatten(stream.append(0, records(100, 5)))
      }))
      // the WAL still holds every frame; only the unmaterialized ones may be replayed
      yield* Effect.scoped(DeltaTable.open({ dir: copy, flushInterval: "1 hour" }))
      assert.deepStrictEqual(yield* ids(copy), [...Array.from({ length: 10 }, (_, i) => i), 100, 101, 102, 103, 104])
    }))

  it.live("durability 'os' acknowledges without fdatasync and recovers the same way", () =>
    Effect.gen(function*() {
      const root = yield* tempDir("zerobus-recovery-")
      const dir = path.join(root, "t")
      yield* DeltaTable.create({ dir, name: "main.default.t", schema })
      yield* Effect.scoped(Effect.gen(function*() {
        const table = yield* DeltaTable.open({ dir, durability: "os", flushInterval: "1 hour" })
        const stream = yield* table.openStream({ streamId: "s", format: "json" })
        yield* Effect.flatten(stream.append(0, records(0, 10)))
        assert.strictEqual(table.stats().wal.syncs, 0)
      }))
      assert.strictEqual((yield* ids(dir)).length, 10)
    }))
})
