/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`, or `node --cpu-prof`): self
 * time per function and per area (grpc-js, effect, this library, protobuf-es, Node core, GC, ...).
 *
 *   node --import tsx test/bench/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as url from "node:url"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
}

/** The parts of a `.cpuprofile` used here. */
export interface CpuProfile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** Self time of one function or area. */
export interface Entry {
  readonly name: string
  readonly area: string
  readonly ms: number
}

/** A summarised profile. */
export interface Summary {
  /** Sampled time, idle excluded (ms). */
  readonly busyMs: number
  readonly idleMs: number
  readonly functions: ReadonlyArray<Entry>
  readonly areas: ReadonlyArray<Entry>
}

/** The area a frame's code belongs to. */
export const areaOf = (frame: CallFrame): string => {
  const name = frame.functionName
  if (name === "(idle)") return "idle"
  if (name === "(garbage collector)") return "GC"
  if (name === "(program)") return "V8/native (program)"
  const u = frame.url
  if (u.includes("/@grpc/grpc-js/")) return "grpc-js"
  if (u.includes("/node_modules/effect/")) return "effect"
  if (u.includes("/@bufbuild/protobuf/")) return "protobuf-es"
  if (u.includes("/src/local/")) return "Zerobus Local"
  if (u.includes("/src/")) return "effect-zerobus (src)"
  if (u.includes("/test/bench/") || u.includes("/test/support/")) return "benchmark code"
  if (u.includes("/@databricks/") || u.includes("zerobus-official-sdk")) return "official SDK (JS side)"
  if (u.startsWith("node:")) return "node core"
  if (u === "") return "native/builtins"
  return "other JS"
}

const shortUrl = (u: string): string => {
  if (u === "") return ""
  const file = u.startsWith("file://") ? url.fileURLToPath(u) : u
  const nm = file.lastIndexOf("node_modules/")
  if (nm >= 0) return file.slice(nm + "node_modules/".length)
  const src = file.lastIndexOf("/src/")
  if (src >= 0) return file.slice(src + 1)
  const test = file.lastIndexOf("/test/")
  if (test >= 0) return file.slice(test + 1)
  return path.basename(file)
}

const sorted = (entries: ReadonlyArray<Entry>): ReadonlyArray<Entry> => entries.toSorted((a, b) => b.ms - a.ms)

/** Self time per function and per area. */
export const summarize = (profile: CpuProfile): Summary => {
  const byId = new Map<number, ProfileNode>()
  for (const node of profile.nodes) byId.set(node.id, node)
  const functions = new Map<string, { area: string; ms: number }>()
  const areas = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    // timeDeltas[i] is the time before sample i; attribute the next delta to this sample.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    const frame = node.callFrame
    const area = areaOf(frame)
    const where = shortUrl(frame.url)
    const name = `${frame.functionName || "(anonymous)"}${where === "" ? "" : ` ${where}:${frame.lineNumber + 1}`}`
    const entry = functions.get(name)
    if (entry === undefined) functions.set(name, { area, ms })
    else entry.ms += ms
    areas.set(area, (areas.get(area) ?? 0) + ms)
  }
  const idleMs = areas.get("idle") ?? 0
  let busyMs = 0
  for (const [area, ms] of areas) if (area !== "idle") busyMs += ms
  return {
    busyMs,
    idleMs,
    functions: sorted(
      [...functions].map(([name, { area, ms }]) => ({ name, area, ms })).filter((e) => e.area !== "idle")
    ),
    areas: sorted([...areas].map(([name, ms]) => ({ name, area: name, ms })).filter((e) => e.area !== "idle"))
  }
}

/** The summary as text: areas, then the top `top` functions by self time (% of busy time). */
export const format = (summary: Summary, top = 25): string => {
  const pct = (ms: number) => `${(100 * ms / Math.max(summary.busyMs, 1e-9)).toFixed(1).padStart(5)}%`
  const lines = [
    `busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms`,
    "self time by area:",
    ...summary.areas.map((a) => `  ${pct(a.ms)}  ${a.name}`),
    `top ${top} functions by self time:`,
    ...summary.functions.slice(0, top).map((f) => `  ${pct(f.ms)}  ${f.name}  [${f.area}]`)
  ]
  return lines.join("\n")
}

/** Reads a `.cpuprofile` file. */
export const read = (file: string): CpuProfile => JSON.parse(fs.readFileSync(file, "utf8"))

if (process.argv[1] !== undefined && import.meta.url === url.pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2]
  if (file === undefined) {
    console.error("usage: profile-summary.ts <file.cpuprofile> [--top N]")
    process.exit(2)
  }
  const topIndex = process.argv.indexOf("--top")
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1] ?? 25) : 25
  console.log(format(summarize(read(file)), top))
}
