import { create, toBinary } from "@bufbuild/protobuf"
import { DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as ProtoSchema from "../../../src/internal/delta/ProtoSchema.ts"
import { RecordType } from "../../../src/internal/protocol.ts"
import * as DeltaStorage from "../../../src/local/delta/DeltaStorage.ts"
import { Storage, ZerobusLocal } from "../../../src/local/index.ts"
import { conformance, readDelta } from "../../support/delta/DuckDb.ts"
import { allTypes, allTypesRecords, byId, tempDir } from "../../support/delta/fixtures.ts"
import { quiet, rawClient, tokenFor } from "../../support/local.ts"
import { openStream } from "../../support/rawClient.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Zerobus Local over a fresh data directory, with Delta storage. */
const deltaServer = (options: { readonly autoCreateTables?: boolean } = {}) =>
  Effect.gen(function*() {
    const dataDir = yield* tempDir("zerobus-grpc-delta-")
    const { store, storage } = yield* DeltaStorage.make({ dataDir, flushInterval: "50 millis", ...options })
    const local = yield* ZerobusLocal.make(quiet).pipe(Effect.provideService(Storage.Storage, storage))
    const client = yield* rawClient(local)
    return { dataDir, store, local, client }
  })

describe("Delta storage behind the gRPC server", () => {
  it.live("acknowledged JSON records of every type end up in the Delta table", () =>
    Effect.gen(function*() {
      const { dataDir, store, local, client } = yield* deltaServer()
      const table = "main.default.all_types"
      yield* store.createTable(table, allTypes)
      const token = yield* tokenFor(local, table)
      const { call } = yield* promise(() => openStream(client, { token, table }))
      const [first, ...rest] = allTypesRecords.map(([record]) => JSON.stringify(record))
      call.json(0, first!)
      call.jsonBatch(1, rest)
      yield* promise(() => call.waitForAck(1))
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      yield* store.flushAll
      const summary = yield* local.tables
      assert.deepStrictEqual(summary, [{ table, records: 3 }])
      const read = yield* readDelta(path.join(dataDir, "main", "default", "all_types"), { orderBy: "id" })
      assert.deepStrictEqual(read.rows, allTypesRecords.map(([, row]) => row).toSorted(byId))
      assert.deepStrictEqual(yield* conformance(path.join(dataDir, "main", "default", "all_types")), [])
      const records = yield* local.records(table)
      assert.deepStrictEqual(records.map((r) => r.value["id"]), [1, "9223372036854775807", -3])
    }))

  it.live("a stream to a missing table is NOT_FOUND; a bad record is INVALID_ARGUMENT naming offset and column", () =>
    Effect.gen(function*() {
      const { store, local, client } = yield* deltaServer()
      const missing = "main.default.missing"
      const token = yield* tokenFor(local, missing)
      const call = client.open({ token, table: missing })
      call.createStream({ table: missing })
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.NOT_FOUND)
      assert.include(status.details, "main.default.missing")

      const table = "main.default.people"
      yield* store.createTable(
        table,
        Delta.struct([
          Delta.field("id", Delta.long, false),
          Delta.field("age", Delta.integer),
          Delta.field("o'clock", Delta.integer)
        ])
      )
      const token2 = yield* tokenFor(local, table)
      const stream = yield* promise(() => openStream(client, { token: token2, table }))
      stream.call.json(0, "{\"id\":1,\"age\":30}")
      stream.call.jsonBatch(1, ["{\"id\":2}", "{\"id\":3,\"age\":\"old\"}"])
      const bad = yield* promise(() => stream.call.status())
      assert.strictEqual(bad.code, grpc.status.INVALID_ARGUMENT)
      assert.strictEqual(
        bad.details,
        "offset 1: record 1, column 'age': expected an integer (integer), got the string \"old\""
      )
      // The column is carried as a field, not parsed back out of a message (a quote in its name is kept).
      const quoted = yield* promise(() => openStream(client, { token: token2, table }))
      quoted.call.jsonBatch(0, ["{\"id\":4}", "{\"id\":5}", "{\"id\":6,\"o'clock\":\"noon\"}"])
      const badQuoted = yield* promise(() => quoted.call.status())
      assert.strictEqual(badQuoted.code, grpc.status.INVALID_ARGUMENT)
      assert.strictEqual(
        badQuoted.details,
        "offset 0: record 2, column 'o'clock': expected an integer (integer), got the string \"noon\""
      )
      yield* store.flushAll
      const rows = yield* local.records(table)
      assert.deepStrictEqual(
        rows.map((r) => r.value),
        [{ id: 1, age: 30, "o'clock": null }],
        "nothing of the bad requests is kept"
      )
    }))

  it.live("a protobuf stream creates its table from the descriptor when allowed", () =>
    Effect.gen(function*() {
      const { dataDir, store, local, client } = yield* deltaServer({ autoCreateTables: true })
      const table = "main.sensors.readings"
      const schema = Delta.struct([
        Delta.field("device", Delta.string, false),
        Delta.field("reading", Delta.double),
        Delta.field("tags", Delta.array(Delta.string))
      ])
      const proto = yield* ProtoSchema.toProto(schema, { messageName: "table_readings" })
      const descriptor = toBinary(DescriptorProtoSchema, proto.descriptor)
      const message = yield* ProtoSchema.resolveDescriptor(descriptor)
      const token = yield* tokenFor(local, table)
      const { call } = yield* promise(() =>
        openStream(client, { token, table, recordType: RecordType.PROTO, descriptor })
      )
      call.protoBatch(0, [
        toBinary(message, create(message, { device: "a", reading: 1.5, tags: ["x", "y"] })),
        toBinary(message, create(message, { device: "b" }))
      ])
      yield* promise(() => call.waitForAck(0))
      call.halfClose()
      yield* promise(() => call.status())
      yield* store.flushAll
      const read = yield* readDelta(path.join(dataDir, "main", "sensors", "readings"), { orderBy: "device" })
      assert.deepStrictEqual(read.columns.map((c) => c.type), ["VARCHAR", "DOUBLE", "VARCHAR[]"])
      assert.deepStrictEqual(read.rows, [
        { device: "a", reading: 1.5, tags: ["x", "y"] },
        { device: "b", reading: null, tags: [] }
      ])
      // a descriptor that does not fit the table now is refused at stream creation
      const other = create(DescriptorProtoSchema, {
        name: "T",
        field: [{ name: "device", number: 1, label: 1, type: 5 }]
      })
      const call2 = client.open({ token, table })
      call2.createStream({ table, recordType: RecordType.PROTO, descriptor: toBinary(DescriptorProtoSchema, other) })
      const refused = yield* promise(() => call2.status())
      assert.strictEqual(refused.code, grpc.status.INVALID_ARGUMENT)
      assert.include(refused.details, "field 'device'")
    }))
})
