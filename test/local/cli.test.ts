import { assert, describe, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Path from "node:path"
import { fetchToken } from "../support/oauth.ts"
import { openStream, RawClient } from "../support/rawClient.ts"

const root = Path.resolve(import.meta.dirname, "../..")

/** A running `zerobus` process with its output so far. */
interface Cli {
  readonly child: ChildProcess
  readonly output: () => string
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
  readonly exited: Promise<number | null>
}

const startCli = (args: ReadonlyArray<string>): Cli => {
  const child = spawn(
    process.execPath,
    ["--conditions=zerobus-source", "--import", "tsx", "src/bin/zerobus.ts", ...args],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } }
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

/** Runs the CLI in the test's scope; stops it (SIGTERM) when the scope closes. */
const cli = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync(() => startCli(args)),
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
      const bad = yield* cli(["local", "--stream-lifetime", "soon"])
      const code = yield* Effect.promise(() => bad.exited)
      assert.notStrictEqual(code, 0)
      assert.match(bad.output(), /--stream-lifetime must be milliseconds or a duration/)
    }))
})
