/**
 * The admin API of Zerobus Local (JSON over the workspace HTTP port, no authentication: keep the
 * server on a loopback address):
 *
 * | Method and path                          | What                                                     |
 * | ---------------------------------------- | -------------------------------------------------------- |
 * | `GET /admin/stats`                       | counters ({@link Stats.StatsSnapshot})                   |
 * | `GET /admin/faults`                      | pending fault steps per table                            |
 * | `POST /admin/faults/{table}`             | append steps: a JSON array of steps, or `{"steps":[…]}`  |
 * | `DELETE /admin/faults/{table}`           | clear a table's steps                                    |
 * | `DELETE /admin/faults`                   | clear every table's steps                                |
 * | `GET /admin/tables`                      | tables and their record counts                           |
 * | `POST /admin/tables/{table}`             | declare a table (body: a `TableSchema.DeclarationJson`)  |
 * | `GET /admin/tables/{table}/schema`       | the table's Delta schema and its directory (404 unknown) |
 * | `GET /admin/tables/{table}/records`      | stored records (`raw` is base64 for protobuf records)    |
 * | `POST /admin/flush`                      | commit what the tables hold (Delta storage)              |
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Delta from "../internal/delta/DeltaType.ts"
import { Faults, FaultScript, type PendingFaults } from "./Faults.ts"
import { Stats } from "./Stats.ts"
import { Storage, type StorageError, type StoredRecord } from "./Storage.ts"
import * as TableSchema from "./TableSchema.ts"

const problem = (status: number, error: string, message: string) =>
  HttpServerResponse.jsonUnsafe({ error, message }, { status })

const encodeScript = Schema.encodeSync(FaultScript)

/**
 * Pending faults in their JSON form (durations in milliseconds, codes by name).
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodePending = (pending: PendingFaults): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [table, steps] of Object.entries(pending)) out[table] = encodeScript(steps)
  return out
}

/**
 * A stored record in its JSON form.
 *
 * @since 0.1.0
 * @category encoding
 */
export const encodeRecord = (record: StoredRecord) => ({
  table: record.table,
  ...(record.streamId === undefined ? {} : { streamId: record.streamId }),
  ...(record.offset === undefined ? {} : { offset: record.offset }),
  ...(record.index === undefined ? {} : { index: record.index }),
  ...(record.batch === undefined ? {} : { batch: record.batch }),
  ...(record.format === undefined ? {} : { format: record.format }),
  value: record.value,
  raw: typeof record.raw === "string" ? record.raw : Buffer.from(record.raw).toString("base64")
})

const storageProblem = (error: StorageError) => {
  switch (error.reason._tag) {
    case "InvalidTable":
    case "SchemaMismatch":
      return problem(400, "invalid_table", error.message)
    case "TableNotFound":
      return problem(404, "table_not_found", error.message)
    default:
      return problem(500, "storage_error", error.message)
  }
}

const tableParam = Effect.map(HttpRouter.params, (params) => params["table"] ?? "")

/**
 * The admin routes, for the workspace router.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter | Faults | Stats | Storage> = HttpRouter.use((
  router
) =>
  Effect.gen(function*() {
    const faults = yield* Faults
    const stats = yield* Stats
    const storage = yield* Storage

    yield* router.add("GET", "/admin/stats", Effect.map(stats.snapshot, (s) => HttpServerResponse.jsonUnsafe(s)))

    yield* router.add(
      "GET",
      "/admin/faults",
      Effect.map(faults.pending, (pending) => HttpServerResponse.jsonUnsafe(encodePending(pending)))
    )

    yield* router.add(
      "POST",
      "/admin/faults/:table",
      Effect.gen(function*() {
        const table = yield* tableParam
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* Effect.result(request.json)
        if (body._tag === "Failure") return problem(400, "invalid_json", "the body must be JSON")
        const json = body.success
        const steps = Array.isArray(json)
          ? json
          : Predicate.isObject(json) && Array.isArray(json["steps"])
          ? json["steps"]
          : undefined
        if (steps === undefined) {
          return problem(400, "invalid_faults", "the body must be a JSON array of fault steps or {\"steps\": [...]}")
        }
        const injected = yield* Effect.result(faults.inject(table, steps))
        if (injected._tag === "Failure") return problem(400, "invalid_faults", injected.failure.message)
        const pending = yield* faults.pending
        return HttpServerResponse.jsonUnsafe({ table, pending: encodePending(pending)[table] ?? [] })
      })
    )

    yield* router.add(
      "DELETE",
      "/admin/faults/:table",
      Effect.gen(function*() {
        const table = yield* tableParam
        yield* faults.clear(table)
        return HttpServerResponse.jsonUnsafe({ cleared: table })
      })
    )

    yield* router.add(
      "DELETE",
      "/admin/faults",
      Effect.as(faults.clear(), HttpServerResponse.jsonUnsafe({ cleared: "all" }))
    )

    yield* router.add(
      "GET",
      "/admin/tables",
      Effect.match(storage.tables, {
        onFailure: (error) => problem(500, "storage_error", error.message),
        onSuccess: (tables) => HttpServerResponse.jsonUnsafe(tables)
      })
    )

    yield* router.add(
      "POST",
      "/admin/tables/:table",
      Effect.gen(function*() {
        const table = yield* tableParam
        const request = yield* HttpServerRequest.HttpServerRequest
        const body = yield* Effect.result(request.json)
        if (body._tag === "Failure") return problem(400, "invalid_json", "the body must be JSON")
        const schema = yield* Effect.result(TableSchema.fromJson(body.success))
        if (schema._tag === "Failure") return problem(400, "invalid_schema", schema.failure.message)
        const declared = yield* Effect.result(storage.declareTable(table, schema.success))
        if (declared._tag === "Failure") return storageProblem(declared.failure)
        const location = yield* Effect.orElseSucceed(storage.location(table), Option.none)
        return HttpServerResponse.jsonUnsafe({
          table,
          created: declared.success,
          schema: Delta.typeToJson(schema.success),
          location: Option.getOrNull(location)
        }, { status: declared.success ? 201 : 200 })
      })
    )

    yield* router.add(
      "GET",
      "/admin/tables/:table/schema",
      Effect.gen(function*() {
        const table = yield* tableParam
        const found = yield* Effect.result(storage.schema(table))
        if (found._tag === "Failure") return storageProblem(found.failure)
        if (Option.isNone(found.success)) {
          return problem(404, "table_not_found", `no schema is known for table ${table}`)
        }
        const location = yield* Effect.orElseSucceed(storage.location(table), Option.none)
        return HttpServerResponse.jsonUnsafe({
          table,
          schema: Delta.typeToJson(found.success.value),
          location: Option.getOrNull(location)
        })
      })
    )

    yield* router.add(
      "POST",
      "/admin/flush",
      Effect.match(storage.flush, {
        onFailure: storageProblem,
        onSuccess: () => HttpServerResponse.jsonUnsafe({ flushed: true })
      })
    )

    yield* router.add(
      "GET",
      "/admin/tables/:table/records",
      Effect.gen(function*() {
        const table = yield* tableParam
        return yield* Effect.match(storage.records(table), {
          onFailure: (error) => problem(500, "storage_error", error.message),
          onSuccess: (records) => HttpServerResponse.jsonUnsafe(records.map(encodeRecord))
        })
      })
    )
  })
)
