/**
 * What the runner and the case processes share: the server's coordinates, a case's input and
 * result, and the measured section of a case (wall time, CPU time, optional CPU profile).
 */
import * as Predicate from "effect/Predicate"
import * as fs from "node:fs"
import { Session } from "node:inspector/promises"
import type { Format } from "./fixtures.ts"

/** Where the benchmark server listens (sent by `server.ts`). */
export interface ServerInfo {
  readonly endpoint: string
  readonly workspaceUrl: string
  readonly workspaceId: string
  readonly clientId: string
  readonly clientSecret: string
}

/** What a case process is asked to do (passed as JSON in `BENCH_CASE`). */
export interface CaseInput {
  readonly name: string
  /** The module running it (see `cases.ts`). */
  readonly module: string
  readonly variant: string
  readonly format: Format
  readonly records: number
  readonly server: ServerInfo
  /** Write a CPU profile of the measured section to this path. */
  readonly profile: string | undefined
}

/** Whether a value carries every field of a {@link ServerInfo}. */
export const isServerInfo = (u: unknown): u is ServerInfo =>
  Predicate.isObject(u) &&
  ["endpoint", "workspaceUrl", "workspaceId", "clientId", "clientSecret"].every((key) =>
    Predicate.hasProperty(u, key) && Predicate.isString(u[key])
  )

/** Parses `BENCH_CASE`; throws on anything but a `CaseInput`. */
export const parseCaseInput = (text: string): CaseInput => {
  const u: unknown = JSON.parse(text)
  if (
    Predicate.isObject(u) &&
    Predicate.hasProperty(u, "name") && Predicate.isString(u.name) &&
    Predicate.hasProperty(u, "module") && Predicate.isString(u.module) &&
    Predicate.hasProperty(u, "variant") && Predicate.isString(u.variant) &&
    Predicate.hasProperty(u, "format") && (u.format === "json" || u.format === "proto") &&
    Predicate.hasProperty(u, "records") && Predicate.isNumber(u.records) &&
    Predicate.hasProperty(u, "server") && isServerInfo(u.server)
  ) {
    const profile = Predicate.hasProperty(u, "profile") && Predicate.isString(u.profile) ? u.profile : undefined
    return {
      name: u.name,
      module: u.module,
      variant: u.variant,
      format: u.format,
      records: u.records,
      server: u.server,
      profile
    }
  }
  throw new Error(`BENCH_CASE is not a case input: ${text}`)
}

/** What a case reports about its own work. */
export interface Outcome {
  readonly records: number
  /** Record payload bytes sent (not counting framing). */
  readonly bytes: number
  readonly note?: string | undefined
  /** Memory samples (the memory case). */
  readonly memory?: MemoryReport | undefined
}

/** Heap after a forced GC at record-count checkpoints, and the peak of periodic samples. */
export interface MemoryReport {
  readonly checkpoints: ReadonlyArray<{ readonly records: number; readonly heapUsedMb: number; readonly rssMb: number }>
  readonly peakHeapUsedMb: number
  readonly samples: number
}

/** What a case process sends back. */
export type CaseResult =
  | {
    readonly type: "result"
    readonly name: string
    readonly records: number
    readonly bytes: number
    readonly seconds: number
    readonly cpuUserUs: number
    readonly cpuSystemUs: number
    readonly rssStartMb: number
    readonly maxRssMb: number
    readonly note?: string | undefined
    readonly memory?: MemoryReport | undefined
  }
  | { readonly type: "skipped"; readonly name: string; readonly reason: string }

const numberFields = ["records", "bytes", "seconds", "cpuUserUs", "cpuSystemUs", "rssStartMb", "maxRssMb"] as const

const isMemoryReport = (u: unknown): u is MemoryReport =>
  Predicate.isObject(u) &&
  Predicate.hasProperty(u, "checkpoints") && Array.isArray(u.checkpoints) &&
  u.checkpoints.every((p: unknown) =>
    Predicate.isObject(p) &&
    ["records", "heapUsedMb", "rssMb"].every((k) => Predicate.hasProperty(p, k) && Predicate.isNumber(p[k]))
  ) &&
  Predicate.hasProperty(u, "peakHeapUsedMb") && Predicate.isNumber(u.peakHeapUsedMb) &&
  Predicate.hasProperty(u, "samples") && Predicate.isNumber(u.samples)

/** Checks a message from a case process. */
export const asCaseResult = (u: unknown): CaseResult | undefined => {
  if (!Predicate.isObject(u) || !Predicate.hasProperty(u, "name") || !Predicate.isString(u.name)) return undefined
  if (Predicate.hasProperty(u, "type") && u.type === "skipped") {
    return Predicate.hasProperty(u, "reason") && Predicate.isString(u.reason)
      ? { type: "skipped", name: u.name, reason: u.reason }
      : undefined
  }
  if (!Predicate.hasProperty(u, "type") || u.type !== "result") return undefined
  const n: Record<string, number> = {}
  for (const key of numberFields) {
    if (!Predicate.hasProperty(u, key) || !Predicate.isNumber(u[key])) return undefined
    n[key] = u[key]
  }
  const note = Predicate.hasProperty(u, "note") && Predicate.isString(u.note) ? u.note : undefined
  const memory = Predicate.hasProperty(u, "memory") && isMemoryReport(u.memory) ? u.memory : undefined
  return {
    type: "result",
    name: u.name,
    records: n["records"]!,
    bytes: n["bytes"]!,
    seconds: n["seconds"]!,
    cpuUserUs: n["cpuUserUs"]!,
    cpuSystemUs: n["cpuSystemUs"]!,
    rssStartMb: n["rssStartMb"]!,
    maxRssMb: n["maxRssMb"]!,
    note,
    memory
  }
}

/** The measured section of a case: from the first record written to the last one acknowledged. */
export interface Section {
  /** Starts the clock (and the profiler when asked). Call once, after setup. */
  readonly begin: () => Promise<void>
  /** Stops the clock; call once the last record is acknowledged. */
  readonly end: () => Promise<void>
}

/** Measurements of a finished section. */
export interface Measured {
  readonly seconds: number
  readonly cpuUserUs: number
  readonly cpuSystemUs: number
  readonly rssStartMb: number
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024)

/**
 * Tells the runner (if any) that the measured section begins or ends, and waits for its go-ahead:
 * the runner reads the server's CPU time at both points.
 */
const tellRunner = (event: "begin" | "end"): Promise<void> =>
  new Promise((resolve, reject) => {
    if (process.send === undefined) return resolve()
    const timer = setTimeout(() => {
      process.off("message", onMessage)
      reject(new Error(`the runner did not answer "${event}"`))
    }, 15_000)
    const onMessage = (message: unknown) => {
      if (Predicate.isObject(message) && Predicate.hasProperty(message, "go") && message.go === event) {
        clearTimeout(timer)
        process.off("message", onMessage)
        resolve()
      }
    }
    process.on("message", onMessage)
    process.send({ type: "section", event })
  })

/** A section measuring this process; `measured()` throws unless `begin` and `end` both ran. */
export const makeSection = (profile: string | undefined): Section & { readonly measured: () => Measured } => {
  let startedAt: bigint | undefined
  let cpuStart: NodeJS.CpuUsage | undefined
  let rssStartMb = 0
  let result: Measured | undefined
  let session: Session | undefined
  return {
    begin: async () => {
      if (startedAt !== undefined) throw new Error("section started twice")
      if (profile !== undefined) {
        session = new Session()
        session.connect()
        await session.post("Profiler.enable")
        await session.post("Profiler.setSamplingInterval", { interval: 200 })
        await session.post("Profiler.start")
      }
      await tellRunner("begin")
      rssStartMb = mb(process.memoryUsage.rss())
      cpuStart = process.cpuUsage()
      startedAt = process.hrtime.bigint()
    },
    end: async () => {
      if (startedAt === undefined || cpuStart === undefined) throw new Error("section ended before it began")
      if (result !== undefined) throw new Error("section ended twice")
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9
      const cpu = process.cpuUsage(cpuStart)
      result = { seconds, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, rssStartMb }
      await tellRunner("end")
      if (session !== undefined && profile !== undefined) {
        const { profile: data } = await session.post("Profiler.stop")
        fs.writeFileSync(profile, JSON.stringify(data))
        session.disconnect()
      }
    },
    measured: () => {
      if (result === undefined) throw new Error("the case did not measure a section")
      return result
    }
  }
}

/** A table name unique to this case process. */
export const tableFor = (input: CaseInput): string =>
  `main.bench.${input.name.replace(/[^a-z0-9]/gi, "_")}_${process.pid}`

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
