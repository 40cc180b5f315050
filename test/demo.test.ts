/**
 * The main job (`npm run demo`) runs end to end: a small run in a temporary data directory must
 * report as many records stored as sent, and the Delta table it names must hold them.
 */
import { assert, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { runNode } from "./cli/spawn.ts"

it("npm run demo streams records into a Delta table and stores every one", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "zerobus-demo-"))
  try {
    const { code, stdout, stderr } = await runNode("examples/demo.ts", ["--records", "20000", "--data", dataDir], {
      timeoutMs: 60_000
    })
    assert.strictEqual(code, 0, stderr)
    assert.include(stdout, "records sent:    20,000")
    assert.include(stdout, "records stored:  20,000")
    const table = path.join(dataDir, "main", "demo", "sensor_readings")
    assert.include(stdout, `Delta table:     ${table}`)
    assert.include(stdout, "read_parquet")
    const commits = fs.readdirSync(path.join(table, "_delta_log")).filter((f) => f.endsWith(".json"))
    assert.isAtLeast(commits.length, 2)
    const rows = commits
      .flatMap((f) => fs.readFileSync(path.join(table, "_delta_log", f), "utf8").split("\n"))
      .filter((line) => line.includes("\"add\""))
      .map((line) => JSON.parse(JSON.parse(line).add.stats).numRecords)
      .reduce((a, b) => a + b, 0)
    assert.strictEqual(rows, 20_000)
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
  }
})
