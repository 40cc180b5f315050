/**
 * The Delta transaction log of one table (`<table>/_delta_log/`): the actions we read and write,
 * snapshot replay (newest checkpoint + the JSON commits after it), and commits created atomically
 * with put-if-absent, never overwritten.
 *
 * We write protocol (1, 2) tables without partitions; we refuse to write a table whose protocol,
 * partitioning or column invariants we do not implement.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as Delta from "../../internal/delta/DeltaType.ts"
import {
  type ActionLine,
  type Add,
  CHECKPOINT,
  checkpointFile,
  COMMIT,
  commitFile,
  decodeLine,
  ENGINE_INFO,
  logDir,
  type Metadata,
  type Protocol,
  type Snapshot,
  SnapshotBuilder,
  type Txn
} from "./Actions.ts"
import * as Checkpoint from "./Checkpoint.ts"
import { alreadyExists, conflict, corrupt, type DeltaError, notFound } from "./DeltaError.ts"
import * as Fs from "./Fs.ts"

/** Reads the action lines of one commit file. */
export const readCommit = Effect.fnUntraced(function*(file: string) {
  const text = (yield* Fs.readFile(file)).toString("utf8")
  const lines: Array<ActionLine> = []
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue
    lines.push(yield* decodeLine(line).pipe(Effect.mapError((e) => corrupt(file, e.message))))
  }
  return lines
})

/** The versions of the commits and checkpoints present in the log. */
export const listLog = Effect.fnUntraced(function*(tableDir: string) {
  const names = yield* Fs.readdir(logDir(tableDir))
  const versions = (pattern: RegExp): Array<number> =>
    names.flatMap((n) => {
      const m = pattern.exec(n)
      return m === null ? [] : [Number(m[1])]
    }).toSorted((a, b) => a - b)
  return { commits: versions(COMMIT), checkpoints: versions(CHECKPOINT) }
})

const replayFrom = Effect.fnUntraced(function*(
  tableDir: string,
  builder: SnapshotBuilder,
  commits: ReadonlyArray<number>,
  after: number
) {
  let expected = after + 1
  for (const version of commits) {
    if (version <= after) continue
    if (version !== expected) {
      return yield* corrupt(logDir(tableDir), `commit ${expected} is missing (found ${version})`)
    }
    for (const line of yield* readCommit(commitFile(tableDir, version))) builder.apply(line)
    expected++
  }
  return expected - 1
})

/**
 * Replays the log into the latest snapshot: the newest checkpoint (from `_last_checkpoint`, else
 * the newest checkpoint file) and the JSON commits after it. Falls back to a full JSON replay if
 * the checkpoint cannot be read. `NotFound` when the table has no commit.
 */
export const readSnapshot = Effect.fn("DeltaLog.readSnapshot")(function*(tableDir: string) {
  const { commits, checkpoints } = yield* listLog(tableDir)
  const latest = commits.at(-1)
  if (latest === undefined) return yield* notFound(`no Delta table at ${tableDir}`)
  const last = yield* Checkpoint.readLast(tableDir)
  const candidate = last !== undefined && last <= latest && checkpoints.includes(last)
    ? last
    : checkpoints.filter((v) => v <= latest).at(-1)
  if (candidate !== undefined) {
    const fromCheckpoint = yield* Effect.gen(function*() {
      const builder = new SnapshotBuilder()
      for (const line of yield* Checkpoint.read(checkpointFile(tableDir, candidate))) builder.apply(line)
      const version = yield* replayFrom(tableDir, builder, commits, candidate)
      return yield* builder.build(version, logDir(tableDir))
    }).pipe(
      Effect.catch((e) =>
        commits[0] === 0
          ? Effect.logWarning(`checkpoint ${candidate} of ${tableDir} unusable, replaying JSON: ${e.message}`).pipe(
            Effect.as(undefined)
          )
          : Effect.fail(e)
      )
    )
    if (fromCheckpoint !== undefined) return fromCheckpoint
  }
  const builder = new SnapshotBuilder()
  const version = yield* replayFrom(tableDir, builder, commits, -1)
  return yield* builder.build(version, logDir(tableDir))
})

/** Serializes actions as a commit file (one JSON object per line). */
export const serialize = (actions: ReadonlyArray<object>): Uint8Array =>
  new TextEncoder().encode(actions.map((a) => JSON.stringify(a)).join("\n") + "\n")

/** Writes commit `version` unless it exists; false when another writer took that version. */
export const putCommit = (tableDir: string, version: number, actions: ReadonlyArray<object>) =>
  Fs.putIfAbsent(commitFile(tableDir, version), serialize(actions))

/** Fails unless we can append to a table with this protocol and metadata. */
export const checkWritable = (snapshot: Snapshot): Effect.Effect<void, DeltaError> => {
  const { protocol, metadata } = snapshot
  if (protocol.minWriterVersion > 2 || (protocol.writerFeatures?.length ?? 0) > 0) {
    return Effect.fail(conflict(
      `table protocol (writer version ${protocol.minWriterVersion}${
        protocol.writerFeatures === undefined ? "" : `, features ${protocol.writerFeatures.join(", ")}`
      }) needs features Zerobus Local does not implement`
    ))
  }
  if (metadata.partitionColumns.length > 0) return Effect.fail(conflict("partitioned tables are not supported"))
  const invariants = (type: Delta.DeltaType): boolean =>
    type.kind === "struct" &&
    type.fields.some((f) => "delta.invariants" in f.metadata || invariants(f.type))
  if (invariants(snapshot.schema)) return Effect.fail(conflict("column invariants are not supported"))
  return Effect.void
}

/** Options of {@link create}. */
export interface CreateOptions {
  readonly name: string
  readonly schema: Delta.StructType
  readonly description?: string | undefined
}

/**
 * Creates a table: commit 0 with `commitInfo`, `protocol` (1, 2) and `metaData`. `AlreadyExists`
 * when the table has a commit 0.
 */
export const create = Effect.fn("DeltaLog.create")(function*(tableDir: string, options: CreateOptions) {
  const now = Date.now()
  const metadata: Metadata = {
    id: crypto.randomUUID(),
    name: options.name,
    ...(options.description === undefined ? {} : { description: options.description }),
    format: { provider: "parquet", options: {} },
    schemaString: Delta.toSchemaString(options.schema),
    partitionColumns: [],
    configuration: {},
    createdTime: now
  }
  const protocol: Protocol = { minReaderVersion: 1, minWriterVersion: 2 }
  yield* Fs.mkdirp(logDir(tableDir))
  const won = yield* putCommit(tableDir, 0, [
    {
      commitInfo: {
        timestamp: now,
        operation: "CREATE TABLE",
        operationParameters: { isManaged: "false", partitionBy: "[]", properties: "{}" },
        isBlindAppend: true,
        engineInfo: ENGINE_INFO,
        txnId: crypto.randomUUID()
      }
    },
    { protocol },
    { metaData: metadata }
  ])
  if (!won) return yield* alreadyExists(`table ${options.name} already exists at ${tableDir}`)
  const snapshot: Snapshot = {
    version: 0,
    protocol,
    metadata,
    schema: options.schema,
    files: new Map(),
    txns: new Map()
  }
  return snapshot
})

/** What one append commit adds. */
export interface AppendCommit {
  readonly add: Add
  readonly txn: Txn
  readonly numRecords: number
}

const MAX_RACES = 20

/**
 * Commits one appended file (and the `txn` watermark) at the next version. When another writer took
 * that version, re-reads the log, checks that protocol and schema are unchanged, and retries at the
 * following version (a blind append never conflicts otherwise).
 */
export const append = Effect.fn("DeltaLog.append")(function*(tableDir: string, base: Snapshot, commit: AppendCommit) {
  let snapshot = base
  for (let attempt = 0; attempt < MAX_RACES; attempt++) {
    yield* checkWritable(snapshot)
    const version = snapshot.version + 1
    const now = Date.now()
    const won = yield* putCommit(tableDir, version, [
      {
        commitInfo: {
          timestamp: now,
          operation: "WRITE",
          operationParameters: { mode: "Append", partitionBy: "[]" },
          readVersion: snapshot.version,
          isolationLevel: "Serializable",
          isBlindAppend: true,
          operationMetrics: {
            numFiles: "1",
            numOutputRows: String(commit.numRecords),
            numOutputBytes: String(commit.add.size)
          },
          engineInfo: ENGINE_INFO,
          txnId: crypto.randomUUID()
        }
      },
      { txn: commit.txn },
      { add: commit.add }
    ])
    if (won) {
      const files = new Map(snapshot.files)
      files.set(commit.add.path, commit.add)
      const txns = new Map(snapshot.txns)
      txns.set(commit.txn.appId, commit.txn)
      const next: Snapshot = { ...snapshot, version, files, txns }
      return next
    }
    const latest = yield* readSnapshot(tableDir)
    if (
      latest.metadata.id !== snapshot.metadata.id || latest.metadata.schemaString !== snapshot.metadata.schemaString
    ) {
      return yield* conflict(`the table at ${tableDir} was replaced or its schema changed by another writer`)
    }
    snapshot = latest
  }
  return yield* conflict(`gave up after losing ${MAX_RACES} commit races on ${tableDir}`)
})
