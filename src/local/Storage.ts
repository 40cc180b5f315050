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
 * Implementations: {@link layerMemory} (keeps every record, tables are created on first use) and
 * {@link layerDiscard} (benchmarks: counts records, keeps nothing, does not decode records).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type { RecordFormat } from "../internal/protocol.ts"
import type { RecordDecoder } from "./RecordDecoder.ts"

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
 * A record of a request is invalid; `index` is its position in the request (0 for single records).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRecord extends Schema.TaggedError<InvalidRecord>()("InvalidRecord", {
  index: Schema.Int,
  message: Schema.String
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
export type StorageErrorReason = TableNotFound | SchemaMismatch | InvalidRecord | StorageUnavailable | StorageFailure

/**
 * A failed storage operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class StorageError extends Schema.TaggedError<StorageError>()("StorageError", {
  reason: Schema.Union([TableNotFound, SchemaMismatch, InvalidRecord, StorageUnavailable, StorageFailure])
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
  /** Format-level checks for this stream's records (already built from `format` and `descriptor`). */
  readonly decoder: RecordDecoder
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
  readonly records: ReadonlyArray<string> | ReadonlyArray<Uint8Array>
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
 * A stored record. `offset` is the `offset_id` of the request that carried it, `index` its
 * position in that request.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredRecord {
  readonly table: string
  readonly streamId: string
  readonly offset: number
  readonly index: number
  readonly batch: boolean
  readonly format: RecordFormat
  /** Parsed JSON object, or the protobuf JSON form of a protobuf record (see `RecordDecoder`). */
  readonly value: { readonly [key: string]: unknown }
  /** The record as sent: a JSON string or protobuf bytes. */
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
 * The storage service.
 *
 * @since 0.1.0
 * @category services
 */
export class Storage extends Context.Service<Storage, {
  /** Opens a table for a stream; the stream's Scope closing means the stream ended. */
  readonly open: (request: OpenRequest) => Effect.Effect<StreamWriter, StorageError, Scope.Scope>
  /** Every stored record of a table, in storage order (empty for an unknown table). */
  readonly records: (table: string) => Effect.Effect<ReadonlyArray<StoredRecord>, StorageError>
  /** The tables that hold records. */
  readonly tables: Effect.Effect<ReadonlyArray<TableSummary>, StorageError>
}>()("effect-zerobus/local/Storage") {}

const durable = Effect.succeed(Effect.void)

/**
 * Keeps every record in memory, per table; tables are created when a stream first opens them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: Effect.Effect<Storage["Service"]> = Effect.sync(() => {
  const tables = new Map<string, Array<StoredRecord>>()
  const tableOf = (table: string): Array<StoredRecord> => {
    let records = tables.get(table)
    if (records === undefined) {
      records = []
      tables.set(table, records)
    }
    return records
  }
  return Storage.of({
    open: (request) =>
      Effect.sync(() => {
        const stored = tableOf(request.table)
        const append = (req: AppendRequest): Effect.Effect<Effect.Effect<void, StorageError>, StorageError> => {
          const batch: Array<StoredRecord> = []
          for (let index = 0; index < req.records.length; index++) {
            const raw = req.records[index]
            const decoded = request.decoder.decode(raw)
            if (Result.isFailure(decoded)) {
              return Effect.fail(new StorageError({ reason: new InvalidRecord({ index, message: decoded.failure }) }))
            }
            batch.push({
              table: request.table,
              streamId: request.streamId,
              offset: req.offset,
              index,
              batch: req.batch,
              format: request.format,
              value: decoded.success.value,
              raw
            })
          }
          for (const record of batch) stored.push(record)
          return durable
        }
        return { append }
      }),
    records: (table) => Effect.sync(() => [...(tables.get(table) ?? [])]),
    tables: Effect.sync(() => [...tables].map(([table, records]) => ({ table, records: records.length })))
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
 * benchmarks, where the server's own cost should be as small as possible.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeDiscard: Effect.Effect<Storage["Service"]> = Effect.sync(() => {
  const counts = new Map<string, { records: number }>()
  return Storage.of({
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
            counter.records += req.records.length
            return durable
          }
        }
      }),
    records: () => Effect.succeed([]),
    tables: Effect.sync(() => [...counts].map(([table, { records }]) => ({ table, records })))
  })
})

/**
 * Storage that keeps nothing ({@link makeDiscard}).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDiscard: Layer.Layer<Storage> = Layer.effect(Storage, makeDiscard)
