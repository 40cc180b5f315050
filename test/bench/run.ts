/**
 * The benchmark runner (`npm run bench`). Starts Zerobus Local in its own process (in memory,
 * acks only: discard storage), runs every case in its own process (so CPU time and peak RSS are
 * per case), then prints one table, the ratios to the native client, the memory check and the
 * issue's targets with PASS/FAIL computed from this run's ratios.
 *
 *   npm run bench                          # every case, 1,000,000 records (5,000,000 for memory)
 *   npm run bench -- --quick               # 100,000 records (500,000 for memory)
 *   npm run bench -- --case sink-json      # one case (comma-separated names, `*` wildcards)
 *   npm run bench -- --case 'batch1000-*,grpc-batch1000-*'
 *   npm run bench -- --records 250000      # another base record count
 *   npm run bench -- --profile [dir]       # also write CPU profiles: each case's measured section, and
 *                                          # the server for the whole run (profile one case to attribute)
 *   npm run bench -- --repeat 3            # run every case 3 times (round robin); report medians
 *   npm run bench -- --out results.json    # also save the raw results
 *   npm run bench -- --wait-quiet [s]      # first wait (at most s seconds, default 900) until other
 *                                          # processes use under 0.3 cores (shared machines)
 *   npm run bench -- --list                # list the cases
 *   npm run bench -- --tsx                 # run the processes from the TypeScript sources (tsx)
 *   npm run bench -- --shared-server       # one server for every case (default: a fresh one per case)
 *
 * By default the runner first compiles the cases, the server and the sources they import with
 * `tsc -p test/bench/tsconfig.json` into a temporary directory and runs them with plain `node`,
 * as users run the published JavaScript: under the tsx loader a process holds about 80 MB more
 * (peak RSS), which would distort the memory figures. `--tsx` skips the compilation.
 *
 * See docs/performance.md for what each row means.
 */
import * as Predicate from "effect/Predicate"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as url from "node:url"
import { allCases, type CaseDef } from "./cases.ts"
import { asCaseResult, type CaseResult, isServerInfo, type ServerInfo } from "./harness.ts"
import * as ProfileSummary from "./profile-summary.ts"

const here = path.dirname(url.fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")

// ---- arguments -------------------------------------------------------------------------------
const args = process.argv.slice(2)
const flag = (name: string): boolean => args.includes(name)
const option = (name: string): string | undefined => {
  const i = args.indexOf(name)
  const value = i >= 0 ? args[i + 1] : undefined
  return value === undefined || value.startsWith("--") ? undefined : value
}
const quick = flag("--quick")
const base = Number(option("--records") ?? (quick ? 100_000 : 1_000_000))
if (!Number.isInteger(base) || base < 1000) throw new Error("--records must be an integer >= 1000")
const profileDir = flag("--profile")
  ? path.resolve(option("--profile") ?? path.join(os.tmpdir(), "zerobus-bench-profiles"))
  : undefined
const out = option("--out")
const useTsx = flag("--tsx")
/**
 * One server for the whole run (`--shared-server`, and always when profiling, so the server
 * profile covers the run), or a fresh one per case (the default), so no case inherits the heap
 * and JIT state that earlier cases left in the server.
 */
const sharedServer = flag("--shared-server") || profileDir !== undefined
const waitQuiet = flag("--wait-quiet") ? Number(option("--wait-quiet") ?? 900) : 0
if (!Number.isFinite(waitQuiet) || waitQuiet < 0) throw new Error("--wait-quiet takes a number of seconds")
const repeat = Number(option("--repeat") ?? 1)
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 20) throw new Error("--repeat must be an integer from 1 to 20")

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`)
const selectors = args.flatMap((arg, i) => args[i - 1] === "--case" ? arg.split(",") : []).filter((s) => s !== "")
const selected = selectors.length === 0
  ? allCases
  : allCases.filter((c) => selectors.some((s) => globToRegExp(s).test(c.name)))

if (flag("--list")) {
  for (const c of allCases) {
    console.log(`${c.name.padEnd(26)} ${c.label}${c.ceiling === undefined ? "" : `  (ratio to ${c.ceiling})`}`)
  }
  process.exit(0)
}
if (selected.length === 0) throw new Error(`no case matches ${selectors.join(", ")} (see --list)`)

// ---- build -----------------------------------------------------------------------------------
/** Where the compiled benchmark lives, removed on exit. */
let buildDir: string | undefined

const removeBuild = () => {
  if (buildDir === undefined) return
  const dir = buildDir
  buildDir = undefined
  // unlink the node_modules link first: never recurse into the real node_modules
  fs.rmSync(path.join(dir, "node_modules"), { force: true })
  fs.rmSync(dir, { recursive: true, force: true })
}

/** Compiles `case.ts`, `server.ts` and what they import; returns the directory of `case.js`. */
const build = (): string => {
  // With --profile the build stays next to the profiles (its source maps name the .ts lines).
  const dir = profileDir === undefined
    ? fs.mkdtempSync(path.join(os.tmpdir(), "zerobus-bench-"))
    : path.join(profileDir, "zerobus-bench-build")
  if (profileDir === undefined) {
    buildDir = dir
  } else {
    fs.rmSync(path.join(dir, "node_modules"), { force: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const tsc = spawnSync(
    process.execPath,
    [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(here, "tsconfig.json"), "--outDir", dir],
    { encoding: "utf8", timeout: 180_000 }
  )
  const compiled = path.join(dir, "test/bench")
  if (!fs.existsSync(path.join(compiled, "case.js")) || !fs.existsSync(path.join(compiled, "server.js"))) {
    throw new Error(`tsc did not compile the benchmark (status ${tsc.status}): ${tsc.stdout}${tsc.stderr}`)
  }
  // Type errors elsewhere in the tree (work in progress) do not stop the emit; say so.
  if (tsc.status !== 0) console.log(`note: tsc reported errors (output emitted anyway):\n${tsc.stdout.trim()}`)
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }))
  fs.symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir")
  return compiled
}

// ---- child processes -------------------------------------------------------------------------
const children = new Set<ChildProcess>()
const killAll = () => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
  removeBuild()
}
process.on("exit", killAll)
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAll()
    process.exit(130)
  })
}

const track = (child: ChildProcess): ChildProcess => {
  children.add(child)
  child.once("exit", () => children.delete(child))
  return child
}

/** Resolves with the first IPC message satisfying `accept`, or rejects after `ms`. */
const nextMessage = <A>(child: ChildProcess, ms: number, accept: (u: unknown) => A | undefined): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", onMessage)
      reject(new Error(`no answer within ${ms} ms`))
    }, ms)
    const onMessage = (message: unknown) => {
      const accepted = accept(message)
      if (accepted === undefined) return
      clearTimeout(timer)
      child.off("message", onMessage)
      resolve(accepted)
    }
    child.on("message", onMessage)
  })

interface Server {
  readonly info: ServerInfo
  readonly cpuSeconds: () => Promise<number>
  readonly stop: () => Promise<void>
}

/** The script `name` (without extension) and the node arguments to run it. */
interface Scripts {
  readonly command: (name: "case" | "server", extra?: ReadonlyArray<string>) => Array<string>
}

const scriptsIn = (compiled: string | undefined): Scripts => ({
  command: (name, extra = []) =>
    compiled === undefined
      ? ["--conditions=zerobus-source", "--import", "tsx", ...extra, path.join(here, `${name}.ts`)]
      : [...extra, path.join(compiled, `${name}.js`)]
})

const startServer = async (scripts: Scripts): Promise<Server> => {
  const profiling = profileDir === undefined
    ? []
    : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-name=server.cpuprofile"]
  const child = track(spawn(process.execPath, scripts.command("server", profiling), {
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  }))
  const info = await nextMessage(
    child,
    60_000,
    (m): ServerInfo | undefined =>
      Predicate.isObject(m) && m["type"] === "ready" && isServerInfo(m)
        ? {
          endpoint: m.endpoint,
          workspaceUrl: m.workspaceUrl,
          workspaceId: m.workspaceId,
          clientId: m.clientId,
          clientSecret: m.clientSecret
        }
        : undefined
  )
  return {
    info,
    cpuSeconds: async () => {
      const answer = nextMessage(
        child,
        10_000,
        (m) =>
          Predicate.isObject(m) && m["type"] === "usage" && typeof m["cpuUser"] === "number" &&
            typeof m["cpuSystem"] === "number"
            ? (m["cpuUser"] + m["cpuSystem"]) / 1e6
            : undefined
      )
      child.send({ type: "usage" })
      return answer
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000)
        child.once("exit", () => {
          clearTimeout(timer)
          resolve()
        })
        child.kill("SIGTERM")
      })
  }
}

type Result = Extract<CaseResult, { type: "result" }> & {
  readonly def: CaseDef
  /** Server CPU seconds during the measured section (undefined if the case did not report it). */
  readonly serverCpuSeconds: number | undefined
  /**
   * Cores used by other processes during the section: the machine's busy time (`/proc/stat`)
   * minus the client's and the server's, per second. Above ~0.2 the row was disturbed.
   */
  readonly otherCores: number | undefined
}

/** Busy CPU seconds of the whole machine since boot (Linux `/proc/stat`), or undefined elsewhere. */
const machineBusySeconds = (): number | undefined => {
  try {
    const fields = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    const busy = fields.reduce((sum, v, i) => i === 3 || i === 4 || i > 7 ? sum : sum + v, 0)
    return busy / 100 // USER_HZ
  } catch {
    return undefined
  }
}

type Row = Result | { readonly type: "skipped" | "failed"; readonly def: CaseDef; readonly reason: string }

const runCase = async (def: CaseDef, server: Server, scripts: Scripts): Promise<Row> => {
  const records = def.records(base)
  const profile = profileDir === undefined ? undefined : path.join(profileDir, `${def.name}.cpuprofile`)
  const input = {
    name: def.name,
    module: def.module,
    variant: def.variant,
    format: def.format,
    records,
    server: server.info,
    profile
  }
  const extra = def.module === "memory" ? ["--expose-gc"] : []
  const child = track(spawn(process.execPath, scripts.command("case", extra), {
    stdio: ["ignore", "inherit", "pipe", "ipc"],
    env: { ...process.env, BENCH_CASE: JSON.stringify(input) }
  }))
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000)
  })
  // The server's CPU time and the machine's busy time at the start and the end of the measured section.
  const serverCpu: { begin?: number; end?: number } = {}
  const machineCpu: { begin?: number | undefined; end?: number | undefined } = {}
  child.on("message", (m) => {
    if (!Predicate.isObject(m) || m["type"] !== "section") return
    const event = m["event"]
    if (event !== "begin" && event !== "end") return
    machineCpu[event] = machineBusySeconds()
    void server.cpuSeconds().then(
      (seconds) => {
        serverCpu[event] = seconds
      },
      () => {}
    ).finally(() => {
      if (child.connected) child.send({ go: event })
    })
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const result = new Promise<CaseResult | undefined>((resolve) => {
    child.on("message", (m) => {
      const r = asCaseResult(m)
      if (r !== undefined) resolve(r)
    })
    void exited.then(() => resolve(undefined))
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), def.timeoutSeconds * 1000)
  const [message, code] = await Promise.all([result, exited])
  clearTimeout(timer)
  if (message === undefined) {
    const why = code === null ? `killed (time limit ${def.timeoutSeconds} s?)` : `exit code ${code}`
    const detail = stderr.trim().split("\n").slice(-6).join(" | ")
    return { type: "failed", def, reason: `${why}${detail === "" ? "" : `: ${detail}`}` }
  }
  if (message.type === "skipped") return { type: "skipped", def, reason: message.reason }
  const serverCpuSeconds = serverCpu.begin === undefined || serverCpu.end === undefined
    ? undefined
    : serverCpu.end - serverCpu.begin
  const otherCores = machineCpu.begin === undefined || machineCpu.end === undefined || serverCpuSeconds === undefined
    ? undefined
    : Math.max(
      0,
      (machineCpu.end - machineCpu.begin - serverCpuSeconds - (message.cpuUserUs + message.cpuSystemUs) / 1e6) /
        message.seconds
    )
  return { ...message, def, serverCpuSeconds, otherCores }
}

// ---- statistics ------------------------------------------------------------------------------
const x = (v: number): string => `${v.toFixed(2)}x`
const fmtInt = (n: number): string => Math.round(n).toLocaleString("en")
const rate = (r: Result): number => r.records / r.seconds
const cpuPerM = (r: Result): number => (r.cpuUserUs + r.cpuSystemUs) / r.records
const median = (values: ReadonlyArray<number>): number | undefined => {
  if (values.length === 0) return undefined
  const sorted = values.toSorted((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Every repetition's row of every case: `runs[rep].get(name)`. */
type Runs = ReadonlyArray<ReadonlyMap<string, Row>>

const resultsOf = (runs: Runs, name: string): Array<Result> =>
  runs.flatMap((run) => {
    const row = run.get(name)
    return row?.type === "result" ? [row] : []
  })

/** The median over repetitions of `f(case) / f(ceiling)`, paired within each repetition. */
const paired = (runs: Runs, name: string, ceiling: string | undefined, f: (r: Result) => number) => {
  if (ceiling === undefined) return undefined
  return median(runs.flatMap((run) => {
    const r = run.get(name)
    const c = run.get(ceiling)
    return r?.type === "result" && c?.type === "result" ? [f(r) / f(c)] : []
  }))
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join(" | ")} |`
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n")
}

interface Target {
  readonly text: string
  readonly value: number | undefined
  readonly pass: (v: number) => boolean
  readonly show: (v: number) => string
  readonly native?: number | undefined
}

const load = (l: ReadonlyArray<number>): string => l.map((v) => v.toFixed(2)).join(" ")

/** Cores the machine's processes used over the last `ms` (Linux), or undefined elsewhere. */
const busyCores = async (ms: number): Promise<number | undefined> => {
  const before = machineBusySeconds()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const after = machineBusySeconds()
  return before === undefined || after === undefined ? undefined : (after - before) / (ms / 1000)
}

/** Waits until the machine is quiet (under 0.3 busy cores over 3 s), at most `seconds`. */
const waitUntilQuiet = async (seconds: number) => {
  const deadline = Date.now() + seconds * 1000
  for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
    const cores = await busyCores(3000)
    if (cores === undefined || cores < 0.3) {
      if (attempt > 0) console.log(`machine quiet (${cores?.toFixed(2) ?? "?"} busy cores); starting`)
      return
    }
    if (attempt % 10 === 0) console.log(`waiting for a quiet machine: ${cores.toFixed(2)} busy cores`)
  }
  console.log(`the machine did not become quiet within ${seconds} s; running anyway`)
}

// ---- main ------------------------------------------------------------------------------------
const main = async () => {
  if (waitQuiet > 0) await waitUntilQuiet(waitQuiet)
  const started = new Date()
  const loadBefore = os.loadavg()
  console.log(
    `effect-zerobus benchmark: ${selected.length} case(s) x ${repeat}, ${fmtInt(base)} records base` +
      `${quick ? " (--quick)" : ""}; node ${process.version}, ${os.cpus().length} x ${
        os.cpus()[0]?.model ?? "cpu"
      }; processes: ${useTsx ? "tsx (TypeScript sources)" : "compiled JavaScript"}; load ${load(loadBefore)}`
  )
  if (profileDir !== undefined) {
    fs.mkdirSync(profileDir, { recursive: true })
    fs.rmSync(path.join(profileDir, "server.cpuprofile"), { force: true })
  }
  const scripts = scriptsIn(useTsx ? undefined : build())
  const shared = sharedServer ? await startServer(scripts) : undefined
  const runs: Array<Map<string, Row>> = []
  try {
    for (let rep = 0; rep < repeat; rep++) {
      if (repeat > 1) console.log(`repetition ${rep + 1} of ${repeat}`)
      const run = new Map<string, Row>()
      runs.push(run)
      for (const def of selected) {
        process.stdout.write(`  ${def.name.padEnd(26)} ${fmtInt(def.records(base)).padStart(10)} records ... `)
        const server = shared ?? await startServer(scripts)
        const row = await runCase(def, server, scripts).finally(() => shared === undefined ? server.stop() : undefined)
        run.set(def.name, row)
        console.log(
          row.type === "result"
            ? `${fmtInt(rate(row)).padStart(10)} rec/s  ${row.seconds.toFixed(2)} s`
            : `${row.type}: ${row.reason}`
        )
      }
    }
  } finally {
    await shared?.stop()
  }

  const rateOf = (name: string) => median(resultsOf(runs, name).map(rate))
  const ratioTo = (name: string, ceiling: string | undefined) => paired(runs, name, ceiling, rate)
  const cpuRatioTo = (name: string, ceiling: string) => paired(runs, name, ceiling, cpuPerM)

  console.log(
    `\n## Results (${started.toISOString()}, ${fmtInt(base)} records base, ${
      repeat > 1 ? `medians of ${repeat} repetitions, ` : ""
    }load ${load(loadBefore)} -> ${load(os.loadavg())})\n`
  )
  const header = [
    "path",
    "case",
    "records",
    "records/s",
    "MB/s",
    "client CPU s/1M",
    "peak RSS MB",
    "ratio to ceiling",
    "server CPU s/1M",
    "other load",
    ...(repeat > 1 ? ["records/s spread"] : [])
  ]
  const tableRows = selected.filter((def) => def.group !== "memory").map((def) => {
    const results = resultsOf(runs, def.name)
    if (results.length === 0) {
      const last = runs.at(-1)?.get(def.name)
      return [def.label, def.name, "", last?.type ?? "not run", "", "", "", "", "", ""]
    }
    const rates = results.map(rate)
    const ratio = ratioTo(def.name, def.ceiling)
    const serverCpu = median(
      results.flatMap((r) => r.serverCpuSeconds === undefined ? [] : [r.serverCpuSeconds / r.records * 1e6])
    )
    const med = median(rates)!
    const otherLoad = median(results.flatMap((r) => r.otherCores === undefined ? [] : [r.otherCores]))
    return [
      def.label,
      def.name,
      fmtInt(results[0]!.records),
      fmtInt(med),
      median(results.map((r) => r.bytes / r.seconds / 1e6))!.toFixed(1),
      median(results.map(cpuPerM))!.toFixed(2),
      String(Math.max(...results.map((r) => r.maxRssMb))),
      def.ceiling === undefined
        ? "(ceiling)"
        : ratio === undefined
        ? "-"
        : `${ratio.toFixed(2)}x ${def.ceiling.replace(/-(json|proto)$/, "")}`,
      serverCpu === undefined ? "-" : serverCpu.toFixed(2),
      otherLoad === undefined ? "-" : otherLoad.toFixed(2),
      ...(repeat > 1 ? [`${fmtInt(Math.min(...rates))}-${fmtInt(Math.max(...rates))}`] : [])
    ]
  })
  console.log(table(header, tableRows))
  const notRun = runs.flatMap((run) => [...run.values()].flatMap((r) => r.type === "result" ? [] : [r]))
  if (notRun.length > 0) {
    console.log("\nRows that did not run:")
    for (const r of new Map(notRun.map((row) => [row.def.name, row])).values()) {
      console.log(`  ${r.def.name}: ${r.type}: ${r.reason}`)
    }
  }

  // ---- against the native client ----
  const versus: ReadonlyArray<readonly [string, string]> = [
    ["ingest-c1000", "official-c1000"],
    ["ingest-seq", "official-seq"],
    ["ingest-ack", "official-ack"],
    ["batch1000", "official-batch1000"],
    ["sink", "official-batch1000"],
    ["promise-c1000", "official-c1000"],
    ["promise-seq", "official-seq"],
    ["promise-ack", "official-ack"],
    ["promise-batch1000", "official-batch1000"]
  ]
  const versusRows = ["json", "proto"].flatMap((format) =>
    versus.flatMap(([ours, theirs]) => {
      const name = `${ours}-${format}`
      const official = `${theirs}-${format}`
      const r = ratioTo(name, official)
      const c = cpuRatioTo(name, official)
      return r === undefined || c === undefined ? [] : [[name, official, x(r), x(c)]]
    })
  )
  if (versusRows.length > 0) {
    console.log("\n## Ours versus the official client (same run)\n")
    console.log(table(["ours", "official", "records/s ratio", "CPU per record ratio"], versusRows))
  }

  // ---- memory ----
  const memory = resultsOf(runs, "memory-sink-json").at(-1)
  let heapFlat: boolean | undefined
  if (memory?.memory !== undefined) {
    const points = memory.memory.checkpoints
    console.log(`\n## Memory: ${memory.def.label}\n`)
    console.log(
      `${fmtInt(memory.records)} records in ${memory.seconds.toFixed(1)} s (${fmtInt(rate(memory))} rec/s, ` +
        `with a forced GC at each checkpoint); peak RSS ${memory.maxRssMb} MB; peak sampled heapUsed ` +
        `${memory.memory.peakHeapUsedMb} MB (${memory.memory.samples} samples every 100 ms)\n`
    )
    console.log(table(
      ["records", "heapUsed after GC MB", "RSS MB"],
      points.map((p) => [fmtInt(p.records), String(p.heapUsedMb), String(p.rssMb)])
    ))
    const first = points.find((p) => p.records >= memory.records / 5)
    const last = points.at(-1)
    if (first !== undefined && last !== undefined && last.records > first.records) {
      heapFlat = last.heapUsedMb <= first.heapUsedMb * 1.25 + 8
      console.log(
        `\nheap at ${fmtInt(first.records)} records: ${first.heapUsedMb} MB, at ${fmtInt(last.records)}: ` +
          `${last.heapUsedMb} MB: ${heapFlat ? "does not grow with the record count" : "GROWS with the record count"}`
      )
    }
  }

  // ---- targets ----
  const targets: Array<Target> = ["json", "proto"].flatMap((format): Array<Target> => [
    {
      text: `ingestBatch(1000) ${format} >= 0.8x grpc-js batch(1000)`,
      value: ratioTo(`batch1000-${format}`, `grpc-batch1000-${format}`),
      pass: (v) => v >= 0.8,
      show: x,
      native: ratioTo(`official-batch1000-${format}`, `grpc-batch1000-${format}`)
    },
    {
      text: `sink ${format} >= 0.8x grpc-js batch(1000)`,
      value: ratioTo(`sink-${format}`, `grpc-batch1000-${format}`),
      pass: (v) => v >= 0.8,
      show: x,
      native: ratioTo(`official-batch1000-${format}`, `grpc-batch1000-${format}`)
    },
    {
      text: `per-record ingest, calls in flight, ${format} >= 6x grpc-js single`,
      value: ratioTo(`ingest-c1000-${format}`, `grpc-single-${format}`),
      pass: (v) => v >= 6,
      show: x,
      native: ratioTo(`official-c1000-${format}`, `grpc-single-${format}`)
    },
    {
      text: `per-record ingest, awaiting each call, ${format} >= 1x grpc-js single`,
      value: ratioTo(`ingest-seq-${format}`, `grpc-single-${format}`),
      pass: (v) => v >= 1,
      show: x,
      native: ratioTo(`official-seq-${format}`, `grpc-single-${format}`)
    },
    {
      text: `client CPU per record, batch(1000) ${format} <= 1.5x grpc-js batch(1000)'s`,
      value: cpuRatioTo(`batch1000-${format}`, `grpc-batch1000-${format}`),
      pass: (v) => v <= 1.5,
      show: x,
      native: cpuRatioTo(`official-batch1000-${format}`, `grpc-batch1000-${format}`)
    }
  ])
  targets.push(
    {
      text: "memory: peak RSS of the 5M-record sink run < 300 MB",
      value: memory?.maxRssMb,
      pass: (v) => v < 300,
      show: (v) => `${v} MB`
    },
    {
      text: "memory: heap does not grow with the record count",
      value: heapFlat === undefined ? undefined : heapFlat ? 1 : 0,
      pass: (v) => v === 1,
      show: (v) => v === 1 ? "flat" : "grows"
    }
  )
  console.log("\n## Targets (issue 8), from this run's ratios\n")
  console.log(table(
    ["target", "measured", "result", "official client, same run"],
    targets.map((t) => [
      t.text,
      t.value === undefined ? "not run" : t.show(t.value),
      t.value === undefined ? "-" : t.pass(t.value) ? "PASS" : "FAIL",
      t.native === undefined ? "" : x(t.native)
    ])
  ))
  const ackNotes = ["json", "proto"].flatMap((format) => {
    const single = ratioTo(`ingest-ack-${format}`, `grpc-single-${format}`)
    const native = ratioTo(`official-ack-${format}`, `grpc-single-${format}`)
    return single === undefined
      ? []
      : [`${format}: ${x(single)}${native === undefined ? "" : ` (official: ${x(native)})`}`]
  })
  if (ackNotes.length > 0) {
    console.log(
      `\nAwaiting each ack (ingestAndWait) against the pipelined grpc-js single ceiling: ${ackNotes.join("; ")}. ` +
        "It is bound by one round trip per record; its own ceiling is grpc-ackwait (ratio in the table)."
    )
  }
  const ceilingRate = rateOf("grpc-batch1000-json")
  const h2Rate = rateOf("h2-batch1000-json")
  if (ceilingRate !== undefined && h2Rate !== undefined) {
    console.log(
      `grpc-js batch(1000) JSON: ${fmtInt(ceilingRate)} rec/s; hand-framed node:http2 batch(1000) JSON: ${
        fmtInt(h2Rate)
      } rec/s (${x(h2Rate / ceilingRate)}).`
    )
  }

  if (profileDir !== undefined) {
    const serverProfile = path.join(profileDir, "server.cpuprofile")
    if (fs.existsSync(serverProfile)) {
      console.log(`\n## CPU profile of the server, whole run (${serverProfile})\n`)
      console.log(ProfileSummary.format(ProfileSummary.summarize(ProfileSummary.read(serverProfile)), 20))
    }
    console.log(`\n## CPU profiles of the measured sections (${profileDir})`)
    for (const def of selected) {
      const file = path.join(profileDir, `${def.name}.cpuprofile`)
      if (resultsOf(runs, def.name).length === 0 || !fs.existsSync(file)) continue
      console.log(`\n### ${def.name}\n`)
      console.log(ProfileSummary.format(ProfileSummary.summarize(ProfileSummary.read(file)), 15))
    }
  }

  if (out !== undefined) {
    fs.writeFileSync(
      out,
      JSON.stringify(
        {
          started: started.toISOString(),
          base,
          repeat,
          node: process.version,
          cpus: os.cpus().length,
          load: loadBefore,
          runs: runs.map((run) =>
            [...run.values()].map(({ def, ...rest }) => ({ ...rest, label: def.label, ceiling: def.ceiling }))
          )
        },
        null,
        2
      )
    )
    console.log(`\nRaw results written to ${out}`)
  }
}

await main().finally(killAll)
