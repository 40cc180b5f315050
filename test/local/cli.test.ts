import { assert, describe, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Option, Redacted } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { pathToFileURL } from "node:url"
import * as Table from "../../src/Table.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import { conformance, readDelta } from "../support/delta/DuckDb.ts"
import { tempDir } from "../support/delta/fixtures.ts"
import { fetchToken } from "../support/oauth.ts"
import { openStream, RawClient } from "../support/rawClient.ts"

const root = Path.resolve(import.meta.dirname, "../..")
/** The tsx loader by absolute URL, so that the CLI can run in any working directory. */
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

/** A running `zerobus` process with its output so far. */
interface Cli {
  readonly child: ChildProcess
  readonly output: () => string
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
  readonly exited: Promise<number | null>
}

const startCli = (args: ReadonlyArray<string>, cwd = root): Cli => {
  const child = spawn(
    process.execPath,
    ["--conditions=zerobus-source", "--import", tsx, Path.join(root, "src/bin/zerobus.ts"), ...args],
    { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } }
  )
  let output = ""
  const listeners = new Set<() => void>()
  const onChunk = (chunk: Buffer) => {
    output += chunk.toString()
    for (const listener of listeners) listener()
  }
  child.stdout?.on("data", onChunk)
  child.stderr?.on("data", onChunk)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const waitFor = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output)
        if (match === null) return
        clearTimeout(timer)
        listeners.delete(check)
        resolve(match)
      }
      const timer = setTimeout(() => {
        listeners.delete(check)
        reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output}`))
      }, timeoutMs)
      listeners.add(check)
      check()
    })
  return { child, output: () => output, waitFor, exited }
}

/** Runs the CLI in the test's scope; kills it (SIGKILL) if it still runs when the scope closes. */
const cli = (args: ReadonlyArray<string>, cwd?: string) =>
  Effect.acquireRelease(
    Effect.sync(() => startCli(args, cwd)),
    (running) =>
      Effect.promise(() => {
        if (running.child.exitCode === null) running.child.kill("SIGKILL")
        return running.exited
      })
  )

const exported = (output: string, name: string): string => {
  const match = new RegExp(`^export ${name}=(\\S+)$`, "m").exec(output)
  assert.isNotNull(match, `${name} in\n${output}`)
  return match![1]!
}

describe("zerobus local (CLI)", () => {
  it.live("prints endpoints and credentials, serves a client, logs stream events, stops on SIGTERM", () =>
    Effect.gen(function*() {
      const running = yield* cli([
        "local",
        "--memory",
        "--client-id",
        "cli-user",
        "--client-secret",
        "cli-secret",
        "--workspace-id",
        "4242"
      ])
      yield* Effect.promise(() => running.waitFor(/Press Ctrl\+C to stop\./))
      const output = running.output()
      const endpoint = exported(output, "ZEROBUS_SERVER_ENDPOINT")
      const workspaceUrl = exported(output, "DATABRICKS_WORKSPACE_URL")
      assert.match(endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.match(workspaceUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.strictEqual(exported(output, "DATABRICKS_CLIENT_ID"), "cli-user")
      // A secret given on the command line is not echoed.
      assert.notInclude(output, "cli-secret")
      assert.match(output, /Workspace id: +4242/)

      const table = "main.cli.events"
      const token = yield* Effect.promise(() =>
        fetchToken(workspaceUrl, { clientId: "cli-user", clientSecret: "cli-secret", table, workspaceId: "4242" })
      )
      const client = new RawClient(endpoint)
      const { call, streamId } = yield* Effect.promise(() => openStream(client, { token, table }))
      call.json(0, "{\"from\":\"cli test\"}")
      call.halfClose()
      assert.strictEqual((yield* Effect.promise(() => call.status())).code, grpc.status.OK)
      client.close()
      yield* Effect.promise(() =>
        running.waitFor(new RegExp(`INFO stream ${streamId} on ${table}: closed by the client`))
      )
      assert.match(running.output(), new RegExp(`INFO stream ${streamId} opened on ${table} \\(json\\)\\n`))
      const records = yield* Effect.promise(() =>
        fetch(`${workspaceUrl}/admin/tables/${table}/records`).then((r) => r.json())
      )
      assert.deepStrictEqual(records.map((r: { value: unknown }) => r.value), [{ from: "cli test" }])

      // Interrupted by the signal: finalizers run, then Effect's runtime exits with 130.
      running.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 130)
      assert.match(running.output(), /Zerobus Local stopped\./)
    }))

  it.live("the default principal's secret is printed; --storage discard keeps nothing", () =>
    Effect.gen(function*() {
      const running = yield* cli(["local", "--storage", "discard", "--stream-lifetime", "10 minutes"])
      yield* Effect.promise(() => running.waitFor(/Press Ctrl\+C to stop\./))
      const output = running.output()
      assert.strictEqual(exported(output, "DATABRICKS_CLIENT_ID"), "zerobus-local")
      assert.strictEqual(exported(output, "DATABRICKS_CLIENT_SECRET"), "zerobus-local-secret")
      assert.match(output, /storage: discard/)
      running.child.kill("SIGINT")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 130)
      assert.match(running.output(), /Zerobus Local stopped\./)
    }))

  it.live("--help describes the command; bad flags are refused", () =>
    Effect.gen(function*() {
      const help = yield* cli(["local", "--help"])
      yield* Effect.promise(() => help.exited)
      assert.match(help.output(), /zerobus local \[flags\]/)
      for (const flag of ["--port", "--http-port", "--host", "--tls-cert", "--tls-key", "--workspace-id"]) {
        assert.include(help.output(), flag)
      }
      for (const flag of ["--client-id", "--client-secret", "--stream-lifetime"]) assert.include(help.output(), flag)
      for (const flag of ["--data", "--memory", "--storage", "--table", "--auto-create", "--flush-interval"]) {
        assert.include(help.output(), flag)
      }
      const bad = yield* cli(["local", "--stream-lifetime", "soon"])
      const code = yield* Effect.promise(() => bad.exited)
      assert.notStrictEqual(code, 0)
      assert.match(bad.output(), /--stream-lifetime must be milliseconds or a duration/)
      // Errors found once the flags parsed: one line on stderr, exit code 1, no stack trace.
      const declaration = yield* cli(["local", "--memory", "--table", "main.a.b=x INTERVAL"])
      assert.strictEqual(yield* Effect.promise(() => declaration.exited), 1)
      assert.match(declaration.output(), /^zerobus local: table main\.a\.b: .*INTERVAL/m)
      assert.notMatch(declaration.output(), /^\s+at /m)
    }))

  it.live("keeps Delta tables in ./.zerobus by default: a declared table holds what the client wrote", () =>
    Effect.gen(function*() {
      const cwd = yield* tempDir("zerobus-cli-cwd-")
      const table = "main.cli.events"
      const running = yield* cli(["local", "--table", `${table}=id BIGINT NOT NULL, message STRING`], cwd)
      yield* Effect.promise(() => running.waitFor(/Press Ctrl\+C to stop\./))
      const tableDir = Path.join(cwd, ".zerobus", "main", "cli", "events")
      assert.match(running.output(), /storage: delta, data in \.zerobus\)/)
      assert.include(running.output(), `${table} (0 records): ${tableDir}`)
      yield* ingestIds(running.output(), table, 0, 10)
      running.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => running.exited), 130)
      // Shutdown commits what the WAL holds.
      const read = yield* readDelta(tableDir, { orderBy: "id" })
      assert.deepStrictEqual(read.columns.map((c) => [c.name, c.type]), [["id", "BIGINT"], ["message", "VARCHAR"]])
      assert.deepStrictEqual(read.rows, Array.from({ length: 10 }, (_, id) => ({ id: String(id), message: `m${id}` })))
    }))

  it.live("--data: a SIGKILLed server keeps every acknowledged record once after a restart", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-cli-crash-")
      const table = "main.cli.crash"
      // Nothing is committed before the kill: every record comes back from the write-ahead log.
      const columns = "id BIGINT NOT NULL, message STRING"
      const args = ["local", "--data", dataDir, "--flush-interval", "1 hour", "--table", `${table}=${columns}`]
      const first = yield* cli(args)
      yield* Effect.promise(() => first.waitFor(/Press Ctrl\+C to stop\./))
      // 30 acknowledged requests of 20 records, then one more in flight when the server is killed.
      const acked = yield* ingestIds(first.output(), table, 0, 600, { kill: () => first.child.kill("SIGKILL") })
      assert.strictEqual(acked, 600)
      yield* Effect.promise(() => first.exited)
      assert.strictEqual(first.child.signalCode, "SIGKILL")

      const second = yield* cli(args)
      yield* Effect.promise(() => second.waitFor(/Press Ctrl\+C to stop\./))
      // A second server on the same data directory is refused with one line.
      const busy = yield* cli(args)
      assert.strictEqual(yield* Effect.promise(() => busy.exited), 1)
      assert.match(busy.output(), /^zerobus local: .*data directory .* is in use by process \d+/m)
      assert.notMatch(busy.output(), /^\s+at /m)
      const replayed = /replaying (\d+) acknowledged records from the WAL/.exec(second.output())
      assert.isNotNull(replayed, second.output())
      assert.isAtLeast(Number(replayed![1]), 600)
      yield* ingestIds(second.output(), table, 1_000, 20)
      second.child.kill("SIGTERM")
      assert.strictEqual(yield* Effect.promise(() => second.exited), 130)

      const tableDir = Path.join(dataDir, "main", "cli", "crash")
      const ids = (yield* readDelta(tableDir, { select: "id", orderBy: "id" })).rows.map((r) => Number(r["id"]))
      assert.strictEqual(new Set(ids).size, ids.length, "no record is in the table twice")
      const present = new Set(ids)
      const missing = [...Array.from({ length: 600 }, (_, i) => i), ...Array.from({ length: 20 }, (_, i) => 1_000 + i)]
        .filter((id) => !present.has(id))
      assert.deepStrictEqual(missing, [], "every acknowledged record is in the table")
      assert.deepStrictEqual(yield* conformance(tableDir), [])
    }))
})

/**
 * Writes `{id, message}` records `from .. from+count-1` with the client to the server whose banner
 * is `output`, 20 per request, waiting for each request's ack; returns how many were acknowledged.
 * With `kill`, one more request is sent and `kill` runs before its ack can be awaited.
 */
const ingestIds = (
  output: string,
  table: string,
  from: number,
  count: number,
  options: { readonly kill?: () => void } = {}
) =>
  Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(Table.json(table), { recovery: false })
    let acked = 0
    for (let start = from; start < from + count; start += 20) {
      const size = Math.min(20, from + count - start)
      const batch = Array.from({ length: size }, (_, i) => ({ id: start + i, message: `m${start + i}` }))
      const offset = yield* stream.ingestBatch(batch)
      yield* stream.waitForOffset(Option.getOrThrow(offset))
      acked += size
    }
    if (options.kill !== undefined) {
      yield* stream.ingestBatch(Array.from({ length: 20 }, (_, i) => ({ id: 100_000 + i, message: "in flight" })))
      options.kill()
      // The stream fails once the connection is gone; closing it reports that, which is expected here.
      yield* Effect.exit(stream.close)
    }
    return acked
  }).pipe(
    Effect.scoped,
    Effect.provide(Zerobus.layer({
      endpoint: exported(output, "ZEROBUS_SERVER_ENDPOINT"),
      unityCatalogUrl: exported(output, "DATABRICKS_WORKSPACE_URL"),
      clientId: exported(output, "DATABRICKS_CLIENT_ID"),
      clientSecret: Redacted.make(exported(output, "DATABRICKS_CLIENT_SECRET"))
    }))
  )
