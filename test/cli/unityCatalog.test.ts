/**
 * Zerobus Local's Unity Catalog tables endpoint, through the real server: schemas learned from
 * protobuf streams (memory storage) and read from Delta tables, Databricks' JSON shape, `type_text`
 * that the UC parser reads back, token and grant checks, Databricks' error JSON.
 */
import { assert, describe, it as vitest, layer } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import * as Delta from "../../src/internal/delta/DeltaType.ts"
import * as TypeText from "../../src/internal/delta/TypeText.ts"
import * as DeltaStorage from "../../src/local/delta/DeltaStorage.ts"
import { Auth, Storage, ZerobusLocal } from "../../src/local/index.ts"
import * as UnityCatalog from "../../src/local/UnityCatalog.ts"
import * as Table from "../../src/Table.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import { clientLayer } from "../support/client.ts"
import { allTypes, tempDir } from "../support/delta/fixtures.ts"
import { quiet, tokenFor, uniqueTable } from "../support/local.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"

const Local = ZerobusLocal.ZerobusLocal

/** GET a table from the server's workspace port; the body is parsed JSON. */
const getTable = (name: string, authorization?: string) =>
  Effect.gen(function*() {
    const local = yield* Local
    return yield* Effect.promise(async () => {
      const response = await fetch(`${local.workspaceUrl}${UnityCatalog.tablesPath}/${encodeURIComponent(name)}`, {
        headers: authorization === undefined ? {} : { authorization }
      })
      const body: unknown = await response.json()
      return { status: response.status, body }
    })
  })

const ErrorBody = Schema.Struct({ error_code: Schema.String, message: Schema.String })
const Column = Schema.Struct({
  name: Schema.String,
  type_text: Schema.String,
  type_name: Schema.String,
  type_json: Schema.String,
  type_precision: Schema.optional(Schema.Number),
  type_scale: Schema.optional(Schema.Number),
  nullable: Schema.Boolean,
  position: Schema.Number
})
const TableBody = Schema.Struct({ full_name: Schema.String, columns: Schema.Array(Column) })
const TokenBody = Schema.Struct({ access_token: Schema.String })

/** `error_code` of an error answer. */
const errorCode = (body: unknown): string => Schema.decodeUnknownSync(ErrorBody)(body).error_code

const bearer = (token: Redacted.Redacted<string>) => `Bearer ${Redacted.value(token)}`

/** A token as `generate-proto` gets one: plain client credentials, every grant of the principal. */
const plainToken = Effect.gen(function*() {
  const local = yield* Local
  return yield* Effect.promise(async () => {
    const response = await fetch(local.tokenUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${
          Buffer.from(`${local.clientId}:${Redacted.value(local.clientSecret)}`).toString("base64")
        }`
      },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "all-apis" }).toString()
    })
    const body = Schema.decodeUnknownSync(TokenBody)(await response.json())
    return `Bearer ${body.access_token}`
  })
})

const server = ZerobusLocal.layer(quiet)

layer(clientLayer().pipe(Layer.provideMerge(server)), { excludeTestServices: true })("Unity Catalog endpoint", (it) => {
  it.effect("describes a table written by a protobuf stream, in Databricks' shape", () =>
    Effect.gen(function*() {
      const table = uniqueTable("uc")
      const stream = yield* Zerobus.createStream(Table.proto(table, ordersDescriptor))
      yield* stream.ingest(encodeOrder({ id: 1n }))
      yield* stream.close
      const { body, status } = yield* getTable(table, yield* plainToken)
      assert.strictEqual(status, 200)
      const [catalog, schema, name] = table.split(".")
      assert.deepStrictEqual(body, {
        name,
        catalog_name: catalog,
        schema_name: schema,
        full_name: table,
        table_type: "MANAGED",
        data_source_format: "DELTA",
        columns: [
          {
            name: "id",
            type_text: "bigint",
            type_name: "LONG",
            type_json: "{\"name\":\"id\",\"type\":\"long\",\"nullable\":false,\"metadata\":{}}",
            nullable: false,
            position: 0
          },
          {
            name: "name",
            type_text: "string",
            type_name: "STRING",
            type_json: "{\"name\":\"name\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}",
            nullable: true,
            position: 1
          },
          {
            name: "loc",
            type_text: "struct<lat:double,lon:double>",
            type_name: "STRUCT",
            type_json: JSON.stringify({
              name: "loc",
              type: {
                type: "struct",
                fields: [
                  { name: "lat", type: "double", nullable: true, metadata: {} },
                  { name: "lon", type: "double", nullable: true, metadata: {} }
                ]
              },
              nullable: true,
              metadata: {}
            }),
            nullable: true,
            position: 2
          }
        ]
      })
    }))

  it.effect("accepts a table-scoped write token and upper-case names; answers lower-case names", () =>
    Effect.gen(function*() {
      const local = yield* Local
      const table = uniqueTable("uc")
      const stream = yield* Zerobus.createStream(Table.proto(table, ordersDescriptor))
      yield* stream.close
      const { body, status } = yield* getTable(
        table.toUpperCase(),
        bearer(yield* Effect.promise(async () => Redacted.make(await tokenForTable(local, table))))
      )
      assert.strictEqual(status, 200)
      assert.strictEqual(Schema.decodeUnknownSync(TableBody)(body).full_name, table.toLowerCase())
    }))

  it.effect("404 with Databricks' error JSON for unknown tables and tables only JSON streams wrote", () =>
    Effect.gen(function*() {
      const token = yield* plainToken
      const unknown = yield* getTable("main.nowhere.none", token)
      assert.strictEqual(unknown.status, 404)
      assert.deepStrictEqual(unknown.body, {
        error_code: "TABLE_DOES_NOT_EXIST",
        message: "Table 'main.nowhere.none' does not exist."
      })
      const table = uniqueTable("uc")
      const stream = yield* Zerobus.createStream(Table.json(table))
      yield* stream.ingest({ id: 1 })
      yield* stream.close
      assert.strictEqual((yield* getTable(table, token)).status, 404)
    }))

  it.effect("401 without a valid token, 403 without grants on the table, 400 for a bad name", () =>
    Effect.gen(function*() {
      const local = yield* Local
      const table = uniqueTable("uc")
      const stream = yield* Zerobus.createStream(Table.proto(table, ordersDescriptor))
      yield* stream.close
      const none = yield* getTable(table)
      assert.strictEqual(none.status, 401)
      assert.strictEqual(errorCode(none.body), "UNAUTHENTICATED")
      assert.strictEqual((yield* getTable(table, "Bearer nonsense")).status, 401)
      const expired = yield* local.token({ ttl: -1000 })
      assert.strictEqual((yield* getTable(table, bearer(expired))).status, 401)
      const otherTable: ReadonlyArray<Auth.Grant> = [
        { objectType: "CATALOG", path: "main", privileges: ["USE CATALOG"] },
        { objectType: "SCHEMA", path: "main.other", privileges: ["USE SCHEMA"] },
        { objectType: "TABLE", path: "main.other.*", privileges: ["SELECT"] }
      ]
      const denied = yield* getTable(table, bearer(yield* local.token({ grants: otherTable })))
      assert.strictEqual(denied.status, 403)
      assert.strictEqual(errorCode(denied.body), "PERMISSION_DENIED")
      const bad = yield* getTable("main.default", yield* plainToken)
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(errorCode(bad.body), "INVALID_PARAMETER_VALUE")
    }))
})

const tokenForTable = (local: ZerobusLocal.ZerobusLocal["Service"], table: string) =>
  Effect.runPromise(tokenFor(local, table))

describe("Unity Catalog endpoint over Delta storage", () => {
  vitest.live(
    "describes every Delta type; the type_text of each column parses back to the same schema",
    () =>
      Effect.gen(function*() {
        const dataDir = yield* tempDir("zerobus-uc-")
        const { storage, store } = yield* DeltaStorage.make({ dataDir })
        const local = yield* ZerobusLocal.make(quiet).pipe(Effect.provideService(Storage.Storage, storage))
        const table = "main.default.all_types"
        yield* store.createTable(table, allTypes)
        const response = yield* Effect.gen(function*() {
          return yield* getTable(table, yield* plainToken)
        }).pipe(Effect.provideService(Local, local))
        assert.strictEqual(response.status, 200)
        const columns = Schema.decodeUnknownSync(TableBody)(response.body).columns
        // type_text carries no element/value nullability; type_json carries everything
        const parsed = yield* TypeText.schemaFromColumns(columns)
        assert.deepStrictEqual(
          parsed.fields.map((f) => [f.name, Delta.toTypeText(f.type), f.nullable]),
          allTypes.fields.map((f) => [f.name, Delta.toTypeText(f.type), f.nullable])
        )
        assert.deepStrictEqual(
          columns.map((c) => JSON.parse(c.type_json)),
          allTypes.fields.map((f) => ({
            name: f.name,
            type: Delta.typeToJson(f.type),
            nullable: f.nullable,
            metadata: {}
          }))
        )
        const amount = columns.find((c) => c.name === "amount")
        assert.deepStrictEqual([amount?.type_text, amount?.type_name, amount?.type_precision, amount?.type_scale], [
          "decimal(10,2)",
          "DECIMAL",
          10,
          2
        ])
        assert.deepStrictEqual(columns.map((c) => c.position), allTypes.fields.map((_, i) => i))
      })
  )
})
