/**
 * Counters of a Zerobus Local server: streams, requests, records, acks, per table and per stream.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Types from "effect/Types"
import type { RecordFormat } from "../internal/protocol.ts"

/**
 * How a stream is doing: `open`; ended by the client (`closed`); ended by the server with an error
 * status (`failed`, also for injected faults), with OK (`ended`) or at the end of its lifetime
 * (`rotated`); cancelled by the client or cut with its connection (`cancelled`, `dropped`).
 *
 * @since 0.1.0
 * @category models
 */
export type StreamState = "open" | "closed" | "ended" | "failed" | "rotated" | "cancelled" | "dropped"

/**
 * One stream.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamStats {
  readonly streamId: string
  readonly table: string
  readonly format: RecordFormat
  readonly state: StreamState
  /** Requests received (`ingest_record` and `ingest_record_batch`). */
  readonly requests: number
  /** Records received. */
  readonly records: number
  /** Highest `offset_id` received, -1 before the first request. */
  readonly maxOffset: number
  /** Highest offset acknowledged, -1 before the first ack. */
  readonly ackedUpTo: number
  /** The status the server ended the stream with, if it did. */
  readonly status: { readonly code: number; readonly message: string } | undefined
  readonly openedAt: number
  readonly endedAt: number | undefined
}

/**
 * One table.
 *
 * @since 0.1.0
 * @category models
 */
export interface TableStats {
  readonly streamsOpened: number
  readonly requestsReceived: number
  readonly recordsReceived: number
  /** Records the storage accepted (durable or about to be). */
  readonly recordsStored: number
  readonly acksSent: number
}

/**
 * A copy of all counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface StatsSnapshot {
  readonly streamsOpened: number
  readonly streamsActive: number
  /** Calls refused before a stream was created (auth, validation, injected creation failures). */
  readonly streamsRejected: number
  readonly requestsReceived: number
  readonly recordsReceived: number
  readonly recordsStored: number
  readonly acksSent: number
  readonly tables: { readonly [table: string]: TableStats }
  /** Every open stream and the most recent ended ones (up to 1,000), oldest first. */
  readonly streams: ReadonlyArray<StreamStats>
}

/**
 * Live counters of one stream, updated by the server.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamRecorder {
  readonly request: (offset: number, records: number) => void
  readonly stored: (records: number) => void
  readonly acked: (offset: number) => void
  readonly end: (
    state: Exclude<StreamState, "open">,
    status?: { readonly code: number; readonly message: string }
  ) => void
}

interface MutableTable {
  streamsOpened: number
  requestsReceived: number
  recordsReceived: number
  recordsStored: number
  acksSent: number
}

type MutableStream = Types.Mutable<StreamStats>

const keepEnded = 1000

/**
 * The stats service.
 *
 * @since 0.1.0
 * @category services
 */
export class Stats extends Context.Service<Stats, {
  /** A copy of the counters. */
  readonly snapshot: Effect.Effect<StatsSnapshot>
  /** Records a stream opening (used by the server). */
  readonly openStream: (streamId: string, table: string, format: RecordFormat) => StreamRecorder
  /** Records a call refused before its stream was created (used by the server). */
  readonly rejected: () => void
}>()("effect-zerobus/local/Stats") {}

/**
 * Creates zeroed counters.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Stats["Service"]> = Effect.sync(() => {
  const totals = {
    streamsOpened: 0,
    streamsActive: 0,
    streamsRejected: 0,
    requestsReceived: 0,
    recordsReceived: 0,
    recordsStored: 0,
    acksSent: 0
  }
  const tables = new Map<string, MutableTable>()
  const open = new Set<MutableStream>()
  const ended: Array<MutableStream> = []

  const openStream = (streamId: string, table: string, format: RecordFormat): StreamRecorder => {
    let perTable = tables.get(table)
    if (perTable === undefined) {
      perTable = { streamsOpened: 0, requestsReceived: 0, recordsReceived: 0, recordsStored: 0, acksSent: 0 }
      tables.set(table, perTable)
    }
    const t = perTable
    const stream: MutableStream = {
      streamId,
      table,
      format,
      state: "open",
      requests: 0,
      records: 0,
      maxOffset: -1,
      ackedUpTo: -1,
      status: undefined,
      openedAt: Date.now(),
      endedAt: undefined
    }
    totals.streamsOpened++
    totals.streamsActive++
    t.streamsOpened++
    open.add(stream)
    return {
      request: (offset, records) => {
        stream.requests++
        stream.records += records
        if (offset > stream.maxOffset) stream.maxOffset = offset
        t.requestsReceived++
        t.recordsReceived += records
        totals.requestsReceived++
        totals.recordsReceived += records
      },
      stored: (records) => {
        t.recordsStored += records
        totals.recordsStored += records
      },
      acked: (offset) => {
        stream.ackedUpTo = offset
        t.acksSent++
        totals.acksSent++
      },
      end: (state, status) => {
        if (stream.state !== "open") return
        stream.state = state
        stream.status = status
        stream.endedAt = Date.now()
        totals.streamsActive--
        open.delete(stream)
        ended.push(stream)
        if (ended.length > keepEnded) ended.splice(0, ended.length - keepEnded)
      }
    }
  }

  return Stats.of({
    snapshot: Effect.sync((): StatsSnapshot => {
      const perTable: Record<string, TableStats> = {}
      for (const [name, t] of tables) perTable[name] = { ...t }
      const streams = [...ended, ...open].map((s): StreamStats => ({ ...s }))
      streams.sort((a, b) => a.openedAt - b.openedAt)
      return { ...totals, tables: perTable, streams }
    }),
    openStream,
    rejected: () => {
      totals.streamsRejected++
    }
  })
})

/**
 * Fresh counters.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Stats> = Layer.effect(Stats, make)
