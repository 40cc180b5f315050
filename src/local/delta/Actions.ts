/**
 * The Delta log actions Zerobus Local reads and writes (`protocol`, `metaData`, `add`, `remove`,
 * `txn`; `commitInfo` is kept opaque), the snapshot they replay into, and the log's file names.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as path from "node:path"
import * as Delta from "../../internal/delta/DeltaType.ts"
import { corrupt, type DeltaError } from "./DeltaError.ts"

/** `engineInfo` of our commits. */
export const ENGINE_INFO = "zerobus-local/0.1.0"

/** The `protocol` action. */
export const Protocol = Schema.Struct({
  minReaderVersion: Schema.Int,
  minWriterVersion: Schema.Int,
  readerFeatures: Schema.optional(Schema.Array(Schema.String)),
  writerFeatures: Schema.optional(Schema.Array(Schema.String))
})
/** The `protocol` action. */
export type Protocol = typeof Protocol.Type

/** The `metaData` action. */
export const Metadata = Schema.Struct({
  id: Schema.String,
  name: Schema.optional(Schema.NullOr(Schema.String)),
  description: Schema.optional(Schema.NullOr(Schema.String)),
  format: Schema.Struct({
    provider: Schema.String,
    options: Schema.optional(Schema.Record(Schema.String, Schema.String))
  }),
  schemaString: Schema.String,
  partitionColumns: Schema.Array(Schema.String),
  configuration: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  createdTime: Schema.optional(Schema.NullOr(Schema.Number))
})
/** The `metaData` action. */
export type Metadata = typeof Metadata.Type

/** The `add` action. */
export const Add = Schema.Struct({
  path: Schema.String,
  partitionValues: Schema.Record(Schema.String, Schema.NullOr(Schema.String)),
  size: Schema.Number,
  modificationTime: Schema.Number,
  dataChange: Schema.Boolean,
  stats: Schema.optional(Schema.NullOr(Schema.String)),
  tags: Schema.optional(Schema.NullOr(Schema.Record(Schema.String, Schema.NullOr(Schema.String))))
})
/** The `add` action. */
export type Add = typeof Add.Type

/** The `remove` action (only `path` matters to an append-only writer). */
export const Remove = Schema.Struct({
  path: Schema.String,
  deletionTimestamp: Schema.optional(Schema.NullOr(Schema.Number)),
  dataChange: Schema.Boolean
})
/** The `remove` action. */
export type Remove = typeof Remove.Type

/** The `txn` action (application transaction watermark). */
export const Txn = Schema.Struct({
  appId: Schema.String,
  version: Schema.Number,
  lastUpdated: Schema.optional(Schema.NullOr(Schema.Number))
})
/** The `txn` action. */
export type Txn = typeof Txn.Type

/** One line of a commit file; every other action kind is ignored. */
export const ActionLine = Schema.Struct({
  protocol: Schema.optional(Protocol),
  metaData: Schema.optional(Metadata),
  add: Schema.optional(Add),
  remove: Schema.optional(Remove),
  txn: Schema.optional(Txn),
  commitInfo: Schema.optional(Schema.Unknown)
})
/** One line of a commit file. */
export type ActionLine = typeof ActionLine.Type

/** Decodes one JSON line of a commit file. */
export const decodeLine = Schema.decodeUnknownEffect(Schema.fromJsonString(ActionLine))

/** The state of a table at one version. */
export interface Snapshot {
  readonly version: number
  readonly protocol: Protocol
  readonly metadata: Metadata
  readonly schema: Delta.StructType
  /** Live data files by path. */
  readonly files: ReadonlyMap<string, Add>
  /** Latest `txn` per appId. */
  readonly txns: ReadonlyMap<string, Txn>
}

/** The log directory of a table. */
export const logDir = (tableDir: string): string => path.join(tableDir, "_delta_log")

const pad = (version: number): string => String(version).padStart(20, "0")

/** The commit file of a version. */
export const commitFile = (tableDir: string, version: number): string =>
  path.join(logDir(tableDir), `${pad(version)}.json`)

/** The classic checkpoint file of a version. */
export const checkpointFile = (tableDir: string, version: number): string =>
  path.join(logDir(tableDir), `${pad(version)}.checkpoint.parquet`)

/** The `_last_checkpoint` file. */
export const lastCheckpointFile = (tableDir: string): string => path.join(logDir(tableDir), "_last_checkpoint")

/** A commit file name. */
export const COMMIT = /^(\d{20})\.json$/
/** A classic (single-file) checkpoint file name. */
export const CHECKPOINT = /^(\d{20})\.checkpoint\.parquet$/

/** The `add`/`remove`/`txn`/`protocol`/`metaData` state while replaying. */
export class SnapshotBuilder {
  protocol: Protocol | undefined
  metadata: Metadata | undefined
  readonly files = new Map<string, Add>()
  readonly txns = new Map<string, Txn>()

  /** Applies one action line. */
  apply(line: ActionLine): void {
    if (line.protocol !== undefined) this.protocol = line.protocol
    if (line.metaData !== undefined) this.metadata = line.metaData
    if (line.add !== undefined) this.files.set(line.add.path, line.add)
    if (line.remove !== undefined) this.files.delete(line.remove.path)
    if (line.txn !== undefined) this.txns.set(line.txn.appId, line.txn)
  }

  /** The snapshot at `version`; fails when protocol or metadata is missing or unreadable. */
  build(version: number, where: string): Effect.Effect<Snapshot, DeltaError> {
    const { protocol, metadata, files, txns } = this
    if (protocol === undefined || metadata === undefined) {
      return Effect.fail(corrupt(where, `no protocol or metaData action up to version ${version}`))
    }
    return Delta.parseSchemaString(metadata.schemaString).pipe(
      Effect.mapError((e) => corrupt(where, `unreadable schemaString: ${e.message}`)),
      Effect.map((schema) => ({ version, protocol, metadata, schema, files: new Map(files), txns: new Map(txns) }))
    )
  }
}
