/**
 * Every example in `examples/` (except the demo, which `npm run demo` runs) against a Zerobus
 * Local started here: each runs as users run it (`node --conditions=zerobus-source --import tsx`,
 * the standard environment variables), must exit with 0, and must leave the expected records in
 * its table. Also checks that `examples/gen/` is what `buf generate` makes of `examples/proto/`,
 * and runs the test suite that docs/effect-patterns.md shows (`examples/snippets/testing.ts`).
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { type Storage, ZerobusLocal } from "../src/local/index.ts"
import { runNode } from "./cli/spawn.ts"
import { localLayer } from "./support/client.ts"
import { uniqueTable } from "./support/local.ts"

// The @effect/vitest suite shown in docs/effect-patterns.md registers its tests here when imported.
// oxlint-disable-next-line import/no-unassigned-import
import "../examples/snippets/testing.ts"

const root = Path.resolve(import.meta.dirname, "..")
const examplesDir = Path.join(root, "examples")

/** A column of the stored records, whatever the encoding (protobuf records use JSON names). */
const column = (records: ReadonlyArray<Storage.StoredRecord>, json: string, proto: string) =>
  records.map((r) => r.value[json] ?? r.value[proto])

const devices = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `sensor-${from + i}`)

interface Example {
  readonly file: string
  /** Checks the records the example stored. */
  readonly check: (records: ReadonlyArray<Storage.StoredRecord>) => void
}

const examples: ReadonlyArray<Example> = [
  {
    file: "json-single.ts",
    check: (records) => {
      assert.deepStrictEqual(column(records, "device_name", "deviceName"), devices(0, 10))
      assert.deepStrictEqual(records[3]?.value, { device_name: "sensor-3", temp: 23, humidity: 53 })
    }
  },
  {
    file: "json-batch.ts",
    check: (records) => {
      assert.lengthOf(records, 100)
      assert.deepStrictEqual(records[26]?.value, { device_name: "sensor-1-1", temp: 16, humidity: 41 })
    }
  },
  {
    file: "proto-generated.ts",
    check: (records) => {
      assert.deepStrictEqual(column(records, "device_name", "deviceName"), [
        ...devices(0, 10),
        "sensor-batch-a",
        "sensor-batch-b"
      ])
      assert.isTrue(records.every((r) => r.format === "proto"))
    }
  },
  {
    file: "proto-schema.ts",
    check: (records) => {
      assert.deepStrictEqual(column(records, "device_name", "deviceName"), devices(0, 10))
      assert.isTrue(records.every((r) => r.format === "proto"))
    }
  },
  {
    file: "stream-pipeline.ts",
    check: (records) => {
      assert.lengthOf(records, 1_840)
      assert.isTrue(records.every((r) => Number(r.value["temp"]) < 38))
    }
  },
  {
    file: "promise.ts",
    check: (records) => {
      assert.deepStrictEqual(column(records, "device_name", "deviceName"), [
        ...devices(0, 10),
        "sensor-a",
        "sensor-b",
        "sensor-c"
      ])
    }
  },
  {
    file: "headers-provider.ts",
    check: (records) => assert.deepStrictEqual(column(records, "device_name", "deviceName"), devices(0, 5))
  }
]

layer(localLayer(), { excludeTestServices: true })("examples", (it) => {
  it.effect("every example in examples/ is run here", () =>
    Effect.sync(() => {
      const files = Fs.readdirSync(examplesDir).filter((f) => f.endsWith(".ts") && f !== "demo.ts").toSorted()
      assert.deepStrictEqual(files, examples.map((e) => e.file).toSorted())
    }))

  it.effect("each example exits with 0 and stores its records in Zerobus Local", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      yield* Effect.forEach(examples, (example) =>
        Effect.gen(function*() {
          const table = uniqueTable("examples")
          const run = yield* Effect.promise(() =>
            runNode(Path.join("examples", example.file), [], {
              env: { ...local.environment(), ZEROBUS_TABLE_NAME: table },
              timeoutMs: 45_000
            })
          )
          assert.strictEqual(run.code, 0, `${example.file}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`)
          example.check(yield* local.records(table))
        }), { concurrency: 3, discard: true })
    }))

  it.effect("examples/gen is what buf generates from examples/proto", () =>
    Effect.sync(() => {
      const out = Fs.mkdtempSync(Path.join(Os.tmpdir(), "zerobus-examples-gen-"))
      try {
        execFileSync(Path.join(root, "node_modules/.bin/buf"), ["generate", "--template", "buf.gen.yaml", "-o", out], {
          cwd: examplesDir,
          env: {
            ...process.env,
            PATH: `${Path.join(root, "node_modules/.bin")}${Path.delimiter}${process.env["PATH"]}`
          }
        })
        const committed = Fs.readdirSync(Path.join(examplesDir, "gen")).toSorted()
        assert.deepStrictEqual(Fs.readdirSync(Path.join(out, "gen")).toSorted(), committed)
        for (const file of committed) {
          assert.strictEqual(
            Fs.readFileSync(Path.join(examplesDir, "gen", file), "utf8"),
            Fs.readFileSync(Path.join(out, "gen", file), "utf8"),
            `examples/gen/${file} is stale: run npx buf generate in examples/`
          )
        }
      } finally {
        Fs.rmSync(out, { recursive: true, force: true })
      }
    }))
})
