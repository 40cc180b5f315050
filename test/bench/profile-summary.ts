/**
 * Summarises a V8 `.cpuprofile` (from `npm run bench -- --profile`, or `node --cpu-prof`): self
 * time per function and per area (grpc-js, effect, this library, protobuf-es, Node core, GC, ...),
 * and the inclusive time (with callees) of this library's functions.
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
  readonly columnNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number> | undefined
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
  /** This library's functions (`src/`) by inclusive time: their own and their callees'. */
  readonly inclusive: ReadonlyArray<Entry>
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

// ---- source maps (the benchmark's compiled JavaScript maps back to the .ts lines) ----
const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Per generated line: segments `[column, source, line, column]`, in column order. */
type Mappings = ReadonlyArray<ReadonlyArray<readonly [number, number, number, number]>>

interface SourceMap {
  readonly sources: ReadonlyArray<string>
  readonly lines: Mappings
}

const decodeMappings = (text: string): Mappings => {
  const lines: Array<Array<readonly [number, number, number, number]>> = []
  let source = 0
  let line = 0
  let column = 0
  for (const lineText of text.split(";")) {
    const segments: Array<readonly [number, number, number, number]> = []
    let generated = 0
    for (const segment of lineText.split(",")) {
      if (segment === "") continue
      const values: Array<number> = []
      let value = 0
      let shift = 0
      for (const char of segment) {
        const digit = BASE64.indexOf(char)
        value += (digit & 31) << shift
        if (digit & 32) {
          shift += 5
        } else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      generated += values[0] ?? 0
      if (values.length >= 4) {
        source += values[1]!
        line += values[2]!
        column += values[3]!
        segments.push([generated, source, line, column])
      }
    }
    lines.push(segments)
  }
  return lines
}

const maps = new Map<string, SourceMap | undefined>()

const sourceMapOf = (file: string): SourceMap | undefined => {
  if (maps.has(file)) return maps.get(file)
  let map: SourceMap | undefined
  try {
    const raw: { sources: Array<string>; sourceRoot?: string; mappings: string } = JSON.parse(
      fs.readFileSync(`${file}.map`, "utf8")
    )
    const dir = path.dirname(file)
    map = {
      sources: raw.sources.map((source) => path.resolve(dir, raw.sourceRoot ?? "", source)),
      lines: decodeMappings(raw.mappings)
    }
  } catch {
    map = undefined
  }
  maps.set(file, map)
  return map
}

/** The original file and 1-based line of a position in compiled JavaScript, when a map exists. */
const original = (u: string, line: number, column: number): { file: string; line: number } | undefined => {
  if (!u.startsWith("file://") || !u.endsWith(".js")) return undefined
  const map = sourceMapOf(url.fileURLToPath(u))
  const segments = map?.lines[line]
  if (map === undefined || segments === undefined || segments.length === 0) return undefined
  let found = segments[0]!
  for (const segment of segments) {
    if (segment[0] > column) break
    found = segment
  }
  const file = map.sources[found[1]]
  return file === undefined ? undefined : { file, line: found[2] + 1 }
}

const nameOf = (frame: CallFrame): string => {
  const mapped = original(frame.url, frame.lineNumber, frame.columnNumber)
  const where = mapped === undefined ? shortUrl(frame.url) : shortUrl(mapped.file)
  const line = mapped === undefined ? frame.lineNumber + 1 : mapped.line
  return `${frame.functionName || "(anonymous)"}${where === "" ? "" : ` ${where}:${line}`}`
}

/** Self time per function and per area; inclusive time of this library's functions. */
export const summarize = (profile: CpuProfile): Summary => {
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  const functions = new Map<string, { area: string; ms: number }>()
  const areas = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const seen = new Set<string>()
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)
    if (node === undefined) continue
    // timeDeltas[i] is the time before sample i; attribute the next delta to this sample.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    const frame = node.callFrame
    const area = areaOf(frame)
    const name = nameOf(frame)
    const entry = functions.get(name)
    if (entry === undefined) functions.set(name, { area, ms })
    else entry.ms += ms
    areas.set(area, (areas.get(area) ?? 0) + ms)
    // Each of our functions on the stack, once per sample.
    seen.clear()
    for (let id: number | undefined = node.id, depth = 0; id !== undefined && depth < 10_000; depth++) {
      const at = byId.get(id)
      if (at === undefined) break
      if (areaOf(at.callFrame) === "effect-zerobus (src)") {
        const key = nameOf(at.callFrame)
        if (!seen.has(key)) {
          seen.add(key)
          inclusive.set(key, (inclusive.get(key) ?? 0) + ms)
        }
      }
      id = parent.get(id)
    }
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
    areas: sorted([...areas].map(([name, ms]) => ({ name, area: name, ms })).filter((e) => e.area !== "idle")),
    inclusive: sorted([...inclusive].map(([name, ms]) => ({ name, area: "effect-zerobus (src)", ms })))
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
    ...summary.functions.slice(0, top).map((f) => `  ${pct(f.ms)}  ${f.name}  [${f.area}]`),
    ...(summary.inclusive.length === 0 ? [] : [
      `this library's functions by inclusive time (with callees), top ${Math.min(top, 12)}:`,
      ...summary.inclusive.slice(0, Math.min(top, 12)).map((f) => `  ${pct(f.ms)}  ${f.name}`)
    ])
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
