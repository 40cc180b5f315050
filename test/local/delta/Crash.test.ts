import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as DeltaTable from "../../../src/local/delta/DeltaTable.ts"
import { conformance, readDelta } from "../../support/delta/DuckDb.ts"
import { tempDir } from "../../support/delta/fixtures.ts"

const root = path.resolve(import.meta.dirname, "../../..")
const script = path.join(root, "test/support/delta/crash-writer.ts")

/** Deterministic PRNG (mulberry32). */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

interface Run {
  readonly acked: ReadonlyArray<readonly [number, number]>
  readonly killed: boolean
}

/** Runs the writer until it has acknowledged `acks` batches, waits `delayMs`, then SIGKILLs it. */
const runWriter = (dir: string, firstId: number, acks: number, delayMs: number) =>
  Effect.callback<Run, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, dir, String(firstId)], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"]
    })
    const acked: Array<readonly [number, number]> = []
    let stderr = ""
    let pending = ""
    let killing = false
    const timeout = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString()
      const lines = pending.split("\n")
      pending = lines.pop() ?? ""
      for (const line of lines) {
        const m = /^ack (\d+) (\d+)$/.exec(line)
        if (m !== null) acked.push([Number(m[1]), Number(m[2])])
      }
      if (!killing && acked.length >= acks) {
        killing = true
        setTimeout(() => child.kill("SIGKILL"), delayMs)
      }
    })
    child.on("exit", (_code, signal) => {
      clearTimeout(timeout)
      if (signal === "SIGKILL" && killing) resume(Effect.succeed({ acked, killed: true }))
      else resume(Effect.fail(new Error(`writer ended early (${signal ?? _code}): ${stderr}`)))
    })
    return Effect.sync(() => {
      clearTimeout(timeout)
      child.kill("SIGKILL")
    })
  })

describe("crash recovery", () => {
  it.live("every acknowledged record is in the table exactly once after SIGKILLs", () =>
    Effect.gen(function*() {
      const base = yield* tempDir("zerobus-crash-")
      const dir = path.join(base, "main", "default", "crash")
      yield* DeltaTable.create({
        dir,
        name: "main.default.crash",
        schema: Delta.struct([
          Delta.field("id", Delta.long, false),
          Delta.field("writer", Delta.integer, false),
          Delta.field("payload", Delta.string)
        ])
      })
      const random = prng(20261124)
      const acked = new Set<number>()
      const kills = 5
      for (let run = 0; run < kills; run++) {
        const result = yield* runWriter(
          dir,
          (run + 1) * 10_000_000,
          3 + Math.floor(random() * 40),
          Math.floor(random() * 25)
        )
        assert.isTrue(result.killed)
        for (const [first, last] of result.acked) for (let id = first; id <= last; id++) acked.add(id)
      }
      assert.isAbove(acked.size, 0)
      // a last restart recovers what the final kill left in the WAL, then closes cleanly
      yield* Effect.scoped(DeltaTable.open({ dir, flushInterval: "1 hour" }))

      const read = yield* readDelta(dir, { select: "id" })
      const ids = read.rows.map((r) => Number(r["id"]))
      const unique = new Set(ids)
      assert.strictEqual(ids.length, unique.size, "no record is in the table twice")
      const missing = [...acked].filter((id) => !unique.has(id))
      assert.deepStrictEqual(missing.slice(0, 10), [], `${missing.length} acknowledged records are missing`)
      assert.deepStrictEqual(yield* conformance(dir), [])
    }), { timeout: 180_000 })
})
