import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as DeltaTable from "../../../src/local/delta/DeltaTable.ts"
import { conformance, readDelta } from "../../support/delta/DuckDb.ts"
import { tempDir } from "../../support/delta/fixtures.ts"

// The verification kit must be able to fail: each case damages a good table in one way.

const schema = Delta.struct([Delta.field("id", Delta.long, false), Delta.field("ts", Delta.timestamp)])

/** A table with `commits` append commits of one row each (checkpoint every 10). */
const goodTable = (commits: number) =>
  Effect.gen(function*() {
    const root = yield* tempDir("zerobus-verify-")
    const dir = path.join(root, "t")
    yield* DeltaTable.create({ dir, name: "main.default.t", schema })
    yield* Effect.scoped(Effect.gen(function*() {
      const table = yield* DeltaTable.open({ dir, flushInterval: "1 hour" })
      const stream = yield* table.openStream({ streamId: "s", format: "json" })
      for (let i = 0; i < commits; i++) {
        yield* Effect.flatten(stream.append(i, [JSON.stringify({ id: i, ts: `2024-01-01T00:00:0${i % 10}.5Z` })]))
        yield* table.flush
      }
    }))
    return dir
  })

const commit = (dir: string, version: number) =>
  path.join(dir, "_delta_log", `${String(version).padStart(20, "0")}.json`)
const edit = (file: string, f: (text: string) => string) => fs.writeFileSync(file, f(fs.readFileSync(file, "utf8")))

describe("verification kit", () => {
  it.live("accepts a good table and detects damaged ones", () =>
    Effect.gen(function*() {
      const dir = yield* goodTable(2)
      assert.deepStrictEqual(yield* conformance(dir), [])
      const cases: ReadonlyArray<readonly [string, (d: string) => void]> = [
        ["size differs", (d) => edit(commit(d, 1), (t) => t.replace(/"size":(\d+)/, "\"size\":1"))],
        ["stats of id", (d) =>
          edit(commit(d, 1), (t) =>
            t.replace("\\\"minValues\\\":{\\\"id\\\":0", "\\\"minValues\\\":{\\\"id\\\":5"))],
        ["numRecords 7", (d) =>
          edit(commit(d, 1), (t) => t.replace("\\\"numRecords\\\":1", "\\\"numRecords\\\":7"))],
        ["commit 0 lacks protocol", (d) =>
          edit(commit(d, 0), (t) =>
            t.split("\n").filter((l) => !l.startsWith("{\"protocol\"")).join("\n"))],
        ["not contiguous", (d) =>
          fs.renameSync(commit(d, 2), commit(d, 3))],
        ["below the true max", (d) =>
          edit(commit(d, 1), (t) =>
            t.replace(/(maxValues[^}]*ts\\":\\")[^\\]+/, "$12000-01-01T00:00:00.000Z"))],
        ["is missing", (d) =>
          fs.rmSync(path.join(d, JSON.parse(fs.readFileSync(commit(d, 1), "utf8").split("\n")[2]!).add.path))],
        ["written 2 times", (d) =>
          fs.appendFileSync(commit(d, 2), fs.readFileSync(commit(d, 1), "utf8").split("\n")[2]! + "\n")]
      ]
      for (const [expected, damage] of cases) {
        const copy = `${dir}-${expected.replaceAll(" ", "-")}`
        fs.cpSync(dir, copy, { recursive: true })
        damage(copy)
        const problems = yield* conformance(copy)
        assert.isTrue(
          problems.some((p) =>
            p.includes(expected)
          ),
          `${expected}: ${JSON.stringify(problems)}`
        )
        fs.rmSync(copy, { recursive: true, force: true })
      }
    }))

  it.live("compares checkpoints with the JSON replay", () =>
    Effect.gen(function*() {
      const dir = yield* goodTable(11)
      assert.deepStrictEqual(yield* conformance(dir), [])
      const log = path.join(dir, "_delta_log")
      // a checkpoint claiming version 11 that holds version 10's state
      fs.copyFileSync(
        path.join(log, `${"10".padStart(20, "0")}.checkpoint.parquet`),
        path.join(log, `${"11".padStart(20, "0")}.checkpoint.parquet`)
      )
      const problems = yield* conformance(dir)
      assert.isTrue(problems.some((p) => p.includes("checkpoint 11: files differ")), JSON.stringify(problems))
      assert.isTrue(problems.some((p) => p.includes("checkpoint 11: txn differs")), JSON.stringify(problems))
    }))

  it.live("the SQL replay honours remove actions", () =>
    Effect.gen(function*() {
      const dir = yield* goodTable(3)
      const add = JSON.parse(fs.readFileSync(commit(dir, 2), "utf8").split("\n")[2]!).add
      fs.writeFileSync(
        commit(dir, 4),
        JSON.stringify({ remove: { path: add.path, deletionTimestamp: 1, dataChange: true } }) + "\n"
      )
      const read = yield* readDelta(dir, { select: "id", orderBy: "id" })
      assert.deepStrictEqual(read.rows, [{ id: "0" }, { id: "2" }])
      assert.strictEqual(read.version, 4)
    }))
})
