/**
 * Zerobus Local's `Storage` service backed by Delta tables ({@link DeltaStore}): a stream's
 * records are validated against the table schema, acknowledged once their WAL frame is durable and
 * materialized into Parquet + `_delta_log` commits.
 *
 * Errors map onto the server's storage errors: a missing table is `TableNotFound` (gRPC NOT_FOUND,
 * as the real service answers), a descriptor that does not fit is `SchemaMismatch`, a bad record is
 * `InvalidRecord` with its index and column, a closing store is `StorageUnavailable`, I/O and
 * corruption are `StorageFailure`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as JsonRecord from "../../internal/delta/JsonRecord.ts"
import * as Storage from "../Storage.ts"
import type { DeltaError } from "./DeltaError.ts"
import * as DeltaStore from "./DeltaStore.ts"

/** Options: the store's, plus whether protobuf streams may create missing tables. */
export interface Options extends DeltaStore.StoreOptions {
  /**
   * Create a missing table from the first protobuf stream's descriptor (default false: the real
   * service never creates tables, it answers NOT_FOUND).
   */
  readonly autoCreateTables?: boolean | undefined
}

const storageError = (table: string, e: DeltaError): Storage.StorageError => {
  const reason = e.reason
  switch (reason._tag) {
    case "NotFound":
      return new Storage.StorageError({ reason: new Storage.TableNotFound({ table, message: reason.message }) })
    case "InvalidArgument":
      return reason.index === undefined
        ? new Storage.StorageError({ reason: new Storage.SchemaMismatch({ table, message: reason.message }) })
        : new Storage.StorageError({
          reason: new Storage.InvalidRecord({
            index: reason.index,
            message: reason.message.replace(/^record \d+: /, "")
          })
        })
    case "Closed":
    case "Conflict":
      return new Storage.StorageError({ reason: new Storage.StorageUnavailable({ message: reason.message }) })
    case "AlreadyExists":
    case "Io":
    case "Corrupt":
      return new Storage.StorageError({ reason: new Storage.StorageFailure({ message: reason.message, cause: e }) })
  }
}

/**
 * Builds the Delta-backed `Storage` over a store. `records` reads a table back (committed files and
 * acknowledged rows not yet materialized) as JSON objects in the decoder's canonical form; a Delta
 * table keeps no stream ids or offsets, so those fields are `""` and `-1`, `index` is the row's
 * position in the table and `raw` is the JSON text of `value`.
 */
export const fromStore = (
  store: DeltaStore.DeltaStore["Service"],
  options: { readonly autoCreateTables?: boolean | undefined } = {}
): Storage.Storage["Service"] =>
  Storage.Storage.of({
    open: (request) =>
      Effect.gen(function*() {
        if (options.autoCreateTables === true && request.format === "proto" && request.descriptor !== undefined) {
          yield* store.ensureTableFromDescriptor(request.table, request.descriptor)
        }
        const table = yield* store.table(request.table)
        const stream = yield* table.openStream({
          streamId: request.streamId,
          format: request.format,
          descriptor: request.descriptor
        })
        const writer: Storage.StreamWriter = {
          append: (append) =>
            stream.append(append.offset, append.records).pipe(
              Effect.map((durable) => Effect.mapError(durable, (e) => storageError(request.table, e))),
              Effect.mapError((e) => storageError(request.table, e))
            )
        }
        return writer
      }).pipe(Effect.mapError((e) => storageError(request.table, e))),

    records: (name) =>
      Effect.gen(function*() {
        const known = yield* store.tables
        const key = name.toLowerCase()
        if (!known.includes(key)) return []
        const table = yield* store.table(key)
        const rows = yield* table.rows
        return rows.map((row, index): Storage.StoredRecord => {
          const value = JsonRecord.encode(table.schema, row)
          return {
            table: key,
            streamId: "",
            offset: -1,
            index,
            batch: false,
            format: "json",
            value,
            raw: JSON.stringify(value)
          }
        })
      }).pipe(Effect.mapError((e) => storageError(name, e))),

    tables: Effect.gen(function*() {
      const names = yield* store.tables
      return yield* Effect.forEach(names, (name) =>
        store.table(name).pipe(Effect.map((table) => {
          const stats = table.stats()
          return { table: name, records: stats.committedRows + stats.bufferedRows }
        })))
    }).pipe(Effect.mapError((e) => storageError("", e)))
  })

/** The Delta-backed `Storage` with its store (scoped: closing it materializes and closes every table). */
export const make = Effect.fnUntraced(function*(options: Options) {
  const store = yield* DeltaStore.make(options)
  return { store, storage: fromStore(store, options) }
})

/**
 * `Storage` and `DeltaStore` (for declaring tables) over `options.dataDir`, e.g.
 * `ZerobusLocal.layerWithStorage(server).pipe(Layer.provide(DeltaStorage.layer({ dataDir: ".zerobus" })))`.
 */
export const layer = (options: Options): Layer.Layer<Storage.Storage | DeltaStore.DeltaStore, DeltaError> =>
  Layer.effectContext(
    make(options).pipe(
      Effect.map(({ storage, store }) =>
        Context.make(Storage.Storage, storage).pipe(Context.add(DeltaStore.DeltaStore, store))
      )
    )
  )
