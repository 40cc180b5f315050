import { assert, layer } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect, Redacted } from "effect"
import { RecordType } from "../../src/internal/protocol.ts"
import { ZerobusLocal } from "../../src/local/index.ts"
import { quiet, rawClient, tokenFor, uniqueTable } from "../support/local.ts"
import { authorizationDetails, postToken } from "../support/oauth.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"
import { openStream, type RawCall } from "../support/rawClient.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Waits for the call's final status and checks its code and message. */
const expectStatus = (call: RawCall, code: number, message: RegExp) =>
  Effect.gen(function*() {
    const status = yield* promise(() => call.status())
    assert.strictEqual(status.code, code, `expected code ${code}, got ${status.code}: ${status.details}`)
    assert.match(status.details, message)
    return status
  })

const setup = Effect.gen(function*() {
  const local = yield* ZerobusLocal.ZerobusLocal
  const client = yield* rawClient(local)
  const table = uniqueTable("validation")
  const token = yield* tokenFor(local, table)
  return { local, client, table, token }
})

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("stream creation", (it) => {
  it.effect("UNAUTHENTICATED without an authorization header", () =>
    Effect.gen(function*() {
      const { client, table } = yield* setup
      const call = client.open({ table })
      call.createStream({ table })
      yield* expectStatus(call, grpc.status.UNAUTHENTICATED, /missing authorization/)
    }))

  it.effect("UNAUTHENTICATED with a malformed or forged token", () =>
    Effect.gen(function*() {
      const { client, table } = yield* setup
      const garbage = client.open({ token: "not-a-token", table })
      garbage.createStream({ table })
      yield* expectStatus(garbage, grpc.status.UNAUTHENTICATED, /not a Zerobus Local token/)
      // Signed with another server's key.
      const other = yield* Effect.promise(() => ZerobusLocal.start({ ...quiet, tokenSigningKey: "another key" }))
      const foreign = yield* Effect.promise(() => other.token())
      yield* Effect.promise(() => other.stop())
      const forged = client.open({ token: foreign, table })
      forged.createStream({ table })
      yield* expectStatus(forged, grpc.status.UNAUTHENTICATED, /signature is invalid/)
      const basic = client.open({ table, metadata: { authorization: "Basic abc" } })
      basic.createStream({ table })
      yield* expectStatus(basic, grpc.status.UNAUTHENTICATED, /must be Bearer/)
    }))

  it.effect("UNAUTHENTICATED with an expired token", () =>
    Effect.gen(function*() {
      const { client, local, table } = yield* setup
      const expired = Redacted.value(yield* local.token({ ttl: 0 }))
      const call = client.open({ token: expired, table })
      call.createStream({ table })
      yield* expectStatus(call, grpc.status.UNAUTHENTICATED, /expired/)
    }))

  it.effect("PERMISSION_DENIED when the token lacks MODIFY on the table", () =>
    Effect.gen(function*() {
      const { client, local, table } = yield* setup
      const { body } = yield* promise(() =>
        postToken(local.workspaceUrl, {
          clientId: local.clientId,
          clientSecret: Redacted.value(local.clientSecret),
          form: {
            grant_type: "client_credentials",
            scope: "all-apis",
            authorization_details: authorizationDetails(table, { privileges: ["SELECT"] })
          }
        })
      )
      const readOnly = String(body["access_token"])
      const call = client.open({ token: readOnly, table })
      call.createStream({ table })
      yield* expectStatus(call, grpc.status.PERMISSION_DENIED, new RegExp(`MODIFY on table ${table}`))
      // A token scoped to another table.
      const otherTable = uniqueTable("validation")
      const other = yield* tokenFor(local, otherTable)
      const wrong = client.open({ token: other, table })
      wrong.createStream({ table })
      yield* expectStatus(wrong, grpc.status.PERMISSION_DENIED, /lacks/)
    }))

  it.effect("INVALID_ARGUMENT when the table header is missing or differs", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const missing = client.open({ token })
      missing.createStream({ table })
      yield* expectStatus(missing, grpc.status.INVALID_ARGUMENT, /x-databricks-zerobus-table-name header is required/)
      const differs = client.open({ token, table: "main.other.table" })
      differs.createStream({ table })
      yield* expectStatus(differs, grpc.status.INVALID_ARGUMENT, /does not match create_stream.table_name/)
    }))

  it.effect("INVALID_ARGUMENT when the table name has not three parts", () =>
    Effect.gen(function*() {
      const { client, token } = yield* setup
      for (const name of ["events", "main.events", "main..events", "a.b.c.d"]) {
        const call = client.open({ token, table: name })
        call.createStream({ table: name })
        yield* expectStatus(call, grpc.status.INVALID_ARGUMENT, /three non-empty parts/)
      }
      const empty = client.open({ token, table: "main.default.x" })
      empty.send({ payload: { case: "createStream", value: { recordType: RecordType.JSON } } })
      yield* expectStatus(empty, grpc.status.INVALID_ARGUMENT, /table_name is required/)
    }))

  it.effect("INVALID_ARGUMENT when the first message is not create_stream", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const call = client.open({ token, table })
      call.json(0, "{}")
      yield* expectStatus(call, grpc.status.INVALID_ARGUMENT, /first request must be create_stream, got ingestRecord/)
    }))

  it.effect("INVALID_ARGUMENT for RECORD_TYPE_UNSPECIFIED", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const call = client.open({ token, table })
      call.createStream({ table, recordType: RecordType.RECORD_TYPE_UNSPECIFIED })
      yield* expectStatus(call, grpc.status.INVALID_ARGUMENT, /RECORD_TYPE_UNSPECIFIED/)
    }))

  it.effect("INVALID_ARGUMENT for a PROTO stream without a usable descriptor", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const missing = client.open({ token, table })
      missing.createStream({ table, recordType: RecordType.PROTO })
      yield* expectStatus(missing, grpc.status.INVALID_ARGUMENT, /needs create_stream.descriptor_proto/)
      const garbage = client.open({ token, table })
      garbage.createStream({ table, recordType: RecordType.PROTO, descriptor: new Uint8Array([0xff, 0xff, 0xff]) })
      yield* expectStatus(garbage, grpc.status.INVALID_ARGUMENT, /descriptor_proto/)
    }))

  it.effect("accepts a descriptor on a JSON stream", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const { call } = yield* promise(() => openStream(client, { token, table, descriptor: ordersDescriptor }))
      call.json(0, "{\"id\":1}")
      yield* promise(() => call.waitForAck(0))
      call.halfClose()
      yield* expectStatus(call, grpc.status.OK, /.*/)
    }))

  it.effect("an absent record_type means PROTO", () =>
    Effect.gen(function*() {
      const { client, local, table, token } = yield* setup
      const call = client.open({ token, table })
      call.send({ payload: { case: "createStream", value: { tableName: table, descriptorProto: ordersDescriptor } } })
      yield* promise(() => call.streamId())
      call.proto(0, encodeOrder({ id: 1n }))
      yield* promise(() => call.waitForAck(0))
      call.halfClose()
      yield* expectStatus(call, grpc.status.OK, /.*/)
      assert.strictEqual((yield* local.records(table))[0]!.format, "proto")
    }))

  it.effect("INVALID_ARGUMENT for malformed bytes", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const call = client.open({ token, table })
      call.sendRaw(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))
      yield* expectStatus(call, grpc.status.INVALID_ARGUMENT, /not an EphemeralStreamRequest/)
    }))
})

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("records", (it) => {
  it.effect("stores protobuf records decoded with the descriptor (nested types, package)", () =>
    Effect.gen(function*() {
      const { client, local, table, token } = yield* setup
      const { call } = yield* promise(() =>
        openStream(client, { token, table, recordType: RecordType.PROTO, descriptor: ordersDescriptor })
      )
      call.proto(0, encodeOrder({ id: 7n, name: "a", lat: 1.5, lon: -2 }))
      call.protoBatch(1, [encodeOrder({ id: 8n }), encodeOrder({ id: 9n, name: "c" })])
      yield* promise(() => call.waitForAck(1))
      call.halfClose()
      yield* expectStatus(call, grpc.status.OK, /.*/)
      const records = yield* local.records(table)
      assert.deepStrictEqual(records.map((r) => [r.offset, r.index, r.value]), [
        [0, 0, { id: "7", name: "a", loc: { lat: 1.5, lon: -2 } }],
        [1, 0, { id: "8" }],
        [1, 1, { id: "9", name: "c" }]
      ])
      assert.deepStrictEqual(records[0]!.raw, encodeOrder({ id: 7n, name: "a", lat: 1.5, lon: -2 }))
    }))

  it.effect("INVALID_ARGUMENT for offsets not strictly sequential from 0", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const late = (yield* promise(() => openStream(client, { token, table }))).call
      late.json(1, "{}")
      yield* expectStatus(late, grpc.status.INVALID_ARGUMENT, /offset_id 1 is out of sequence: expected 0/)
      const gap = (yield* promise(() => openStream(client, { token, table }))).call
      gap.json(0, "{}")
      gap.jsonBatch(1, ["{}", "{}"])
      gap.json(3, "{}")
      yield* expectStatus(gap, grpc.status.INVALID_ARGUMENT, /offset_id 3 is out of sequence: expected 2/)
      const repeat = (yield* promise(() => openStream(client, { token, table }))).call
      repeat.json(0, "{}")
      repeat.json(0, "{}")
      yield* expectStatus(repeat, grpc.status.INVALID_ARGUMENT, /offset_id 0 is out of sequence: expected 1/)
      const none = (yield* promise(() => openStream(client, { token, table }))).call
      none.send({ payload: { case: "ingestRecord", value: { record: { case: "jsonRecord", value: "{}" } } } })
      yield* expectStatus(none, grpc.status.INVALID_ARGUMENT, /has no offset_id/)
    }))

  it.effect("INVALID_ARGUMENT for JSON that is not an object, storing nothing of the request", () =>
    Effect.gen(function*() {
      const { client, local, table, token } = yield* setup
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
        [["{\"a\":"], /offset 1: record 0 not valid JSON/],
        [["[1,2]"], /offset 1: record 0 JSON must be an object, got an array/],
        [["{}", "42"], /offset 1: record 1 JSON must be an object, got number/],
        [["{}", "null"], /offset 1: record 1 JSON must be an object, got null/]
      ]
      for (const [records, message] of cases) {
        const { call } = yield* promise(() => openStream(client, { token, table }))
        call.json(0, "{\"ok\":true}")
        if (records.length === 1) call.json(1, records[0]!)
        else call.jsonBatch(1, records)
        yield* expectStatus(call, grpc.status.INVALID_ARGUMENT, message)
      }
      const stored = yield* local.records(table)
      assert.deepStrictEqual(stored.map((r) => r.value), cases.map(() => ({ ok: true })))
    }))

  it.effect("INVALID_ARGUMENT for protobuf records that do not decode or miss required fields", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const open = () =>
        openStream(client, { token, table, recordType: RecordType.PROTO, descriptor: ordersDescriptor })
      const broken = (yield* promise(open)).call
      broken.proto(0, new Uint8Array([0x0a, 0x05, 0x01]))
      yield* expectStatus(
        broken,
        grpc.status.INVALID_ARGUMENT,
        /offset 0: record 0 does not decode as table_Orders/
      )
      const missing = (yield* promise(open)).call
      missing.protoBatch(0, [encodeOrder({ id: 1n }), encodeOrder({ name: "no id" })])
      yield* expectStatus(missing, grpc.status.INVALID_ARGUMENT, /offset 0: record 1 required field id is not set/)
    }))

  it.effect("INVALID_ARGUMENT for records of the wrong kind", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const jsonStream = (yield* promise(() => openStream(client, { token, table }))).call
      jsonStream.proto(0, encodeOrder({ id: 1n }))
      yield* expectStatus(jsonStream, grpc.status.INVALID_ARGUMENT, /offset 0: a protobuf record on a JSON stream/)
      const jsonBatch = (yield* promise(() => openStream(client, { token, table }))).call
      jsonBatch.protoBatch(0, [encodeOrder({ id: 1n }), encodeOrder({ id: 2n })])
      yield* expectStatus(jsonBatch, grpc.status.INVALID_ARGUMENT, /a protobuf record on a JSON stream/)
      const open = () =>
        openStream(client, { token, table, recordType: RecordType.PROTO, descriptor: ordersDescriptor })
      const protoStream = (yield* promise(open)).call
      protoStream.json(0, "{}")
      yield* expectStatus(protoStream, grpc.status.INVALID_ARGUMENT, /offset 0: a JSON record on a PROTO stream/)
      const protoBatch = (yield* promise(open)).call
      protoBatch.jsonBatch(0, ["{}", "{}"])
      yield* expectStatus(protoBatch, grpc.status.INVALID_ARGUMENT, /a JSON record on a PROTO stream/)
    }))

  it.effect("INVALID_ARGUMENT naming the offset for a request over 10 MiB", () =>
    Effect.gen(function*() {
      const { client, local, table, token } = yield* setup
      const { call } = yield* promise(() => openStream(client, { token, table }))
      call.json(0, "{}")
      // 10 MiB of payload plus the envelope: above the limit.
      call.json(1, JSON.stringify({ blob: "x".repeat(10 * 1024 * 1024) }))
      yield* expectStatus(
        call,
        grpc.status.INVALID_ARGUMENT,
        /offset 1: the request is \d+ bytes, above the limit of 10485760 bytes/
      )
      assert.strictEqual((yield* local.records(table)).length, 1)
    }))

  it.effect("INVALID_ARGUMENT for a second create_stream, an empty request or an empty batch", () =>
    Effect.gen(function*() {
      const { client, table, token } = yield* setup
      const twice = (yield* promise(() => openStream(client, { token, table }))).call
      twice.json(0, "{}")
      twice.createStream({ table })
      yield* expectStatus(twice, grpc.status.INVALID_ARGUMENT, /create_stream sent twice \(after offset 0\)/)
      const empty = (yield* promise(() => openStream(client, { token, table }))).call
      empty.send({})
      yield* expectStatus(empty, grpc.status.INVALID_ARGUMENT, /has no payload/)
      const noRecord = (yield* promise(() => openStream(client, { token, table }))).call
      noRecord.send({ payload: { case: "ingestRecord", value: { offsetId: 0n } } })
      yield* expectStatus(noRecord, grpc.status.INVALID_ARGUMENT, /offset 0: ingest_record carries no record/)
      const emptyBatch = (yield* promise(() => openStream(client, { token, table }))).call
      emptyBatch.jsonBatch(0, [])
      yield* expectStatus(emptyBatch, grpc.status.INVALID_ARGUMENT, /offset 0: the batch holds no records/)
    }))
})
