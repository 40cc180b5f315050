/**
 * Declared tables: `TableSchema` (every declaration form, files, flags, errors), the admin API
 * (declare, schema, flush, records), schemas known to each backend, and the Promise handle with
 * Delta storage.
 */
import { create, toBinary } from "@bufbuild/protobuf"
import {
  DescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  file_google_protobuf_timestamp,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema
} from "@bufbuild/protobuf/wkt"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Delta from "../../src/internal/delta/DeltaType.ts"
import * as ProtoSchema from "../../src/internal/delta/ProtoSchema.ts"
import { TableSchema, ZerobusLocal } from "../../src/local/index.ts"
import * as Table from "../../src/Table.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import { clientLayer } from "../support/client.ts"
import { allTypes, tempDir } from "../support/delta/fixtures.ts"
import { quiet, uniqueTable } from "../support/local.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"

const Local = ZerobusLocal.ZerobusLocal

const people = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("name", Delta.string),
  Delta.field("amount", Delta.decimal(10, 2)),
  Delta.field("tags", Delta.array(Delta.string)),
  Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double, false), Delta.field("lon", Delta.double)]))
])

/** The failure reason of a `TableSchema` effect. */
const reasonOf = <A>(effect: Effect.Effect<A, TableSchema.TableSchemaError>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail"
      ? Effect.succeed(exit.cause.reasons[0].error.reason)
      : Effect.die(new Error("expected a TableSchemaError")))

/** `shop.Order` in a FileDescriptorSet that also holds google/protobuf/timestamp.proto. */
const orderSet = toBinary(
  FileDescriptorSetSchema,
  create(FileDescriptorSetSchema, {
    file: [
      file_google_protobuf_timestamp.proto,
      create(FileDescriptorProtoSchema, {
        name: "shop/order.proto",
        package: "shop",
        dependency: ["google/protobuf/timestamp.proto"],
        messageType: [{
          name: "Order",
          field: [
            {
              name: "id",
              number: 1,
              label: FieldDescriptorProto_Label.REQUIRED,
              type: FieldDescriptorProto_Type.INT64
            },
            {
              name: "at",
              number: 2,
              label: FieldDescriptorProto_Label.OPTIONAL,
              type: FieldDescriptorProto_Type.MESSAGE,
              typeName: ".google.protobuf.Timestamp"
            },
            {
              name: "skus",
              number: 3,
              label: FieldDescriptorProto_Label.REPEATED,
              type: FieldDescriptorProto_Type.STRING
            }
          ]
        }]
      })
    ]
  })
)

const orderSchema = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("at", Delta.timestamp),
  Delta.field("skus", Delta.array(Delta.string, false))
])

describe("TableSchema", () => {
  it.effect("reads column lists, UC columns and Delta schema JSON", () =>
    Effect.gen(function*() {
      const list = "id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2), tags ARRAY<STRING>, " +
        "loc STRUCT<lat: DOUBLE NOT NULL, lon: DOUBLE>"
      assert.deepStrictEqual(yield* TableSchema.make(list), people)
      assert.deepStrictEqual(yield* TableSchema.fromJson({ columns: list }), people)
      assert.deepStrictEqual(
        yield* TableSchema.fromJson({
          columns: [
            { name: "id", type_text: "bigint", nullable: false },
            { name: "name", type_text: "string" },
            { name: "amount", type_text: "decimal(10,2)" },
            { name: "tags", type_text: "array<string>" },
            { name: "loc", type_text: "struct<lat:double not null,lon:double>" }
          ]
        }),
        people
      )
      const json = Delta.typeToJson(allTypes)
      assert.deepStrictEqual(yield* TableSchema.fromJson(json), allTypes)
      assert.deepStrictEqual(yield* TableSchema.fromJson({ schema: json }), allTypes)
      assert.deepStrictEqual(yield* TableSchema.make(Delta.toSchemaString(allTypes)), allTypes)
      assert.deepStrictEqual(yield* TableSchema.make(allTypes), allTypes)
    }))

  it.effect("reads protobuf descriptors and FileDescriptorSets (well-known Timestamp → TIMESTAMP)", () =>
    Effect.gen(function*() {
      const schema = Delta.struct([
        Delta.field("id", Delta.long, false),
        Delta.field("name", Delta.string),
        Delta.field("tags", Delta.array(Delta.string, false)),
        Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double), Delta.field("lon", Delta.double)]))
      ])
      const generated = yield* ProtoSchema.toProto(schema, { messageName: "table_t" })
      const bytes = toBinary(DescriptorProtoSchema, generated.descriptor)
      assert.deepStrictEqual(yield* TableSchema.make({ descriptor: bytes }), schema)
      assert.deepStrictEqual(yield* TableSchema.make({ descriptor: generated.descriptor }), schema)
      assert.deepStrictEqual(
        yield* TableSchema.fromJson({ descriptor: Buffer.from(bytes).toString("base64") }),
        schema
      )
      assert.deepStrictEqual(yield* TableSchema.make({ fileDescriptorSet: orderSet, message: "Order" }), orderSchema)
      assert.deepStrictEqual(
        yield* TableSchema.fromJson({
          fileDescriptorSet: Buffer.from(orderSet).toString("base64"),
          message: "shop.Order"
        }),
        orderSchema
      )
      const missing = yield* reasonOf(TableSchema.make({ fileDescriptorSet: orderSet, message: "Nope" }))
      assert.strictEqual(missing._tag, "InvalidDeclaration")
      assert.include(missing.message, "shop.Order")
    }))

  it.live("reads files: .json, FileDescriptorSets and .proto (compiled with buf)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("zerobus-table-schema-")
      const json = Path.join(dir, "people.json")
      Fs.writeFileSync(json, JSON.stringify(Delta.typeToJson(people)))
      assert.deepStrictEqual(yield* TableSchema.fromFile(json), people)
      const set = Path.join(dir, "shop.binpb")
      Fs.writeFileSync(set, orderSet)
      assert.deepStrictEqual(yield* TableSchema.fromFile(set, "shop.Order"), orderSchema)
      assert.strictEqual((yield* reasonOf(TableSchema.fromFile(set)))._tag, "InvalidDeclaration")
      const proto = Path.join(dir, "order.proto")
      Fs.writeFileSync(
        proto,
        [
          "syntax = \"proto2\";",
          "package shop;",
          "import \"google/protobuf/timestamp.proto\";",
          "// one message, so its name may be omitted",
          "message Order {",
          "  required int64 id = 1;",
          "  optional google.protobuf.Timestamp at = 2;",
          "  repeated string skus = 3;",
          "}"
        ].join("\n")
      )
      assert.deepStrictEqual(yield* TableSchema.fromFile(proto), orderSchema)
      const flag = yield* TableSchema.fromFlag(`main.shop.orders=${proto}:shop.Order`)
      assert.deepStrictEqual(flag, { table: "main.shop.orders", schema: orderSchema })
      assert.deepStrictEqual(yield* TableSchema.fromFlag(`main.shop.people=${json}`), {
        table: "main.shop.people",
        schema: people
      })
      const events = Delta.struct([Delta.field("id", Delta.long, false), Delta.field("at", Delta.timestamp)])
      assert.deepStrictEqual(yield* TableSchema.fromFlag("main.shop.events=id BIGINT NOT NULL, at TIMESTAMP"), {
        table: "main.shop.events",
        schema: events
      })
      // Inline JSON on the command line and in a string declaration: every JSON form.
      const ucColumns = "{\"columns\": [{\"name\": \"id\", \"type_text\": \"BIGINT\", \"nullable\": false}, " +
        "{\"name\": \"at\", \"type_text\": \"TIMESTAMP\"}]}"
      assert.deepStrictEqual(yield* TableSchema.fromFlag(`main.shop.events=${ucColumns}`), {
        table: "main.shop.events",
        schema: events
      })
      const deltaJson = JSON.stringify(Delta.typeToJson(events))
      assert.deepStrictEqual((yield* TableSchema.fromFlag(`main.shop.events=${deltaJson}`)).schema, events)
      assert.deepStrictEqual(yield* TableSchema.make(ucColumns), events)
      assert.deepStrictEqual(yield* TableSchema.make(deltaJson), events)
      const unreadable = yield* reasonOf(TableSchema.fromFile(Path.join(dir, "missing.json")))
      assert.strictEqual(unreadable._tag, "ReadFailed")
    }))

  it.effect("bad declarations fail with InvalidDeclaration saying what is wrong", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Effect.Effect<unknown, TableSchema.TableSchemaError>, string]> = [
        [TableSchema.fromJson({ nope: 1 }), "a table declaration is"],
        [TableSchema.make("id FOO"), "unknown column type 'FOO'"],
        [TableSchema.make(""), "the column list is empty"],
        [TableSchema.make("id BIGINT, ID STRING"), "duplicate field name"],
        [TableSchema.fromJson({ descriptor: "not base64!" }), "base64"],
        [TableSchema.fromFlag("no equals sign"), "expected NAME="],
        [TableSchema.fromFlag("main.a.b=x INTERVAL"), "table main.a.b: "],
        [TableSchema.fromFile("schema.txt"), "expected a .json, .proto or FileDescriptorSet"],
        [TableSchema.make("schema.json"), "\"schema.json\" names a file: read it with TableSchema.fromFile"],
        [TableSchema.make("{\"columns\": [}"), "the table declaration is not JSON"],
        [TableSchema.fromFlag("main.a.b={\"type\": \"struct\""), "table main.a.b: the table declaration is not JSON"]
      ]
      for (const [effect, text] of cases) {
        const reason = yield* reasonOf(effect)
        assert.strictEqual(reason._tag, "InvalidDeclaration", reason.message)
        assert.include(reason.message, text)
      }
    }))
})

/** JSON from the workspace port: status and parsed body. */
const http = (method: "GET" | "POST", path: string, body?: unknown) =>
  Effect.gen(function*() {
    const local = yield* Local
    return yield* Effect.promise(async () => {
      const response = await fetch(`${local.workspaceUrl}${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
      })
      const json: unknown = await response.json()
      return { status: response.status, json }
    })
  })

const Declared = Schema.Struct({
  table: Schema.String,
  created: Schema.Boolean,
  schema: Schema.Unknown,
  location: Schema.NullOr(Schema.String)
})
const Problem = Schema.Struct({ error: Schema.String, message: Schema.String })

layer(clientLayer().pipe(Layer.provideMerge(ZerobusLocal.layer(quiet))), { excludeTestServices: true })(
  "admin API and schemas (memory storage)",
  (test) => {
    test.effect("declares tables, reports schemas, refuses conflicting or invalid declarations", () =>
      Effect.gen(function*() {
        const table = uniqueTable("admin")
        const path = `/admin/tables/${table}`
        const first = yield* http("POST", path, { columns: "id BIGINT NOT NULL, msg STRING" })
        assert.strictEqual(first.status, 201)
        const declared = Schema.decodeUnknownSync(Declared)(first.json)
        assert.deepStrictEqual(declared, {
          table,
          created: true,
          schema: Delta.typeToJson(
            Delta.struct([Delta.field("id", Delta.long, false), Delta.field("msg", Delta.string)])
          ),
          location: null
        })
        const again = yield* http("POST", path, declared.schema)
        assert.strictEqual(again.status, 200)
        assert.strictEqual(Schema.decodeUnknownSync(Declared)(again.json).created, false)
        const conflict = yield* http("POST", path, { columns: "id INT" })
        assert.strictEqual(conflict.status, 400)
        assert.include(Schema.decodeUnknownSync(Problem)(conflict.json).message, "already exists with another schema")
        const invalid = yield* http("POST", path, { columns: "id NOPE" })
        assert.deepStrictEqual(Schema.decodeUnknownSync(Problem)(invalid.json).error, "invalid_schema")
        const badName = yield* http("POST", "/admin/tables/main.a-b.c", { columns: "id INT" })
        assert.strictEqual(badName.status, 400)
        assert.include(Schema.decodeUnknownSync(Problem)(badName.json).message, "invalid table name")

        const schema = yield* http("GET", `${path}/schema`)
        assert.strictEqual(schema.status, 200)
        assert.deepStrictEqual(schema.json, { table, schema: declared.schema, location: null })
        assert.strictEqual((yield* http("GET", `/admin/tables/${uniqueTable("none")}/schema`)).status, 404)
        assert.deepStrictEqual(yield* http("POST", "/admin/flush"), { status: 200, json: { flushed: true } })

        // Records are checked against the declaration, and stored in the row's canonical form.
        const stream = yield* Zerobus.createStream(Table.json(table))
        yield* stream.ingest({ id: "7", msg: "hi" })
        yield* stream.flush
        const local = yield* Local
        assert.deepStrictEqual((yield* local.records(table)).map((r) => [r.value, r.raw, r.offset]), [
          [{ id: 7, msg: "hi" }, "{\"id\":\"7\",\"msg\":\"hi\"}", 0]
        ])
      }).pipe(Effect.scoped))

    test.effect("memory storage derives a schema from the first protobuf stream; JSON-only tables have none", () =>
      Effect.gen(function*() {
        const local = yield* Local
        const proto = uniqueTable("derived")
        const stream = yield* Zerobus.createStream(Table.proto(proto, ordersDescriptor))
        yield* stream.ingest(encodeOrder({ id: 1n, name: "a", lat: 1 }))
        yield* stream.flush
        assert.deepStrictEqual(
          yield* local.schema(proto),
          Option.some(Delta.struct([
            Delta.field("id", Delta.long, false),
            Delta.field("name", Delta.string),
            Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double), Delta.field("lon", Delta.double)]))
          ]))
        )
        const json = uniqueTable("derived")
        const jsonStream = yield* Zerobus.createStream(Table.json(json))
        yield* jsonStream.ingest({ anything: true })
        yield* jsonStream.flush
        assert.deepStrictEqual(yield* local.schema(json), Option.none())
        assert.deepStrictEqual(yield* local.tableLocation(json), Option.none())
        assert.deepStrictEqual(local.storage, { kind: "memory", dataDir: undefined, readsRecords: true })
      }).pipe(Effect.scoped))
  }
)

describe("Promise API with Delta storage", () => {
  it.live("start({ storage: { dataDir } }): declare, ingest, flush, schema, location, records; one server per directory", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-promise-delta-")
      const table = "main.promise.events"
      const handle = yield* Effect.acquireRelease(
        Effect.promise(() =>
          ZerobusLocal.start({
            ...quiet,
            storage: { dataDir, flushInterval: "1 hour" },
            tables: { [table]: "id BIGINT" }
          })
        ),
        (h) => Effect.promise(() => h.stop())
      )
      assert.deepStrictEqual(handle.storage, { kind: "delta", dataDir, readsRecords: true })
      assert.strictEqual(yield* Effect.promise(() => handle.declareTable(table, "id BIGINT")), false)
      assert.strictEqual(yield* Effect.promise(() => handle.declareTable("main.promise.other", "x STRING")), true)
      const location = yield* Effect.promise(() => handle.tableLocation(table))
      assert.strictEqual(location, Path.join(dataDir, "main", "promise", "events"))
      assert.deepStrictEqual(
        yield* Effect.promise(() => handle.schema(table)),
        Delta.struct([Delta.field("id", Delta.long)])
      )
      assert.isUndefined(yield* Effect.promise(() => handle.schema("main.promise.unknown")))

      yield* Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.json(table))
        yield* stream.ingestBatch([{ id: 1 }, { id: 2 }])
        yield* stream.flush
      }).pipe(Effect.scoped, Effect.provide(clientLayer()), Effect.provideService(Local, handle.service))
      yield* Effect.promise(() => handle.flush())
      assert.isTrue(Fs.readdirSync(location!).some((f) => f.endsWith(".parquet")), "flush committed a data file")
      const records = yield* Effect.promise(() => handle.records(table))
      assert.deepStrictEqual(records, [
        { table, value: { id: 1 }, raw: "{\"id\":1}" },
        { table, value: { id: 2 }, raw: "{\"id\":2}" }
      ])
      const overHttp = yield* Effect.promise(() =>
        fetch(`${handle.workspaceUrl}/admin/tables/${table}/records`).then((r) => r.json())
      )
      assert.deepStrictEqual(overHttp, records)

      // The data directory is locked while the server runs.
      const error = yield* Effect.flip(
        Effect.tryPromise({ try: () => ZerobusLocal.start({ ...quiet, storage: { dataDir } }), catch: (e) => e })
      )
      assert.include(String(error), "is in use by process")
    }))
})
