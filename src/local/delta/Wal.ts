/**
 * The write-ahead log of one table: segments `<dir>/<first LSN, 20 digits>.wal` of frames
 * `u32 length | u32 crc32 | payload`, payload = `u64 LSN | body`. Every frame gets the next LSN;
 * frames rewritten at the start of a segment (the preamble: the streams still open) carry LSN 0.
 *
 * Group commit: {@link Wal.writeUnsafe} only queues a frame. One flusher fiber takes everything
 * queued, writes it with one `writev`, runs one `fdatasync` (durability `fsync`) and then completes
 * every waiter whose frame it covered. With durability `os`, frames count as durable once written
 * (they survive a crash of the server, not of the machine).
 *
 * Recovery ({@link open}): every segment is read; a torn tail of the last segment (a short frame or
 * a CRC mismatch: never acknowledged) is truncated; damage anywhere else is `Corrupt`.
 *
 * @internal
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Latch from "effect/Latch"
import type * as Scope from "effect/Scope"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { closed, corrupt, type DeltaError } from "./DeltaError.ts"
import * as Fs from "./Fs.ts"

/** When an append counts as durable. */
export type Durability = "fsync" | "os"

/** Options of {@link open}. */
export interface WalOptions {
  /** The WAL directory (created if missing). */
  readonly dir: string
  /** `fsync` (default): acknowledge after `fdatasync`; `os`: after `write`. */
  readonly durability?: Durability | undefined
  /** Roll to a new segment past this size (default 64 MiB). */
  readonly segmentBytes?: number | undefined
  /** New LSNs start above this one (the table's materialized watermark). */
  readonly startAfter?: number | undefined
  /** Bodies written (with LSN 0) at the start of every new segment. */
  readonly preamble?: (() => ReadonlyArray<Uint8Array>) | undefined
}

/** A frame found at open. LSN 0 marks a preamble frame. */
export interface WalEntry {
  readonly lsn: number
  readonly body: Buffer
}

/** A queued frame: its LSN and an Effect that completes once it is durable. */
export interface Written {
  readonly lsn: number
  readonly durable: Effect.Effect<void, DeltaError>
}

/** Counters for tests and benchmarks. */
export interface WalStats {
  readonly frames: number
  readonly syncs: number
  readonly segments: number
  readonly bytes: number
}

/** An open WAL. */
export interface Wal {
  /** Frames found at open (after truncating a torn tail), oldest first. */
  readonly recovered: ReadonlyArray<WalEntry>
  /** The last LSN handed out. */
  readonly lastLsn: () => number
  /** Every frame up to this LSN is durable. */
  readonly durableLsn: () => number
  /** Queues a frame synchronously (so callers can order their own state by LSN). */
  readonly writeUnsafe: (body: Uint8Array) => Written
  /** Queues a frame and waits until it is durable; succeeds with its LSN. */
  readonly write: (body: Uint8Array) => Effect.Effect<number, DeltaError>
  /** Completes once every frame up to `lsn` is durable. */
  readonly awaitDurable: (lsn: number) => Effect.Effect<void, DeltaError>
  /** Deletes segments whose frames all have LSN ≤ `lsn` (never the segment being written). */
  readonly release: (lsn: number) => Effect.Effect<void, DeltaError>
  /** Counters. */
  readonly stats: () => WalStats
}

const HEADER = 16
const SEGMENT = /^(\d{20})\.wal$/

/** The file name of the segment whose first LSN is `lsn`. */
export const segmentName = (lsn: number): string => `${String(lsn).padStart(20, "0")}.wal`

interface Segment {
  readonly firstLsn: number
  readonly file: string
}

/** Builds the 16-byte frame header for a body. */
const frameHeader = (lsn: number, body: Uint8Array): Buffer => {
  const header = Buffer.allocUnsafe(HEADER)
  header.writeUInt32LE(8 + body.length, 0)
  header.writeBigUInt64LE(BigInt(lsn), 8)
  header.writeUInt32LE(zlib.crc32(body, zlib.crc32(header.subarray(8, 16))), 4)
  return header
}

/** Parses a segment's frames; `torn` is the offset of the first bad frame, if any. */
export const parseSegment = (bytes: Buffer): { readonly entries: Array<WalEntry>; readonly torn?: number } => {
  const entries: Array<WalEntry> = []
  let at = 0
  while (at < bytes.length) {
    if (at + 8 > bytes.length) return { entries, torn: at }
    const length = bytes.readUInt32LE(at)
    const crc = bytes.readUInt32LE(at + 4)
    if (length < 8 || at + 8 + length > bytes.length) return { entries, torn: at }
    const payload = bytes.subarray(at + 8, at + 8 + length)
    if (zlib.crc32(payload) !== crc) return { entries, torn: at }
    entries.push({ lsn: Number(payload.readBigUInt64LE(0)), body: payload.subarray(8) })
    at += 8 + length
  }
  return { entries }
}

const recover = Effect.fnUntraced(function*(dir: string) {
  const names = (yield* Fs.readdir(dir)).filter((n) => SEGMENT.test(n)).toSorted()
  const segments: Array<Segment> = names.map((n) => ({ firstLsn: Number(n.slice(0, 20)), file: path.join(dir, n) }))
  const entries: Array<WalEntry> = []
  let last = 0
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!
    const parsed = parseSegment(yield* Fs.readFile(segment.file))
    for (const entry of parsed.entries) {
      if (entry.lsn !== 0) {
        if (entry.lsn <= last) return yield* corrupt(segment.file, `LSN ${entry.lsn} follows LSN ${last}`)
        last = entry.lsn
      }
      entries.push(entry)
    }
    if (parsed.torn !== undefined) {
      if (i !== segments.length - 1) {
        return yield* corrupt(segment.file, `damaged frame at byte ${parsed.torn} of a segment that is not the last`)
      }
      yield* Effect.logDebug(`WAL: truncating torn tail of ${segment.file} at byte ${parsed.torn}`)
      yield* Fs.truncateDurable(segment.file, parsed.torn)
    }
  }
  return { segments, entries, last }
})

/**
 * Opens (and recovers) the WAL in `options.dir`. The flusher runs until the Scope closes; closing
 * waits for queued frames to become durable, then closes the segment.
 */
export const open = Effect.fnUntraced(function*(options: WalOptions): Effect.fn.Return<Wal, DeltaError, Scope.Scope> {
  const durability = options.durability ?? "fsync"
  const segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024
  yield* Fs.mkdirp(options.dir)
  const found = yield* recover(options.dir)
  const segments = found.segments
  let lastLsn = Math.max(options.startAfter ?? 0, found.last)
  let durableLsn = lastLsn
  let failure: DeltaError | undefined
  let pending: Array<Buffer> = []
  let pendingBytes = 0
  let pendingFirst = 0
  let fd: number | undefined
  let fdFile = ""
  let segmentSize = 0
  let frames = 0
  let syncs = 0
  let bytesWritten = 0
  const waiters: Array<{ readonly lsn: number; readonly deferred: Deferred.Deferred<void, DeltaError> }> = []
  const wake = yield* Latch.make(false)

  const settle = () => {
    const failed = failure
    const firstPending = failed === undefined ? waiters.findIndex((w) => w.lsn > durableLsn) : -1
    const done = waiters.splice(0, firstPending === -1 ? waiters.length : firstPending)
    const exit = failed === undefined ? Exit.void : Exit.fail(failed)
    for (const waiter of done) Deferred.doneUnsafe(waiter.deferred, exit)
  }

  const awaitDurable = (lsn: number): Effect.Effect<void, DeltaError> =>
    Effect.suspend(() => {
      if (lsn <= durableLsn) return Effect.void
      if (failure !== undefined) return Effect.fail(failure)
      const deferred = Deferred.makeUnsafe<void, DeltaError>()
      waiters.push({ lsn, deferred }) // LSNs are handed out in order, so waiters stay sorted
      return Deferred.await(deferred)
    })

  const writeUnsafe = (body: Uint8Array): Written => {
    if (failure !== undefined) return { lsn: -1, durable: Effect.fail(failure) }
    const lsn = ++lastLsn
    if (pending.length === 0) pendingFirst = lsn
    pending.push(frameHeader(lsn, body), Buffer.from(body.buffer, body.byteOffset, body.byteLength))
    pendingBytes += HEADER + body.length
    frames++
    wake.openUnsafe()
    return { lsn, durable: awaitDurable(lsn) }
  }

  const roll = Effect.fnUntraced(function*(firstLsn: number) {
    if (fd !== undefined) yield* Fs.closeFd(fd)
    fd = undefined
    const file = path.join(options.dir, segmentName(firstLsn))
    fd = yield* Fs.openFd(file, "a")
    fdFile = file
    if (durability === "fsync") yield* Fs.fsyncDir(options.dir)
    if (segments.at(-1)?.file !== file) segments.push({ firstLsn, file })
    segmentSize = 0
    const preamble = (options.preamble?.() ?? []).map((body) => [frameHeader(0, body), Buffer.from(body)])
    return preamble.flat()
  })

  const flushOnce = Effect.gen(function*() {
    yield* wake.await
    wake.closeUnsafe()
    if (pending.length === 0) return
    const batch = pending
    const batchBytes = pendingBytes
    const batchFirst = pendingFirst
    const batchLast = lastLsn
    pending = []
    pendingBytes = 0
    let buffers: ReadonlyArray<Buffer> = batch
    if (fd === undefined || (segmentSize > 0 && segmentSize + batchBytes > segmentBytes)) {
      const preamble = yield* roll(batchFirst)
      if (preamble.length > 0) buffers = [...preamble, ...batch]
    }
    const size = buffers.reduce((n, b) => n + b.length, 0)
    yield* Fs.writev(fd!, fdFile, buffers)
    if (durability === "fsync") {
      yield* Fs.fdatasync(fd!, fdFile)
      syncs++
    }
    segmentSize += size
    bytesWritten += size
    durableLsn = batchLast
    settle()
  })

  const flusher = yield* flushOnce.pipe(
    Effect.forever,
    Effect.catch((e: DeltaError) =>
      Effect.gen(function*() {
        failure = e
        settle()
        yield* Effect.logError(`WAL ${options.dir} failed; no more records are accepted: ${e.message}`)
      })
    ),
    Effect.forkScoped
  )

  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      yield* Effect.ignore(awaitDurable(lastLsn))
      yield* Fiber.interrupt(flusher)
      if (failure === undefined) failure = closed(`WAL ${options.dir} is closed`)
      settle()
      if (fd !== undefined) yield* Fs.closeFd(fd)
    })
  )

  const release = Effect.fnUntraced(function*(lsn: number) {
    // segment i holds only LSNs below the first LSN of segment i + 1
    while (segments.length > 1 && segments[1]!.firstLsn <= lsn + 1 && segments[0]!.file !== fdFile) {
      const segment = segments.shift()!
      yield* Fs.unlink(segment.file)
    }
  })

  return {
    recovered: found.entries,
    lastLsn: () => lastLsn,
    durableLsn: () => durableLsn,
    writeUnsafe,
    write: (body) =>
      Effect.suspend(() => {
        const written = writeUnsafe(body)
        return Effect.as(written.durable, written.lsn)
      }),
    awaitDurable,
    release,
    stats: () => ({ frames, syncs, segments: segments.length, bytes: bytesWritten })
  }
})
