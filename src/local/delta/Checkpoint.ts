/**
 * Classic (V1, single-file) Delta checkpoints: `<version>.checkpoint.parquet` with one row per
 * action (`protocol`, `metaData`, `txn`, `add`; never `commitInfo`), laid out like Spark's, and the
 * `_last_checkpoint` pointer. A checkpoint is written to a temporary name, read back with
 * `hyparquet` and compared with the snapshot it stands for, and only then renamed into place.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { SchemaElement } from "hyparquet"
import { parquetReadObjects } from "hyparquet"
import { parquetWriteBuffer } from "hyparquet-writer"
import {
  type ActionLine,
  ActionLine as ActionLineSchema,
  type Add,
  checkpointFile,
  lastCheckpointFile,
  type Snapshot,
  SnapshotBuilder
} from "./Actions.ts"
import { corrupt, io } from "./DeltaError.ts"
import * as Fs from "./Fs.ts"

const str = (name: string): SchemaElement => ({
  name,
  type: "BYTE_ARRAY",
  converted_type: "UTF8",
  repetition_type: "OPTIONAL"
})
const required = (name: string, type: "INT32" | "INT64" | "BOOLEAN"): SchemaElement => ({
  name,
  type,
  repetition_type: "REQUIRED"
})
const optional = (name: string, type: "INT64"): SchemaElement => ({ name, type, repetition_type: "OPTIONAL" })
const stringMap = (name: string): Array<SchemaElement> => [
  { name, repetition_type: "OPTIONAL", converted_type: "MAP", num_children: 1 },
  { name: "key_value", repetition_type: "REPEATED", num_children: 2 },
  { name: "key", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
  str("value")
]
const group = (
  name: string,
  children: ReadonlyArray<ReadonlyArray<SchemaElement> | SchemaElement>
): Array<SchemaElement> => {
  const flat = children.map((c): ReadonlyArray<SchemaElement> => ("name" in c ? [c] : c))
  return [{ name, repetition_type: "OPTIONAL", num_children: flat.length }, ...flat.flat()]
}

/** The checkpoint's Parquet schema (the subset of Spark's that we write). */
export const checkpointSchema: Array<SchemaElement> = [
  { name: "spark_schema", num_children: 5 },
  ...group("txn", [str("appId"), required("version", "INT64"), optional("lastUpdated", "INT64")]),
  ...group("add", [
    str("path"),
    stringMap("partitionValues"),
    required("size", "INT64"),
    required("modificationTime", "INT64"),
    required("dataChange", "BOOLEAN"),
    str("stats"),
    stringMap("tags")
  ]),
  ...group("remove", [str("path"), optional("deletionTimestamp", "INT64"), required("dataChange", "BOOLEAN")]),
  ...group("metaData", [
    str("id"),
    str("name"),
    str("description"),
    group("format", [str("provider"), stringMap("options")]),
    str("schemaString"),
    [
      { name: "partitionColumns", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      str("element")
    ],
    stringMap("configuration"),
    optional("createdTime", "INT64")
  ]),
  ...group("protocol", [required("minReaderVersion", "INT32"), required("minWriterVersion", "INT32")])
]

const big = (n: number | null | undefined): bigint | null => (n === null || n === undefined ? null : BigInt(n))
const entries = (record: Readonly<Record<string, string | null>> | null | undefined) =>
  record === null || record === undefined ? null : new Map(Object.entries(record))

const addRow = (add: Add) => ({
  path: add.path,
  partitionValues: entries(add.partitionValues),
  size: BigInt(add.size),
  modificationTime: BigInt(add.modificationTime),
  dataChange: add.dataChange,
  stats: add.stats ?? null,
  tags: entries(add.tags)
})

/** Encodes a snapshot as checkpoint rows; returns the file bytes and the number of rows. */
export const encode = (snapshot: Snapshot): { readonly bytes: Uint8Array; readonly rows: number } => {
  const { metadata, protocol } = snapshot
  type Row = { txn: unknown; add: unknown; remove: null; metaData: unknown; protocol: unknown }
  const empty = { txn: null, add: null, remove: null, metaData: null, protocol: null }
  const rows: Array<Row> = [
    {
      ...empty,
      protocol: { minReaderVersion: protocol.minReaderVersion, minWriterVersion: protocol.minWriterVersion }
    },
    {
      ...empty,
      metaData: {
        id: metadata.id,
        name: metadata.name ?? null,
        description: metadata.description ?? null,
        format: { provider: metadata.format.provider, options: entries(metadata.format.options ?? {}) },
        schemaString: metadata.schemaString,
        partitionColumns: [...metadata.partitionColumns],
        configuration: entries(metadata.configuration ?? {}),
        createdTime: big(metadata.createdTime)
      }
    },
    ...[...snapshot.txns.values()].map((t) => ({
      ...empty,
      txn: { appId: t.appId, version: BigInt(t.version), lastUpdated: big(t.lastUpdated) }
    })),
    ...[...snapshot.files.values()].map((a) => ({ ...empty, add: addRow(a) }))
  ]
  const bytes = parquetWriteBuffer({
    schema: checkpointSchema,
    columnData: (["txn", "add", "remove", "metaData", "protocol"] as const).map((name) => ({
      name,
      data: rows.map((r) => r[name])
    })),
    codec: "SNAPPY",
    createdBy: "zerobus-local"
  })
  return { bytes: new Uint8Array(bytes), rows: rows.length }
}

/** Plain JSON from hyparquet's values: bigints → numbers, Maps → objects, null and absent fields dropped. */
const toJson = (value: unknown): unknown => {
  if (Predicate.isBigInt(value)) return Number(value)
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toJson(v)]))
  if (Array.isArray(value)) return value.map(toJson)
  if (Predicate.isObject(value) && !(value instanceof Uint8Array)) {
    return Object.fromEntries(
      Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, toJson(v)])
    )
  }
  return value
}

const decodeAction = Schema.decodeUnknownEffect(ActionLineSchema)

/** Reads a checkpoint file into action lines. */
export const read = Effect.fnUntraced(function*(file: string) {
  const bytes = yield* Fs.readFile(file)
  const rows = yield* Effect.tryPromise({
    try: () =>
      parquetReadObjects({
        file: new Uint8Array(bytes).buffer,
        rowFormat: "object"
      }),
    catch: (e) => corrupt(file, `unreadable checkpoint: ${e instanceof Error ? e.message : String(e)}`)
  })
  const lines: Array<ActionLine> = []
  for (const row of rows) {
    lines.push(yield* decodeAction(toJson(row)).pipe(Effect.mapError((e) => corrupt(file, e.message))))
  }
  return lines
})

const LastCheckpoint = Schema.fromJsonString(Schema.Struct({ version: Schema.Int }))

/** The version `_last_checkpoint` points at, if the file exists and is readable. */
export const readLast = Effect.fnUntraced(function*(tableDir: string) {
  const bytes = yield* Fs.readFileOrUndefined(lastCheckpointFile(tableDir))
  if (bytes === undefined) return undefined
  return yield* Schema.decodeUnknownEffect(LastCheckpoint)(bytes.toString("utf8")).pipe(
    Effect.map((last) => last.version),
    Effect.catch((e) =>
      Effect.logWarning(`ignoring unreadable ${lastCheckpointFile(tableDir)}: ${e.message}`).pipe(
        Effect.as(undefined)
      )
    )
  )
})

const sameState = (a: Snapshot, b: Snapshot): string | undefined => {
  if (a.protocol.minReaderVersion !== b.protocol.minReaderVersion) return "protocol differs"
  if (a.protocol.minWriterVersion !== b.protocol.minWriterVersion) return "protocol differs"
  if (a.metadata.id !== b.metadata.id || a.metadata.schemaString !== b.metadata.schemaString) {
    return "metaData differs"
  }
  if (a.files.size !== b.files.size) return `${b.files.size} files instead of ${a.files.size}`
  for (const [p, add] of a.files) {
    const other = b.files.get(p)
    if (other === undefined || other.size !== add.size || (other.stats ?? null) !== (add.stats ?? null)) {
      return `file ${p} differs`
    }
  }
  if (a.txns.size !== b.txns.size) return "txn count differs"
  for (const [appId, txn] of a.txns) {
    if (b.txns.get(appId)?.version !== txn.version) return `txn ${appId} differs`
  }
  return undefined
}

/** What {@link write} wrote (the content of `_last_checkpoint`). */
export interface LastCheckpoint {
  readonly version: number
  readonly size: number
  readonly sizeInBytes: number
  readonly numOfAddFiles: number
}

/**
 * Writes the checkpoint of `snapshot`: temp file (fsynced), read back and compared with the
 * snapshot, renamed into place, then `_last_checkpoint` replaced atomically.
 */
export const write = Effect.fn("Checkpoint.write")(function*(tableDir: string, snapshot: Snapshot) {
  const final = checkpointFile(tableDir, snapshot.version)
  const tmp = Fs.tempName(final)
  const encoded = yield* Effect.try({ try: () => encode(snapshot), catch: (e) => io("encode", final, e) })
  yield* Effect.gen(function*() {
    yield* Fs.writeNewDurable(tmp, encoded.bytes)
    const builder = new SnapshotBuilder()
    for (const line of yield* read(tmp)) builder.apply(line)
    const readBack = yield* builder.build(snapshot.version, tmp)
    const difference = sameState(snapshot, readBack)
    if (difference !== undefined) return yield* corrupt(tmp, `checkpoint does not match the log: ${difference}`)
    yield* Fs.renameDurable(tmp, final)
  }).pipe(Effect.onError(() => Effect.ignore(Fs.unlink(tmp))))
  const last: LastCheckpoint = {
    version: snapshot.version,
    size: encoded.rows,
    sizeInBytes: encoded.bytes.length,
    numOfAddFiles: snapshot.files.size
  }
  yield* Fs.replaceDurable(lastCheckpointFile(tableDir), new TextEncoder().encode(JSON.stringify(last)))
  return last
})
