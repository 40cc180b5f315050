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
import * as Option from "effect/Option"
import * as Delta from "../../internal/delta/DeltaType.ts"
import * as JsonRecord from "../../internal/delta/JsonRecord.ts"
import * as ProtoSchema from "../../internal/delta/ProtoSchema.ts"
import * as Storage from "../Storage.ts"
import type { DeltaError } from "./DeltaError.ts"
import * as DeltaStore from "./DeltaStore.ts"
import type { DeltaTable } from "./DeltaTable.ts"

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
      if (reason.index === undefined) {
        return new Storage.StorageError({ reason: new Storage.SchemaMismatch({ table, message: reason.message }) })
      }
      // A record the table's decoder refused: described as the in-memory storage describes it.
      return reason.cause === undefined
        ? new Storage.StorageError({
          reason: new Storage.InvalidRecord({ index: reason.index, message: reason.message, column: reason.column })
        })
        : Storage.invalidRecord(reason.index, reason.cause)
    case "Closed":
    case "Conflict":
      return new Storage.StorageError({ reason: new Storage.StorageUnavailable({ message: reason.message }) })
    case "AlreadyExists":
    case "Io":
    case "Corrupt":
      return new Storage.StorageError({ reason: new Storage.StorageFailure({ message: reason.message, cause: e }) })
  }
}

const notFound = (table: string, format: "json" | "proto", autoCreate: boolean): Storage.StorageError =>
  new Storage.StorageError({
    reason: new Storage.TableNotFound({
      table,
      message: `table ${table} does not exist: declare it first (zerobus local --table, POST /admin/tables/${table}` +
        ` or declareTable)${
          format === "proto" && !autoCreate
            ? ", or let protobuf streams create their table (zerobus local --auto-create)"
            : ""
        }`
    })
  })

/**
 * Builds the Delta-backed `Storage` over a store.
 *
 * - `open`: a missing table is `TableNotFound` (gRPC NOT_FOUND, as the real service answers),
 *   unless `autoCreateTables` is set and the stream is protobuf: then the table is created from the
 *   stream's descriptor. The stream's records are checked with `RecordDecoder.forTable`.
 * - `records` reads a table back (committed files, then acknowledged rows not yet materialized) as
 *   JSON objects in the canonical form of `JsonRecord.encode`; a Delta table keeps no stream ids,
 *   offsets or formats, so those fields are absent and `raw` is the JSON text of `value`.
 * - `declareTable` creates the table (commit 0); an existing table with the same schema is fine.
 * - `location` is the table's directory, `flush` commits what every open table holds.
 */
export const fromStore = (
  store: DeltaStore.DeltaStore["Service"],
  options: { readonly autoCreateTables?: boolean | undefined } = {}
): Storage.Storage["Service"] => {
  const autoCreate = options.autoCreateTables === true

  /** The table if it exists (None for a missing table or a name that cannot be a table). */
  const existing = (name: string): Effect.Effect<Option.Option<DeltaTable>, DeltaError> =>
    store.table(name).pipe(
      Effect.map(Option.some),
      Effect.catchReason("DeltaError", "NotFound", () => Effect.succeedNone),
      Effect.catchReason("DeltaError", "InvalidArgument", () => Effect.succeedNone)
    )

  const createFromDescriptor = (request: Storage.OpenRequest) => {
    const message = request.decoder.messageSchema
    if (!autoCreate || message === undefined) return Effect.void
    return ProtoSchema.schemaFromDescriptor(message).pipe(
      Effect.mapError((e) =>
        new Storage.StorageError({
          reason: new Storage.SchemaMismatch({
            table: request.table,
            message: `cannot create ${request.table} from the stream's descriptor: ${e.message}`
          })
        })
      ),
      Effect.flatMap((schema) =>
        store.ensureTable(request.table, schema).pipe(Effect.mapError((e) => storageError(request.table, e)))
      ),
      Effect.asVoid
    )
  }

  return Storage.Storage.of({
    info: { kind: "delta", dataDir: store.dataDir, readsRecords: true },

    open: (request) =>
      Effect.gen(function*() {
        yield* createFromDescriptor(request)
        const table = yield* store.table(request.table).pipe(
          Effect.catchReason(
            "DeltaError",
            "NotFound",
            () => Effect.fail(notFound(request.table, request.format, autoCreate))
          ),
          Effect.mapError((e) => Storage.isStorageError(e) ? e : storageError(request.table, e))
        )
        const stream = yield* table.openStream({
          streamId: request.streamId,
          format: request.format,
          decoder: request.decoder
        }).pipe(Effect.mapError((e) => storageError(request.table, e)))
        const writer: Storage.StreamWriter = {
          append: (append) =>
            stream.append(append.offset, append.records).pipe(
              Effect.map((durable) => Effect.mapError(durable, (e) => storageError(request.table, e))),
              Effect.mapError((e) => storageError(request.table, e))
            )
        }
        return writer
      }),

    records: (name) =>
      Effect.gen(function*() {
        const found = yield* existing(name)
        if (Option.isNone(found)) return []
        const table = found.value
        const rows = yield* table.rows
        const key = name.toLowerCase()
        return rows.map((row): Storage.StoredRecord => {
          const value = JsonRecord.encode(table.schema, row)
          return { table: key, value, raw: JSON.stringify(value) }
        })
      }).pipe(Effect.mapError((e) => storageError(name, e))),

    tables: Effect.gen(function*() {
      const names = yield* store.tables
      return yield* Effect.forEach(names, (name) =>
        store.table(name).pipe(Effect.map((table) => {
          const stats = table.stats()
          return { table: name, records: stats.committedRows + stats.bufferedRows }
        })))
    }).pipe(Effect.mapError((e) => storageError("", e))),

    declareTable: (name, schema) =>
      Storage.checkDeclaration(name, schema).pipe(
        Effect.andThen(
          store.createTable(name, schema).pipe(
            Effect.as(true),
            Effect.catchReason("DeltaError", "AlreadyExists", () =>
              store.table(name).pipe(Effect.flatMap((table) =>
                Storage.sameSchema(table.schema, schema)
                  ? Effect.succeed(false)
                  : Effect.fail(
                    new Storage.StorageError({
                      reason: new Storage.InvalidTable({
                        table: name,
                        message: `table ${name} already exists with another schema (${Delta.toTypeText(table.schema)})`
                      })
                    })
                  )
              ))),
            Effect.mapError((e) =>
              Storage.isStorageError(e) ? e : storageError(name, e)
            )
          )
        )
      ),

    schema: (name) =>
      existing(name).pipe(
        Effect.map(Option.map((table) => table.schema)),
        Effect.mapError((e) => storageError(name, e))
      ),

    location: (name) =>
      store.tableDir(name).pipe(
        Effect.map(Option.some),
        Effect.catchReason("DeltaError", "InvalidArgument", () => Effect.succeedNone),
        Effect.mapError((e) => storageError(name, e))
      ),

    flush: store.flushAll.pipe(Effect.mapError((e) => storageError("", e)))
  })
}

/** The Delta-backed `Storage` with its store (scoped: closing it materializes and closes every table). */
export const make = Effect.fnUntraced(function*(options: Options) {
  const store = yield* DeltaStore.make(options)
  return { store, storage: fromStore(store, options) }
})

/**
 * `Storage` and `DeltaStore` over `options.dataDir`, e.g.
 * `ZerobusLocal.layerWithStorage(server).pipe(Layer.provide(DeltaStorage.layer({ dataDir: ".zerobus" })))`
 * (or simply `ZerobusLocal.layer({ storage: { dataDir: ".zerobus" } })`).
 */
export const layer = (options: Options): Layer.Layer<Storage.Storage | DeltaStore.DeltaStore, DeltaError> =>
  Layer.effectContext(
    make(options).pipe(
      Effect.map(({ storage, store }) =>
        Context.make(Storage.Storage, storage).pipe(Context.add(DeltaStore.DeltaStore, store))
      )
    )
  )

const quote = (text: string): string => `'${text.replaceAll("'", "''")}'`

/**
 * DuckDB SQL that reads a Delta table without DuckDB's `delta` extension: it replays
 * `_delta_log/*.json` (the newest `add`/`remove` of each path) and reads the Parquet files that are
 * live. Orphan files left by a crash are not named, so they are not read (DuckDB 1.1 or later;
 * run it with `duckdb -c` or paste it into the DuckDB shell). With the `delta` extension,
 * `select * from delta_scan('<dir>')` does the same.
 */
export const duckDbSql = (tableDir: string): string => {
  const dir = tableDir.replace(/\/+$/, "")
  return [
    "create temp table actions as",
    "  select cast(regexp_extract(filename, '(\\d{20})\\.json$', 1) as bigint) as version,",
    "         row_number() over (partition by filename) as line, json",
    `  from read_ndjson_objects(${quote(`${dir}/_delta_log/*.json`)}, filename = true);`,
    "create temp table live as",
    "  with f as (select version, line, coalesce((json->>'$.add.path'), (json->>'$.remove.path')) as path,",
    "                    (json->'$.add') is not null as is_add",
    "             from actions where (json->'$.add') is not null or (json->'$.remove') is not null),",
    "       l as (select *, row_number() over (partition by path order by version desc, line desc) as rn from f)",
    `  select ${quote(`${dir}/`)} || path as file from l where rn = 1 and is_add;`,
    "set variable files = (select list(file) from live);",
    "select * from read_parquet(getvariable('files'));"
  ].join("\n")
}
