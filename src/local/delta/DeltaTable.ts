/**
 * One Delta table being written: `<dir>` is a plain Delta table (`_delta_log/` + Parquet files)
 * and `<dir>/_zerobus/wal/` holds the write-ahead log.
 *
 * - {@link create} writes commit 0 (protocol 1/2, `metaData` with the schema, `commitInfo`).
 * - {@link open} recovers the table and starts its materializer; it is a scoped resource.
 * - A stream validates each request against the table, logs the raw records in the WAL and is
 *   acknowledged once the WAL frame is durable (group commit, see `Wal.ts`).
 * - The materializer turns everything durable into one Parquet file plus one commit holding
 *   `txn{appId: "zerobus-local:<table id>", version: <last WAL LSN>}`, every `flushInterval`, when
 *   `maxBufferedRows` or `maxBufferedBytes` is reached, on {@link DeltaTable.flush}, and when the
 *   table closes. Every `checkpointInterval` commits it writes a checkpoint.
 * - Recovery: the `txn` version of the latest snapshot is the LSN watermark; WAL records above it
 *   are decoded again and materialized, so after a crash every acknowledged record is in the table
 *   exactly once.
 *
 * @since 0.1.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as crypto from "node:crypto"
import * as path from "node:path"
import { type DeltaSchemaError, invalidSchema } from "../../internal/delta/DeltaSchemaError.ts"
import * as Delta from "../../internal/delta/DeltaType.ts"
import type * as Row from "../../internal/delta/Row.ts"
import type { RecordFormat } from "../../internal/protocol.ts"
import * as RecordDecoder from "../RecordDecoder.ts"
import type { Snapshot } from "./Actions.ts"
import * as Checkpoint from "./Checkpoint.ts"
import { closed, corrupt, type DeltaError, invalidArgument } from "./DeltaError.ts"
import * as DeltaLog from "./DeltaLog.ts"
import * as Fs from "./Fs.ts"
import * as Parquet from "./Parquet.ts"
import * as Stats from "./Stats.ts"
import * as Wal from "./Wal.ts"
import * as WalRecord from "./WalRecord.ts"

/** Knobs of a table writer (defaults in parentheses). */
export interface TableOptions {
  /** The table root. */
  readonly dir: string
  /** `fsync` (default): acknowledge after `fdatasync`; `os`: after `write`. */
  readonly durability?: Wal.Durability | undefined
  /** Materialize at least this often when records are waiting (5 seconds). */
  readonly flushInterval?: Duration.Input | undefined
  /** Materialize once this many rows are waiting (500,000). */
  readonly maxBufferedRows?: number | undefined
  /** Materialize once this many record bytes are waiting (64 MiB). */
  readonly maxBufferedBytes?: number | undefined
  /** Write a checkpoint every this many commits (10; 0 = never). */
  readonly checkpointInterval?: number | undefined
  /** Roll WAL segments past this size (64 MiB). */
  readonly walSegmentBytes?: number | undefined
}

/** Options of {@link create}. */
export interface CreateOptions {
  /** The table root. */
  readonly dir: string
  /** Name recorded in `metaData.name` (the three-part name). */
  readonly name: string
  readonly schema: Delta.StructType
}

/** What a stream declares when it opens. */
export interface StreamOptions {
  readonly streamId: string
  readonly format: RecordFormat
  /** The serialized `DescriptorProto` of a protobuf stream. */
  readonly descriptor?: Uint8Array | undefined
  /**
   * The stream's decoder when the caller already built it (the server does, when the stream
   * opens): its resolved message is used instead of resolving `descriptor` again. Its `format` and
   * `descriptor` are what the WAL records.
   */
  readonly decoder?: RecordDecoder.RecordDecoder | undefined
}

/** A stream writing to the table. */
export interface TableStream {
  /**
   * Validates every record of one request (a bad record fails the request with `InvalidArgument`
   * naming the record's index and column, and nothing is kept), logs them in the WAL and succeeds
   * with an Effect that completes once they are durable.
   */
  readonly append: (
    firstOffset: number,
    records: ReadonlyArray<string | Uint8Array>
  ) => Effect.Effect<Effect.Effect<void, DeltaError>, DeltaError>
}

/** Counters for tests and benchmarks. */
export interface TableStats {
  /** Rows in committed files (from `stats.numRecords`). */
  readonly committedRows: number
  readonly bufferedRows: number
  readonly bufferedBytes: number
  readonly commits: number
  readonly checkpoints: number
  readonly wal: Wal.WalStats
}

/** An open table writer. */
export interface DeltaTable {
  readonly dir: string
  readonly schema: Delta.StructType
  /** Opens a stream; its Scope closing ends it. Fails with `InvalidArgument` when the descriptor does not fit. */
  readonly openStream: (options: StreamOptions) => Effect.Effect<TableStream, DeltaError, Scope.Scope>
  /** Materializes every record appended so far; succeeds with the table version that holds them. */
  readonly flush: Effect.Effect<number, DeltaError>
  /** The latest committed snapshot. */
  readonly snapshot: Effect.Effect<Snapshot>
  /**
   * Every acknowledged row, oldest first: the committed files (read back with hyparquet; decimals
   * beyond 15 significant digits may be rounded) then the durable rows not yet materialized.
   */
  readonly rows: Effect.Effect<ReadonlyArray<Row.Row>, DeltaError>
  /** Counters. */
  readonly stats: () => TableStats
}

/** Where the WAL of a table lives. */
export const walDir = (tableDir: string): string => path.join(tableDir, "_zerobus", "wal")

/** The `txn.appId` holding the WAL watermark of a table. */
export const appIdOf = (snapshot: Snapshot): string => `zerobus-local:${snapshot.metadata.id}`

const fromSchemaError = (e: DeltaSchemaError, index?: number): DeltaError => {
  const reason = e.reason
  const column = "column" in reason ? reason.column : "field" in reason ? reason.field : undefined
  return invalidArgument(index === undefined ? e.message : `record ${index}: ${e.message}`, {
    column: column === "" ? undefined : column,
    index,
    cause: e
  })
}

/**
 * Creates a table (commit 0). Fails with `InvalidArgument` for a schema we cannot write and
 * `AlreadyExists` when the directory already holds a table.
 */
export const create = Effect.fn("DeltaTable.create")(function*(options: CreateOptions) {
  const schema = yield* Delta.validate(options.schema).pipe(
    Effect.flatMap(Delta.checkWritable),
    Effect.mapError((e) => fromSchemaError(e))
  )
  return yield* DeltaLog.create(options.dir, { name: options.name, schema })
})

/** Builds the row decoder of a stream (format + descriptor) against the table (the checks every backend shares). */
const makeDecode = (
  table: RecordDecoder.TableDecoder,
  format: RecordFormat,
  descriptor: Uint8Array | undefined,
  decoder?: RecordDecoder.RecordDecoder | undefined
): Effect.Effect<RecordDecoder.RowDecoder, DeltaSchemaError> =>
  (decoder === undefined
    ? RecordDecoder.make(format, descriptor).pipe(Effect.mapError(invalidSchema))
    : Effect.succeed(decoder)).pipe(Effect.flatMap(table.forStream))

const NumRecords = Schema.fromJsonString(Schema.Struct({ numRecords: Schema.Number }))
const decodeNumRecords = Schema.decodeUnknownOption(NumRecords)

/** Rows in a snapshot's files, from their `stats.numRecords` (files without stats count as 0). */
const countRows = (snapshot: Snapshot): number => {
  let n = 0
  for (const add of snapshot.files.values()) {
    if (add.stats !== undefined && add.stats !== null) {
      n += Option.match(decodeNumRecords(add.stats), { onNone: () => 0, onSome: (s) => s.numRecords })
    }
  }
  return n
}

interface Pending {
  readonly lsn: number
  readonly rows: ReadonlyArray<Row.Row>
  readonly bytes: number
}

/** Decodes the records of one request into rows (and their size); fails with the first bad record's index. */
const decodeRows = (
  decode: RecordDecoder.RowDecoder,
  records: ReadonlyArray<string | Uint8Array>
): Result.Result<
  { readonly rows: Array<Row.Row>; readonly bytes: number },
  { readonly index: number; readonly error: DeltaSchemaError }
> => {
  const rows: Array<Row.Row> = []
  let bytes = 0
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!
    const decoded = decode(record)
    if (Result.isFailure(decoded)) return Result.fail({ index: i, error: decoded.failure })
    rows.push(decoded.success)
    bytes += typeof record === "string" ? record.length : record.byteLength
  }
  return Result.succeed({ rows, bytes })
}

/**
 * Opens a table writer: reads the snapshot, recovers the WAL, materializes the records that were
 * acknowledged but not yet committed, and starts the materializer. Closing the Scope materializes
 * what is durable and closes the WAL.
 */
export const open = Effect.fn("DeltaTable.open")(function*(
  options: TableOptions
): Effect.fn.Return<DeltaTable, DeltaError, Scope.Scope> {
  const dir = options.dir
  const flushInterval = Duration.fromInputUnsafe(options.flushInterval ?? "5 seconds")
  const maxRows = options.maxBufferedRows ?? 500_000
  const maxBytes = options.maxBufferedBytes ?? 64 * 1024 * 1024
  const checkpointInterval = options.checkpointInterval ?? 10

  let snapshot = yield* DeltaLog.readSnapshot(dir)
  yield* DeltaLog.checkWritable(snapshot)
  const schema = snapshot.schema
  const appId = appIdOf(snapshot)
  const watermark = snapshot.txns.get(appId)?.version ?? 0
  const tableDecoder = yield* RecordDecoder.forTable(schema).pipe(Effect.mapError((e) => fromSchemaError(e)))

  const openStreams = new Map<string, Uint8Array>() // streamId → encoded STREAM_OPEN (the WAL preamble)
  const wal = yield* Wal.open({
    dir: walDir(dir),
    durability: options.durability,
    segmentBytes: options.walSegmentBytes,
    startAfter: watermark,
    preamble: () => [...openStreams.values()]
  })

  const buffer: Array<Pending> = []
  let bufferedRows = 0
  let bufferedBytes = 0
  let commits = 0
  let checkpoints = 0
  let committedRows = countRows(snapshot)
  let closing = false

  /** Holds a request's rows until they are materialized. */
  const hold = (entry: Pending): void => {
    buffer.push(entry)
    bufferedRows += entry.rows.length
    bufferedBytes += entry.bytes
  }
  /** Number of leading held requests with an LSN up to `lsn`. */
  const heldThrough = (lsn: number): number => {
    let n = 0
    while (n < buffer.length && buffer[n]!.lsn <= lsn) n++
    return n
  }
  /** Lets go of the first `n` held requests (in the table now). */
  const dropHeld = (n: number): void => {
    for (const e of buffer.splice(0, n)) {
      bufferedRows -= e.rows.length
      bufferedBytes -= e.bytes
    }
  }

  // -- recovery: decode WAL records above the watermark again --------------------------------
  const recoveredStreams = new Map<
    string,
    { format: RecordFormat; descriptor: Uint8Array | undefined; decode?: RecordDecoder.RowDecoder }
  >()
  for (const entry of wal.recovered) {
    const record = yield* Effect.try({
      try: () => WalRecord.decode(entry.body),
      catch: (e) => corrupt(walDir(dir), `undecodable WAL frame ${entry.lsn}: ${String(e)}`)
    })
    if (record.kind === "StreamOpen") {
      recoveredStreams.set(record.streamId, { format: record.format, descriptor: record.descriptor })
      continue
    }
    if (record.kind !== "Records" || entry.lsn <= watermark) continue
    const stream = recoveredStreams.get(record.streamId)
    if (stream === undefined) {
      return yield* corrupt(walDir(dir), `WAL frame ${entry.lsn} belongs to unknown stream ${record.streamId}`)
    }
    stream.decode ??= yield* makeDecode(tableDecoder, stream.format, stream.descriptor).pipe(
      Effect.mapError((e) => corrupt(walDir(dir), `stream ${record.streamId}: ${e.message}`))
    )
    const decoded = decodeRows(stream.decode, record.records)
    if (Result.isFailure(decoded)) {
      return yield* corrupt(walDir(dir), `WAL frame ${entry.lsn}: ${decoded.failure.error.message}`)
    }
    hold({ lsn: entry.lsn, ...decoded.success })
  }
  if (buffer.length > 0) {
    yield* Effect.logInfo(`${dir}: replaying ${bufferedRows} acknowledged records from the WAL`)
  }

  // -- materialization -----------------------------------------------------------------------
  const lock = yield* Semaphore.make(1)

  /** Drops buffered entries the table already holds (after a commit whose outcome was unclear). */
  const reconcile = Effect.gen(function*() {
    const latest = yield* DeltaLog.readSnapshot(dir)
    const committed = latest.txns.get(appId)?.version ?? 0
    snapshot = latest
    committedRows = countRows(latest)
    dropHeld(heldThrough(committed))
  })

  const writeCheckpoint = (at: Snapshot) =>
    Checkpoint.write(dir, at).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          checkpoints++
        })
      ),
      Effect.catch((e) => Effect.logWarning(`${dir}: checkpoint ${at.version} not written: ${e.message}`))
    )

  const materializeNow = Effect.gen(function*() {
    const n = heldThrough(wal.durableLsn())
    if (n === 0) return snapshot.version
    const taken = buffer.slice(0, n)
    const rows = taken.flatMap((e) => e.rows)
    const lastLsn = taken[n - 1]!.lsn
    const bytes = yield* Parquet.encode(schema, rows)
    const name = `part-00000-${crypto.randomUUID()}-c000.snappy.parquet`
    yield* Fs.writeNewDurable(path.join(dir, name), bytes)
    const now = Date.now()
    snapshot = yield* DeltaLog.append(dir, snapshot, {
      add: {
        path: name,
        partitionValues: {},
        size: bytes.length,
        modificationTime: now,
        dataChange: true,
        stats: Stats.fileStats(schema, rows)
      },
      txn: { appId, version: lastLsn, lastUpdated: now },
      numRecords: rows.length
    })
    dropHeld(n)
    commits++
    committedRows += rows.length
    if (checkpointInterval > 0 && snapshot.version % checkpointInterval === 0) yield* writeCheckpoint(snapshot)
    yield* wal.release(lastLsn)
    return snapshot.version
  }).pipe(
    Effect.tapError((e) =>
      Effect.logWarning(`${dir}: materialization failed, records stay in the WAL: ${e.message}`).pipe(
        Effect.andThen(Effect.ignore(reconcile))
      )
    )
  )

  // uninterruptible: a commit must never be separated from dropping its rows from the buffer
  const materialize = lock.withPermits(1)(Effect.uninterruptible(materializeNow))

  if (buffer.length > 0) yield* materialize

  const requests = yield* Queue.unbounded<Deferred.Deferred<number, DeltaError> | undefined>()
  let wakeQueued = false
  const wake = () => {
    if (!wakeQueued) {
      wakeQueued = true
      Queue.offerUnsafe(requests, undefined)
    }
  }

  yield* Effect.gen(function*() {
    const first = yield* Queue.take(requests).pipe(Effect.timeoutOption(flushInterval))
    const rest = yield* Queue.clear(requests)
    wakeQueued = false
    const waiters = [...(Option.isSome(first) ? [first.value] : []), ...rest].filter((d) => d !== undefined)
    const exit = yield* Effect.exit(materialize)
    for (const waiter of waiters) Deferred.doneUnsafe(waiter, exit)
  }).pipe(Effect.forever, Effect.forkScoped)

  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      closing = true
      yield* Effect.ignore(wal.awaitDurable(wal.lastLsn()))
      yield* Effect.ignore(materialize)
    })
  )

  // -- streams --------------------------------------------------------------------------------
  const openStream = Effect.fn("DeltaTable.openStream")(function*(stream: StreamOptions) {
    if (closing) return yield* closed(`table ${dir} is closing`)
    const format = stream.decoder?.format ?? stream.format
    const descriptor = stream.decoder === undefined ? stream.descriptor : stream.decoder.descriptor
    const decodeRecord = yield* makeDecode(tableDecoder, format, descriptor, stream.decoder).pipe(
      Effect.mapError((e) => fromSchemaError(e))
    )
    const announce = WalRecord.encode({ kind: "StreamOpen", streamId: stream.streamId, format, descriptor })
    yield* wal.write(announce)
    openStreams.set(stream.streamId, announce)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        openStreams.delete(stream.streamId)
        wal.writeUnsafe(WalRecord.encode({ kind: "StreamClose", streamId: stream.streamId }))
      })
    )
    const append = (
      firstOffset: number,
      records: ReadonlyArray<string | Uint8Array>
    ): Effect.Effect<Effect.Effect<void, DeltaError>, DeltaError> =>
      Effect.suspend(() => {
        if (closing) return Effect.fail(closed(`table ${dir} is closing`))
        const decoded = decodeRows(decodeRecord, records)
        if (Result.isFailure(decoded)) return Effect.fail(fromSchemaError(decoded.failure.error, decoded.failure.index))
        const written = wal.writeUnsafe(
          WalRecord.encode({ kind: "Records", streamId: stream.streamId, firstOffset, records })
        )
        if (written.lsn < 0) return Effect.succeed(written.durable)
        hold({ lsn: written.lsn, ...decoded.success })
        if (bufferedRows >= maxRows || bufferedBytes >= maxBytes) wake()
        return Effect.succeed(written.durable)
      })
    return { append }
  })

  const flush = Effect.gen(function*() {
    yield* wal.awaitDurable(wal.lastLsn())
    const done = yield* Deferred.make<number, DeltaError>()
    yield* Queue.offer(requests, done)
    return yield* Deferred.await(done)
  }).pipe(Effect.withSpan("DeltaTable.flush"))

  const rows = lock.withPermits(1)(Effect.gen(function*() {
    const out: Array<Row.Row> = []
    for (const add of snapshot.files.values()) {
      const file = path.join(dir, add.path)
      out.push(...(yield* Parquet.decode(schema, yield* Fs.readFile(file), file)))
    }
    const durable = wal.durableLsn()
    for (const e of buffer) if (e.lsn <= durable) out.push(...e.rows)
    return out
  }))

  return {
    dir,
    schema,
    openStream,
    flush,
    snapshot: Effect.sync(() => snapshot),
    rows,
    stats: () => ({ committedRows, bufferedRows, bufferedBytes, commits, checkpoints, wal: wal.stats() })
  }
})
