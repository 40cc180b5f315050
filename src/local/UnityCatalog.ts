/**
 * The Unity Catalog tables endpoint of Zerobus Local, on the workspace HTTP port:
 *
 * | Method and path                                  | What                                             |
 * | ------------------------------------------------ | ------------------------------------------------ |
 * | `GET /api/2.1/unity-catalog/tables/{full_name}`  | the table's columns, in Databricks' JSON shape   |
 *
 * It answers what `zerobus generate-proto` (and Databricks' own schema tools) read: `name`,
 * `catalog_name`, `schema_name`, `full_name`, `table_type`, `data_source_format` and `columns[]`
 * with `name`, `type_text`, `type_name`, `type_json`, `nullable` and `position`. Callers need a
 * Bearer token from the server's token endpoint whose grants include `USE CATALOG`, `USE SCHEMA`
 * and `SELECT` (or `MODIFY`) on the table; errors use Databricks' `{"error_code", "message"}` JSON
 * (401 `UNAUTHENTICATED`, 403 `PERMISSION_DENIED`, 404 `TABLE_DOES_NOT_EXIST`, 400
 * `INVALID_PARAMETER_VALUE`).
 *
 * Schemas come from the server's storage (`Storage.schema`): declared tables, Delta tables, and
 * memory tables created by a protobuf stream (schema derived from its descriptor). A table written
 * only by JSON streams, without a declaration, has no schema and answers 404 like an unknown one.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Delta from "../internal/delta/DeltaType.ts"
import { Auth, isTableName, missingGrant } from "./Auth.ts"
import * as Storage from "./Storage.ts"

/**
 * Path prefix of the tables API.
 *
 * @since 0.1.0
 * @category constants
 */
export const tablesPath = "/api/2.1/unity-catalog/tables"

// ---------------------------------------------------------------------------------------------
// JSON shape
// ---------------------------------------------------------------------------------------------

/**
 * Unity Catalog's `type_name` of a type.
 *
 * @since 0.1.0
 * @category encoding
 */
export const typeName = (type: Delta.DeltaType): string => {
  switch (type.kind) {
    case "primitive":
      switch (type.name) {
        case "integer":
          return "INT"
        default:
          return type.name.toUpperCase()
      }
    case "decimal":
      return "DECIMAL"
    case "array":
      return "ARRAY"
    case "map":
      return "MAP"
    case "struct":
      return "STRUCT"
  }
}

/**
 * One entry of `columns[]`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ColumnInfo {
  readonly name: string
  readonly type_text: string
  readonly type_name: string
  readonly type_json: string
  readonly type_precision?: number
  readonly type_scale?: number
  readonly nullable: boolean
  readonly position: number
}

/**
 * The answer of `GET /api/2.1/unity-catalog/tables/{full_name}`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TableInfo {
  readonly name: string
  readonly catalog_name: string
  readonly schema_name: string
  readonly full_name: string
  readonly table_type: "MANAGED"
  readonly data_source_format: "DELTA"
  readonly columns: ReadonlyArray<ColumnInfo>
}

/**
 * A table's `TableInfo` from its schema.
 *
 * @since 0.1.0
 * @category encoding
 */
export const tableInfo = (fullName: string, schema: Delta.StructType): TableInfo => {
  const [catalog = "", schemaName = "", name = ""] = keyOf(fullName).split(".")
  return {
    name,
    catalog_name: catalog,
    schema_name: schemaName,
    full_name: `${catalog}.${schemaName}.${name}`,
    table_type: "MANAGED",
    data_source_format: "DELTA",
    columns: schema.fields.map((field, position): ColumnInfo => ({
      name: field.name,
      type_text: Delta.toTypeText(field.type),
      type_name: typeName(field.type),
      type_json: JSON.stringify({
        name: field.name,
        type: Delta.typeToJson(field.type),
        nullable: field.nullable,
        metadata: field.metadata
      }),
      ...(field.type.kind === "decimal" ? { type_precision: field.type.precision, type_scale: field.type.scale } : {}),
      nullable: field.nullable,
      position
    }))
  }
}

// ---------------------------------------------------------------------------------------------
// routes
// ---------------------------------------------------------------------------------------------

const problem = (status: number, errorCode: string, message: string) =>
  HttpServerResponse.jsonUnsafe({ error_code: errorCode, message }, { status })

const keyOf = (table: string): string => table.toLowerCase()

const safeDecode = (text: string): string => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * Handles one `GET /api/2.1/unity-catalog/tables/{full_name}`.
 *
 * @since 0.1.0
 * @category handlers
 */
export const handleGetTable = (auth: Auth["Service"], storage: Storage.Storage["Service"]) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const params = yield* HttpRouter.params
    const claims = yield* Effect.result(auth.authenticate(request.headers["authorization"]))
    if (claims._tag === "Failure") return problem(401, "UNAUTHENTICATED", claims.failure.message)
    const table = safeDecode(params["full_name"] ?? "")
    if (!isTableName(table)) {
      return problem(
        400,
        "INVALID_PARAMETER_VALUE",
        `Invalid table name '${table}': expected catalog.schema.table`
      )
    }
    // Reading a table's metadata takes SELECT or MODIFY on it.
    const missing = missingGrant(claims.success, table, ["SELECT", "MODIFY"])
    if (missing !== undefined) {
      return problem(403, "PERMISSION_DENIED", `Service principal ${claims.success.principal} lacks ${missing}.`)
    }
    const schema = yield* Effect.result(storage.schema(table))
    if (schema._tag === "Failure") return problem(500, "INTERNAL_ERROR", schema.failure.message)
    if (Option.isNone(schema.success)) {
      return problem(404, "TABLE_DOES_NOT_EXIST", `Table '${keyOf(table)}' does not exist.`)
    }
    return HttpServerResponse.jsonUnsafe(tableInfo(table, schema.success.value))
  })

/**
 * The tables route, for the workspace router.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter | Auth | Storage.Storage> = HttpRouter.use((
  router
) =>
  Effect.gen(function*() {
    const auth = yield* Auth
    const storage = yield* Storage.Storage
    yield* router.add("GET", `${tablesPath}/:full_name`, handleGetTable(auth, storage))
  })
)
