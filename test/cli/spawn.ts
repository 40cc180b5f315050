/**
 * Runs the `zerobus` command (from the sources, as `npm` users run the built one) in a child
 * process: `zerobus(args, { env, stdin })` resolves with the exit code and the output once the
 * process exits, or kills it after `timeoutMs`.
 */
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as Path from "node:path"

const root = Path.resolve(import.meta.dirname, "../..")

/** What a finished run printed. */
export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Environment for a child: the proxy bypass of the test run, no colours, plus `env`. */
const childEnv = (env: Readonly<Record<string, string>>): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = {}
  for (const key of ["PATH", "HOME", "TMPDIR", "no_proxy", "NO_PROXY", "no_grpc_proxy", "NO_GRPC_PROXY"]) {
    const value = process.env[key]
    if (value !== undefined) base[key] = value
  }
  return { ...base, NO_COLOR: "1", ...env }
}

/** Runs `node <script> ...args` from the repository root. */
export const runNode = (
  script: string,
  args: ReadonlyArray<string>,
  options: {
    readonly env?: Readonly<Record<string, string>>
    readonly stdin?: string | Uint8Array
    readonly timeoutMs?: number
  } = {}
): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--conditions=zerobus-source", "--import", "tsx", script, ...args],
      { cwd: root, env: childEnv(options.env ?? {}), stdio: ["pipe", "pipe", "pipe"] }
    )
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${script} ${args.join(" ")} timed out; stdout:\n${stdout}\nstderr:\n${stderr}`))
    }, options.timeoutMs ?? 30_000)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.on("error", () => {}) // the child may exit before reading everything
    child.stdin.end(options.stdin ?? "")
  })

/** Runs the `zerobus` command. */
export const zerobus = (
  args: ReadonlyArray<string>,
  options: { readonly env?: Readonly<Record<string, string>>; readonly stdin?: string | Uint8Array } = {}
) => Effect.promise(() => runNode("src/bin/zerobus.ts", args, options))
