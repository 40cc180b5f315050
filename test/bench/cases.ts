/**
 * Every benchmark case: its name (`<variant>-<format>`), the module that runs it, how many
 * records it sends, and the ceiling it is compared with.
 */
import type { Format } from "./fixtures.ts"

/** Which module runs a case (`./<module>.ts`). */
export type CaseModule = "raw" | "h2" | "effect" | "promise" | "official" | "memory"

/** Which part of the table a case belongs to. */
export type CaseGroup = "ceiling" | "client" | "promise" | "official" | "beyond" | "memory"

/** A benchmark case. */
export interface CaseDef {
  readonly name: string
  readonly variant: string
  readonly format: Format
  readonly module: CaseModule
  readonly group: CaseGroup
  /** Short label of the table's `path` column. */
  readonly label: string
  /** Records sent, given the run's record count (1M, or 100k with `--quick`). */
  readonly records: (base: number) => number
  /** Name of the ceiling case (same format) this case's ratio is taken against. */
  readonly ceiling: string | undefined
  /** Wall-clock limit of the case process, in seconds. */
  readonly timeoutSeconds: number
}

const all = (base: number) => base
/** Paths that wait for a round trip per record: fewer records. */
const roundTrips = (base: number) => Math.max(1000, Math.round(base / 20))

interface Template {
  readonly variant: string
  readonly module: CaseModule
  readonly group: CaseGroup
  readonly label: string
  readonly records?: (base: number) => number
  readonly ceiling?: string
  readonly timeoutSeconds?: number
}

const templates: ReadonlyArray<Template> = [
  { variant: "grpc-single", module: "raw", group: "ceiling", label: "grpc-js raw, 1 record/msg, pipelined" },
  { variant: "grpc-batch100", module: "raw", group: "ceiling", label: "grpc-js raw, batch(100)/msg" },
  { variant: "grpc-batch1000", module: "raw", group: "ceiling", label: "grpc-js raw, batch(1000)/msg" },
  {
    variant: "grpc-ackwait",
    module: "raw",
    group: "ceiling",
    label: "grpc-js raw, 1 record/msg, awaiting each ack",
    records: roundTrips
  },
  {
    variant: "ingest-c1000",
    module: "effect",
    group: "client",
    label: "ingest, forEach concurrency 1000",
    ceiling: "grpc-single"
  },
  {
    variant: "ingest-seq",
    module: "effect",
    group: "client",
    label: "ingest, awaiting each call",
    ceiling: "grpc-single"
  },
  {
    variant: "ingest-ack",
    module: "effect",
    group: "client",
    label: "ingestAndWait, awaiting each ack",
    records: roundTrips,
    ceiling: "grpc-ackwait"
  },
  { variant: "batch100", module: "effect", group: "client", label: "ingestBatch(100)", ceiling: "grpc-batch100" },
  { variant: "batch1000", module: "effect", group: "client", label: "ingestBatch(1000)", ceiling: "grpc-batch1000" },
  { variant: "sink", module: "effect", group: "client", label: "sink (Stream.run)", ceiling: "grpc-batch1000" },
  {
    variant: "promise-c1000",
    module: "promise",
    group: "promise",
    label: "Promise API ingestRecordOffset, 1000 in flight",
    ceiling: "grpc-single"
  },
  {
    variant: "promise-seq",
    module: "promise",
    group: "promise",
    label: "Promise API ingestRecordOffset, awaiting each call",
    ceiling: "grpc-single"
  },
  {
    variant: "promise-ack",
    module: "promise",
    group: "promise",
    label: "Promise API ingestRecordOffset + waitForOffset",
    records: roundTrips,
    ceiling: "grpc-ackwait"
  },
  {
    variant: "promise-batch1000",
    module: "promise",
    group: "promise",
    label: "Promise API ingestRecordsOffset(1000)",
    ceiling: "grpc-batch1000"
  },
  {
    variant: "official-c1000",
    module: "official",
    group: "official",
    label: "official 1.3.0 ingestRecordOffset, 1000 in flight",
    ceiling: "grpc-single"
  },
  {
    variant: "official-seq",
    module: "official",
    group: "official",
    label: "official 1.3.0 ingestRecordOffset, awaiting each call",
    ceiling: "grpc-single"
  },
  {
    variant: "official-ack",
    module: "official",
    group: "official",
    label: "official 1.3.0 ingestRecordOffset + waitForOffset",
    records: roundTrips,
    ceiling: "grpc-ackwait"
  },
  {
    variant: "official-batch1000",
    module: "official",
    group: "official",
    label: "official 1.3.0 ingestRecordsOffset(1000)",
    ceiling: "grpc-batch1000"
  },
  {
    variant: "grpc-encode1000",
    module: "raw",
    group: "beyond",
    label: "grpc-js raw, batch(1000)/msg encoded in the clock",
    ceiling: "grpc-batch1000"
  },
  {
    variant: "h2-single",
    module: "h2",
    group: "beyond",
    label: "node:http2 hand-framed, 1 record/msg",
    ceiling: "grpc-single"
  },
  {
    variant: "h2-batch1000",
    module: "h2",
    group: "beyond",
    label: "node:http2 hand-framed, batch(1000)/msg",
    ceiling: "grpc-batch1000"
  }
]

const formats: ReadonlyArray<Format> = ["json", "proto"]

/** Every case except the memory case, JSON first. */
export const throughputCases: ReadonlyArray<CaseDef> = formats.flatMap((format) =>
  templates.map((t): CaseDef => ({
    name: `${t.variant}-${format}`,
    variant: t.variant,
    format,
    module: t.module,
    group: t.group,
    label: t.label,
    records: t.records ?? all,
    ceiling: t.ceiling === undefined ? undefined : `${t.ceiling}-${format}`,
    timeoutSeconds: t.timeoutSeconds ?? 240
  }))
)

/** 5,000,000 records (500,000 with `--quick`) through the sink with a 10,000-request window. */
export const memoryCase: CaseDef = {
  name: "memory-sink-json",
  variant: "memory-sink",
  format: "json",
  module: "memory",
  group: "memory",
  label: "sink, 5M records, maxInflightRequests 10000",
  records: (base) => base * 5,
  ceiling: undefined,
  timeoutSeconds: 600
}

/** Every case, in run order. */
export const allCases: ReadonlyArray<CaseDef> = [...throughputCases, memoryCase]
