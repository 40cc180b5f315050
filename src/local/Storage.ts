/**
 * Where Zerobus Local keeps the records it acknowledges.
 *
 * The server opens a table once per stream ({@link Storage.open}), then hands it each request's
 * records ({@link StreamWriter.append}). `append` validates the whole request before keeping
 * anything, so a bad request stores nothing; it succeeds with a second Effect that completes when
 * the records are durable. The server acknowledges a request only after that inner Effect
 * succeeds, and may append further requests meanwhile, so a durable backend can commit many
 * requests with one sync.
 *
 * Tables may be declared with a schema ({@link Storage.declareTable}); records of a declared table are
 * checked against it by `RecordDecoder.forTable`, the code path every backend shares, so a test
 * sees the same errors with the memory and the Delta backend.
 *
 * Implementations: {@link layerMemory} (keeps every record; undeclared tables are created on first
 * use), {@link layerDiscard} (benchmarks: counts records, keeps nothing, does not decode records)
 * and `DeltaStorage.layer` (Delta Lake tables on disk).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { DeltaSchemaError } from "../internal/delta/DeltaSchemaError.ts"
import * as Delta from "../internal/delta/DeltaType.ts"
import * as JsonRecord from "../internal/delta/JsonRecord.ts"
import * as ProtoSchema from "../internal/delta/ProtoSchema.ts"
import type { RecordFormat } from "../internal/protocol.ts"
import * as RecordDecoder from "./RecordDecoder.ts"

const TypeId = "~effect-zerobus/local/StorageError"

/**
 * The table does not exist (backends that do not create tables on first use).
 *
 * @since 0.1.0
 * @category errors
 */
export class TableNotFound extends Schema.TaggedError<TableNotFound>()("TableNotFound", {
  table: Schema.String,
  message: Schema.String
}) {
  /** Never: the table will not appear by retrying. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A table cannot be declared: invalid name or schema, or the table exists with another schema (or,
 * in memory, already holds records).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTable extends Schema.TaggedError<InvalidTable>()("InvalidTable", {
  table: Schema.String,
  message: Schema.String
}) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The stream's record format or descriptor does not fit the table.
 *
 * @since 0.1.0
 * @category errors
 */
export class SchemaMismatch extends Schema.TaggedError<SchemaMismatch>()("SchemaMismatch", {
  table: Schema.String,
  message: Schema.String
}) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A record of a request is invalid; `index` is its position in the request (0 for single records),
 * `column` the offending column (dotted path) when the record was checked against a table schema.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRecord extends Schema.TaggedError<InvalidRecord>()("InvalidRecord", {
  index: Schema.Int,
  message: Schema.String,
  column: Schema.optional(Schema.String)
}) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * Storage cannot take records right now (shutting down, out of space).
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  message: Schema.String
}) {
  /** Always: a later attempt may succeed. */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * An unexpected storage failure (I/O error, corrupted state).
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageFailure extends Schema.TaggedError<StorageFailure>()("StorageFailure", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  /** Always. */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * Why a storage operation failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type StorageErrorReason =
  | TableNotFound
  | InvalidTable
  | SchemaMismatch
  | InvalidRecord
  | StorageUnavailable
  | StorageFailure

/**
 * A failed storage operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  reason: Schema.Union([TableNotFound, InvalidTable, SchemaMismatch, InvalidRecord, StorageUnavailable, StorageFailure])
}) {
  /** @internal */
  readonly [TypeId] = TypeId
  /** The reason's message. */
  override get message(): string {
    return this.reason.message
  }
  /** Whether retrying (on a new stream) may succeed. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/**
 * Whether a value is a {@link StorageError}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isStorageError = (u: unknown): u is StorageError => u instanceof StorageError

/**
 * What a stream asks of storage when it opens.
 *
 * @since 0.1.0
 * @category models
 */
export interface OpenRequest {
  /** Three-part table name, `catalog.schema.table`. */
  readonly table: string
  readonly format: RecordFormat
  /** The serialized `DescriptorProto` of a protobuf stream, as the client sent it. */
  readonly descriptor: Uint8Array | undefined
  /**
   * Format-level checks for this stream's records, built from `format` and `descriptor` (the
   * descriptor is resolved once, here: backends use `decoder.messageSchema`).
   */
  readonly decoder: RecordDecoder.RecordDecoder
  readonly streamId: string
}

/**
 * One request's records. `offset` is the request's `offset_id` on its stream; `batch` tells whether
 * it came as `ingest_record_batch`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendRequest {
  readonly offset: number
  /** The records; empty when the storage does not read them (`StorageInfo.readsRecords`). */
  readonly records: ReadonlyArray<string> | ReadonlyArray<Uint8Array>
  /** How many records the request carries. */
  readonly count: number
  readonly batch: boolean
}

/**
 * A table opened by one stream. `append` fails (storing nothing) when a record is invalid and
 * otherwise succeeds with an Effect that completes once the records are durable.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamWriter {
  readonly append: (request: AppendRequest) => Effect.Effect<Effect.Effect<void, StorageError>, StorageError>
}

/**
 * A stored record. The memory backend keeps every field; a Delta table keeps rows only, so its
 * records have no `streamId`, `offset`, `index`, `batch` or `format`, and `raw` is the JSON text of
 * `value`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredRecord {
  readonly table: string
  /** The stream that wrote the record (memory). */
  readonly streamId?: string | undefined
  /** The `offset_id` of the request that carried the record (memory). */
  readonly offset?: number | undefined
  /** The record's position in its request (memory). */
  readonly index?: number | undefined
  /** Whether the request was an `ingest_record_batch` (memory). */
  readonly batch?: boolean | undefined
  /** The stream's record format (memory). */
  readonly format?: RecordFormat | undefined
  /**
   * The record as a JSON object. A table with a schema (declared, or any Delta table) gives the row
   * in its canonical JSON form (`JsonRecord.encode`: long as a number when safe, timestamps ISO-8601
   * with µs, decimals as strings, binary as base64); a memory table without one gives the parsed
   * JSON record, or the protobuf JSON form of a protobuf record (see `RecordDecoder`).
   */
  readonly value: { readonly [key: string]: unknown }
  /** The record as sent: a JSON string or protobuf bytes (Delta: the JSON text of `value`). */
  readonly raw: string | Uint8Array
}

/**
 * Per-table summary.
 *
 * @since 0.1.0
 * @category models
 */
export interface TableSummary {
  readonly table: string
  readonly records: number
}

/**
 * What kind of storage a server uses, and where it keeps its data.
 *
 * @since 0.1.0
 * @category models
 */
export interface StorageInfo {
  /** `memory`, `discard`, `delta` (or another backend's name). */
  readonly kind: string
  /**
   * Whether `append` reads the records. A backend that only counts them (discard) says `false`,
   * and the server then skips turning records into strings.
   */
  readonly readsRecords: boolean
  /** The data directory of a backend that writes files (absolute). */
  readonly dataDir: string | undefined
}

/**
 * The storage service.
 *
 * @since 0.1.0
 * @category services
 */
export class Storage extends Context.Service<Storage, {
  /** The backend's kind and data directory. */
  readonly info: StorageInfo
  /**
   * Opens a table for a stream; the stream's Scope closing means the stream ended. A table that
   * does not exist and cannot be created fails with `TableNotFound`; a protobuf message that does
   * not fit a table's schema with `SchemaMismatch`.
   */
  readonly open: (request: OpenRequest) => Effect.Effect<StreamWriter, StorageError, Scope.Scope>
  /** Every stored record of a table, in storage order (empty for an unknown table). */
  readonly records: (table: string) => Effect.Effect<ReadonlyArray<StoredRecord>, StorageError>
  /** The known tables and their record counts. */
  readonly tables: Effect.Effect<ReadonlyArray<TableSummary>, StorageError>
  /**
   * Declares a table with its schema, before any stream writes it. Succeeds with `true` when the
   * table was created and `false` when it already exists with the same schema; fails with
   * `InvalidTable` for an invalid name or schema, or a table that exists with another schema.
   * Names are `catalog.schema.table` of ASCII letters, digits and `_` (case-insensitive).
   */
  readonly declareTable: (table: string, schema: Delta.StructType) => Effect.Effect<boolean, StorageError>
  /**
   * The schema of a table, when known: declared, read from a Delta table's metadata, or (memory)
   * derived from the descriptor of the first protobuf stream that wrote it. None for an unknown
   * table and for a memory table written only by JSON streams without a declaration.
   */
  readonly schema: (table: string) => Effect.Effect<Option.Option<Delta.StructType>, StorageError>
  /**
   * The directory holding a table's files (Delta: the table root, whether or not it exists yet);
   * none for storage that keeps no files.
   */
  readonly location: (table: string) => Effect.Effect<Option.Option<string>, StorageError>
  /**
   * Makes every acknowledged record visible to readers of the files (Delta: commits what each open
   * table holds in its WAL); nothing to do for the memory and discard backends.
   */
  readonly flush: Effect.Effect<void, StorageError>
}>()("effect-zerobus/local/Storage") {}

const durable = Effect.succeed(Effect.void)

const namePartPattern = /^[A-Za-z0-9_]+$/

/**
 * Whether a string can be one part (catalog, schema or table) of a declarable name: ASCII letters,
 * digits and `_` (a name Delta storage can keep as a directory).
 *
 * @since 0.1.0
 * @category tables
 */
export const isNamePart = (part: string): boolean => namePartPattern.test(part)

/**
 * Whether a name can be declared: `catalog.schema.table`, each part as {@link isNamePart} allows.
 *
 * @since 0.1.0
 * @category tables
 */
export const isDeclarableName = (table: string): boolean => {
  const parts = table.split(".")
  return parts.length === 3 && parts.every(isNamePart)
}

/**
 * Why `table` is not a declarable name (for errors).
 *
 * @since 0.1.0
 * @category tables
 */
export const invalidNameMessage = (table: string): string =>
  `invalid table name '${table}': expected catalog.schema.table of letters, digits and '_'`

/**
 * Checks a declaration (name and schema) the same way for every backend.
 *
 * @since 0.1.0
 * @category tables
 */
export const checkDeclaration = (
  table: string,
  schema: Delta.StructType
): Effect.Effect<RecordDecoder.TableDecoder, StorageError> =>
  isDeclarableName(table)
    ? Delta.validate(schema).pipe(
      Effect.flatMap(RecordDecoder.forTable),
      Effect.mapError((error) => invalidTable(table, `invalid schema for ${table}: ${error.message}`))
    )
    : Effect.fail(invalidTable(table, invalidNameMessage(table)))

/**
 * Whether two schemas are the same (names, types, nullability; field metadata ignored).
 *
 * @since 0.1.0
 * @category tables
 */
export const sameSchema = (a: Delta.StructType, b: Delta.StructType): boolean =>
  Delta.toSchemaString(withoutMetadata(a)) === Delta.toSchemaString(withoutMetadata(b))

const withoutMetadata = (struct: Delta.StructType): Delta.StructType =>
  Delta.struct(struct.fields.map((f) => Delta.field(f.name, typeWithoutMetadata(f.type), f.nullable)))

const typeWithoutMetadata = (type: Delta.DeltaType): Delta.DeltaType => {
  switch (type.kind) {
    case "primitive":
    case "decimal":
      return type
    case "array":
      return Delta.array(typeWithoutMetadata(type.elementType), type.containsNull)
    case "map":
      return Delta.map(typeWithoutMetadata(type.keyType), typeWithoutMetadata(type.valueType), type.valueContainsNull)
    case "struct":
      return withoutMetadata(type)
  }
}

const invalidTable = (table: string, message: string) =>
  new StorageError({ reason: new InvalidTable({ table, message }) })

/**
 * The storage error of a record that does not fit its table (the failure of a row decoder), naming
 * the column.
 *
 * @since 0.1.0
 * @category errors
 */
export const invalidRecord = (index: number, error: DeltaSchemaError): StorageError => {
  const reason = error.reason
  return new StorageError({
    reason: reason._tag === "InvalidRecord" && reason.column !== ""
      ? new InvalidRecord({ index, message: reason.message, column: reason.column })
      : new InvalidRecord({ index, message: error.message })
  })
}

/** Declared schemas by lower-cased name, with the checks shared by the in-process backends. */
const makeDeclarations = (hasRecords: (key: string) => boolean) => {
  const declared = new Map<string, RecordDecoder.TableDecoder>()
  const declare = (table: string, schema: Delta.StructType): Effect.Effect<boolean, StorageError> =>
    checkDeclaration(table, schema).pipe(Effect.flatMap((decoder) =>
      Effect.suspend(() => {
        const key = table.toLowerCase()
        const existing = declared.get(key)
        if (existing !== undefined) {
          return sameSchema(existing.schema, schema)
            ? Effect.succeed(false)
            : Effect.fail(invalidTable(
              table,
              `table ${table} already exists with another schema (${Delta.toTypeText(existing.schema)})`
            ))
        }
        if (hasRecords(key)) {
          return Effect.fail(
            invalidTable(table, `table ${table} already holds records; declare a table before streams write it`)
          )
        }
        declared.set(key, decoder)
        return Effect.succeed(true)
      })
    ))
  return { declared, declare }
}

/**
 * Keeps every record in memory, per table. Undeclared tables are created when a stream first
 * opens them and take any valid record; declared tables check records against their schema
 * (`RecordDecoder.forTable`, as the Delta backend does).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Storage["Service"]> = Effect.sync(() => {
  const tables = new Map<string, Array<StoredRecord>>()
  const derived = new Map<string, Delta.StructType>()
  const { declare, declared } = makeDeclarations((key) => {
    for (const [name, records] of tables) if (name.toLowerCase() === key && records.length > 0) return true
    return false
  })
  const tableOf = (table: string): Array<StoredRecord> => {
    let records = tables.get(table)
    if (records === undefined) {
      records = []
      tables.set(table, records)
    }
    return records
  }
  /** Remembers the schema of the first protobuf stream's message (when it maps to a table). */
  const derive = (request: OpenRequest): Effect.Effect<void> => {
    const key = request.table.toLowerCase()
    const message = request.decoder.messageSchema
    if (message === undefined || derived.has(key)) return Effect.void
    return ProtoSchema.schemaFromDescriptor(message).pipe(
      Effect.match({
        onFailure: () => undefined,
        onSuccess: (schema) => {
          derived.set(key, schema)
        }
      })
    )
  }

  /**
   * A writer that turns every record of a request into a value with `value` and, once all of them
   * are valid, adds them to `stored()` (nothing is kept from a request with an invalid record).
   */
  const writer = (
    request: OpenRequest,
    stored: () => Array<StoredRecord>,
    value: (raw: string | Uint8Array, index: number) => Result.Result<StoredRecord["value"], StorageError>
  ): StreamWriter => ({
    append: (req) => {
      const target = stored()
      const batch: Array<StoredRecord> = []
      for (let index = 0; index < req.records.length; index++) {
        const raw = req.records[index]!
        const decoded = value(raw, index)
        if (Result.isFailure(decoded)) return Effect.fail(decoded.failure)
        batch.push({
          table: request.table,
          streamId: request.streamId,
          offset: req.offset,
          index,
          batch: req.batch,
          format: request.format,
          value: decoded.success,
          raw
        })
      }
      for (const record of batch) target.push(record)
      return durable
    }
  })

  const openDeclared = (request: OpenRequest, table: RecordDecoder.TableDecoder) =>
    table.forStream(request.decoder).pipe(
      Effect.mapError((error) =>
        new StorageError({
          reason: new SchemaMismatch({
            table: request.table,
            message: `the stream's descriptor does not fit table ${request.table}: ${error.message}`
          })
        })
      ),
      Effect.map((decodeRow) => {
        const stored = tableOf(request.table)
        return writer(request, () => stored, (raw, index) =>
          Result.mapBoth(decodeRow(raw), {
            onFailure: (error) => invalidRecord(index, error),
            onSuccess: (row) => JsonRecord.encode(table.schema, row)
          }))
      })
    )

  const openUndeclared = (request: OpenRequest) =>
    Effect.as(
      derive(request),
      writer(request, () => tableOf(request.table), (raw, index) =>
        Result.mapBoth(request.decoder.decode(raw), {
          onFailure: (message) => new StorageError({ reason: new InvalidRecord({ index, message }) }),
          onSuccess: (decoded) => decoded.value
        }))
    )

  return Storage.of({
    info: { kind: "memory", dataDir: undefined, readsRecords: true },
    open: (request) =>
      Effect.suspend(() => {
        const table = declared.get(request.table.toLowerCase())
        return table === undefined ? openUndeclared(request) : openDeclared(request, table)
      }),
    records: (table) => Effect.sync(() => [...(tables.get(table) ?? [])]),
    tables: Effect.sync(() => {
      const summaries = [...tables].map(([table, records]) => ({ table, records: records.length }))
      const seen = new Set(summaries.map((t) => t.table.toLowerCase()))
      for (const key of declared.keys()) if (!seen.has(key)) summaries.push({ table: key, records: 0 })
      return summaries
    }),
    declareTable: declare,
    schema: (table) =>
      Effect.sync(() => {
        const key = table.toLowerCase()
        return Option.fromUndefinedOr(declared.get(key)?.schema ?? derived.get(key))
      }),
    location: () => Effect.succeedNone,
    flush: Effect.void
  })
})

/**
 * In-memory storage ({@link makeMemory}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<Storage> = Layer.effect(Storage, makeMemory)

/**
 * Acknowledges everything and keeps nothing: counts records per table without decoding them. For
 * benchmarks, where the server's own cost should be as small as possible. Declared tables are
 * remembered (their schema is reported) but records are not checked against them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDiscard: Effect.Effect<Storage["Service"]> = Effect.sync(() => {
  const counts = new Map<string, { records: number }>()
  const { declare, declared } = makeDeclarations((key) => {
    for (const [name, count] of counts) if (name.toLowerCase() === key && count.records > 0) return true
    return false
  })
  return Storage.of({
    info: { kind: "discard", dataDir: undefined, readsRecords: false },
    open: (request) =>
      Effect.sync(() => {
        let count = counts.get(request.table)
        if (count === undefined) {
          count = { records: 0 }
          counts.set(request.table, count)
        }
        const counter = count
        return {
          append: (req) => {
            counter.records += req.count
            return durable
          }
        }
      }),
    records: () => Effect.succeed([]),
    tables: Effect.sync(() => [...counts].map(([table, { records }]) => ({ table, records }))),
    declareTable: declare,
    schema: (table) => Effect.sync(() => Option.fromUndefinedOr(declared.get(table.toLowerCase())?.schema)),
    location: () => Effect.succeedNone,
    flush: Effect.void
  })
})

/**
 * Storage that keeps nothing ({@link makeDiscard}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDiscard: Layer.Layer<Storage> = Layer.effect(Storage, makeDiscard)
