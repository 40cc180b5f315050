import { isFieldSet } from "@bufbuild/protobuf"
import { assert, describe, it as vitest, layer } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Effect } from "effect"
import { IngestRecordResponseSchema } from "../../src/internal/protocol.ts"
import { Faults, ZerobusLocal } from "../../src/local/index.ts"
import { quiet, rawClient, tokenFor, uniqueTable } from "../support/local.ts"
import { openStream, type RawCall, type RawClient, type RawEvent } from "../support/rawClient.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const setup = Effect.gen(function*() {
  const local = yield* ZerobusLocal.ZerobusLocal
  const client = yield* rawClient(local)
  const table = uniqueTable("faults")
  const token = yield* tokenFor(local, table)
  const open = () => promise(() => openStream(client, { token, table }))
  /** Opens a call and returns the first event after create_stream (a message or the status). */
  const attempt = () =>
    promise(async () => {
      const call = client.open({ token, table })
      call.createStream({ table })
      return { call, first: await call.next() }
    })
  return { local, client, table, token, open, attempt }
})

const sendJson = (call: RawCall, count: number, from = 0) => {
  for (let offset = from; offset < from + count; offset++) call.json(offset, JSON.stringify({ offset }))
}

const isStatus = (event: RawEvent, code: number) => event._tag === "Status" && event.code === code

const ackOf = (event: RawEvent) =>
  event._tag === "Message" && event.message.payload.case === "ingestRecordResponse"
    ? Number(event.message.payload.value.durabilityAckUpToOffset)
    : undefined

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("creation faults", (it) => {
  it.effect("DelayCreate delays create_stream_response", () =>
    Effect.gen(function*() {
      const { attempt, local, table } = yield* setup
      yield* local.inject(table, [Faults.delayCreate("300 millis")])
      const started = Date.now()
      const { call, first } = yield* attempt()
      assert.isAtLeast(Date.now() - started, 250)
      assert.strictEqual(first._tag === "Message" && first.message.payload.case, "createStreamResponse")
      call.cancel()
    }))

  it.effect("FailCreate ends creation with any code and message, `times` streams in a row", () =>
    Effect.gen(function*() {
      const { attempt, local, table } = yield* setup
      yield* local.inject(table, [
        { _tag: "FailCreate", code: "UNAVAILABLE", message: "try later", times: 2 },
        { _tag: "FailCreate", code: 16 }
      ])
      for (let i = 0; i < 2; i++) {
        const { first } = yield* attempt()
        assert.deepStrictEqual(first, { _tag: "Status", code: grpc.status.UNAVAILABLE, details: "try later" })
      }
      const third = yield* attempt()
      assert.isTrue(isStatus(third.first, grpc.status.UNAUTHENTICATED))
      const fourth = yield* attempt()
      assert.strictEqual(fourth.first._tag, "Message")
      fourth.call.cancel()
      const stats = yield* local.stats
      assert.strictEqual(stats.tables[table]!.streamsOpened, 1)
    }))

  it.effect("FailCreate with OK ends the call cleanly before any response", () =>
    Effect.gen(function*() {
      const { attempt, local, table } = yield* setup
      yield* local.inject(table, [Faults.failCreate("OK")])
      const { call, first } = yield* attempt()
      assert.isTrue(isStatus(first, grpc.status.OK))
      assert.strictEqual(call.messages.length, 0)
    }))

  it.effect("BadCreateResponse answers create_stream with something else", () =>
    Effect.gen(function*() {
      const { attempt, local, table } = yield* setup
      yield* local.inject(table, [
        { _tag: "BadCreateResponse", send: "Ack" },
        { _tag: "BadCreateResponse", send: "CloseStreamSignal" },
        { _tag: "BadCreateResponse", send: "MissingStreamId" }
      ])
      const ack = yield* attempt()
      assert.strictEqual(ackOf(ack.first), 0)
      const signal = yield* attempt()
      assert.strictEqual(signal.first._tag === "Message" && signal.first.message.payload.case, "closeStreamSignal")
      const missing = yield* attempt()
      assert.isTrue(
        missing.first._tag === "Message" && missing.first.message.payload.case === "createStreamResponse" &&
          missing.first.message.payload.value.streamId === ""
      )
      for (const { call } of [ack, signal, missing]) {
        call.halfClose()
        assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      }
    }))
})

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("stream faults", (it) => {
  it.effect("DelayAcks sends each ack no earlier than the delay after its request", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.delayAcks(300)])
      const { call } = yield* open()
      const started = Date.now()
      sendJson(call, 3)
      yield* promise(() => call.waitForAck(2))
      assert.isAtLeast(Date.now() - started, 250)
      call.halfClose()
      yield* promise(() => call.status())
    }))

  it.effect("WithholdAcks stores records without acknowledging them", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.withholdAcks(2)])
      const { call } = yield* open()
      sendJson(call, 5)
      yield* promise(() => call.waitForAck(1))
      // Poll until all five are stored, then check that no ack went past offset 1.
      for (let i = 0; i < 100 && (yield* local.records(table)).length < 5; i++) yield* Effect.sleep("10 millis")
      assert.strictEqual((yield* local.records(table)).length, 5)
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      assert.deepStrictEqual(call.acks().filter((a) => a > 1), [])
      // The next stream is acknowledged normally.
      const next = (yield* open()).call
      sendJson(next, 1)
      yield* promise(() => next.waitForAck(0))
      next.halfClose()
    }))

  it.effect("FailStream stores and acks the first N requests, then ends with the status", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.failStream(3, "INTERNAL", "boom")])
      const { call } = yield* open()
      sendJson(call, 6)
      const status = yield* promise(() => call.status())
      assert.deepStrictEqual(status, { _tag: "Status", code: grpc.status.INTERNAL, details: "boom" })
      assert.strictEqual(call.acks().at(-1), 2)
      assert.deepStrictEqual((yield* local.records(table)).map((r) => r.offset), [0, 1, 2])
    }))

  it.effect("FailStream after 0 requests fails right after creation; default message names the fault", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [{ _tag: "FailStream", afterRequests: 0, code: "PERMISSION_DENIED" }])
      const { call } = yield* open()
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.PERMISSION_DENIED)
      assert.match(status.details, /injected fault/)
    }))

  it.effect("CloseStream sends CloseStreamSignal, keeps acking, then ABORTED with error 6002", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.closeStream(2, "400 millis")])
      const { call } = yield* open()
      sendJson(call, 2)
      const events: Array<RawEvent> = []
      for (let i = 0; i < 10; i++) {
        const event = yield* promise(() => call.next())
        events.push(event)
        if (event._tag === "Message" && event.message.payload.case === "closeStreamSignal") break
      }
      const signal = events.at(-1)!
      assert.isTrue(signal._tag === "Message" && signal.message.payload.case === "closeStreamSignal")
      if (signal._tag === "Message" && signal.message.payload.case === "closeStreamSignal") {
        const duration = signal.message.payload.value.duration!
        assert.strictEqual(Number(duration.seconds) * 1000 + duration.nanos / 1e6, 400)
      }
      const signalledAt = Date.now()
      sendJson(call, 1, 2)
      yield* promise(() => call.waitForAck(2))
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.ABORTED)
      assert.strictEqual(status.details, "Error code 6002: stream lifetime expired")
      assert.isAtLeast(Date.now() - signalledAt, 300)
    }))

  it.effect("CloseStream: a client half-close during the notice ends the call with OK", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.closeStream(1, "10 seconds")])
      const { call } = yield* open()
      sendJson(call, 1)
      yield* promise(() => call.waitForAck(0))
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status(3000))).code, grpc.status.OK)
    }))

  it.effect("DropConnection cuts the connection: no status from the server, other calls die too", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      const bystander = (yield* open()).call
      yield* local.inject(table, [Faults.dropConnection(2)])
      const { call, streamId } = yield* open()
      sendJson(call, 2)
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.UNAVAILABLE)
      assert.strictEqual((yield* promise(() => bystander.status())).code, grpc.status.UNAVAILABLE)
      const stats = yield* local.stats
      assert.strictEqual(stats.streams.find((s) => s.streamId === streamId)?.state, "dropped")
      // The client reconnects to a working server.
      const again = (yield* open()).call
      sendJson(again, 1)
      yield* promise(() => again.waitForAck(0))
      again.halfClose()
    }))

  it.effect("EndStream acks the first N requests, then ends with OK", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.endStream(2)])
      const { call } = yield* open()
      sendJson(call, 4)
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      assert.strictEqual(call.acks().at(-1), 1)
      assert.strictEqual((yield* local.records(table)).length, 2)
    }))

  it.effect("SendEmptyAck sends an IngestRecordResponse without an offset after the acks", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [{ _tag: "SendEmptyAck", afterRequests: 1 }])
      const { call } = yield* open()
      sendJson(call, 1)
      const first = yield* promise(() => call.next())
      assert.strictEqual(ackOf(first), 0)
      const empty = yield* promise(() => call.next())
      assert.isTrue(
        empty._tag === "Message" && empty.message.payload.case === "ingestRecordResponse" &&
          !isFieldSet(empty.message.payload.value, IngestRecordResponseSchema.field.durabilityAckUpToOffset)
      )
      call.cancel()
    }))

  it.effect("SendUnexpected sends a second create_stream_response", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [{ _tag: "SendUnexpected", afterRequests: 1 }])
      const { call, streamId } = yield* open()
      sendJson(call, 1)
      assert.strictEqual(ackOf(yield* promise(() => call.next())), 0)
      const unexpected = yield* promise(() => call.next())
      assert.isTrue(
        unexpected._tag === "Message" && unexpected.message.payload.case === "createStreamResponse" &&
          unexpected.message.payload.value.streamId === streamId
      )
      call.cancel()
    }))
})

layer(ZerobusLocal.layer(quiet), { excludeTestServices: true })("scripts", (it) => {
  it.effect("a stream takes one step of each kind up to the first that ends it; scripts span reconnects", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [
        Faults.delayAcks(200),
        Faults.failStream(1, "UNAVAILABLE"),
        Faults.failStream(2, "INTERNAL"),
        Faults.withholdAcks(0),
        Faults.withholdAcks(1)
      ])
      // Stream 1: delayed acks and fail after 1.
      const first = (yield* open()).call
      const started = Date.now()
      sendJson(first, 3)
      assert.strictEqual((yield* promise(() => first.status())).code, grpc.status.UNAVAILABLE)
      assert.isAtLeast(Date.now() - started, 150)
      assert.deepStrictEqual(first.acks(), [0])
      // Stream 2: fail after 2 (an ending step stops the walk).
      const second = (yield* open()).call
      sendJson(second, 3)
      assert.strictEqual((yield* promise(() => second.status())).code, grpc.status.INTERNAL)
      assert.strictEqual(second.acks().at(-1), 1)
      // Stream 3: withhold from 0 (the next WithholdAcks is a repeated kind: next stream).
      const pending = yield* local.pendingFaults
      assert.deepStrictEqual(pending[table]!.map((s) => s._tag), ["WithholdAcks", "WithholdAcks"])
      const third = (yield* open()).call
      sendJson(third, 2)
      third.halfClose()
      yield* promise(() => third.status())
      assert.deepStrictEqual(third.acks(), [])
      const fourth = (yield* open()).call
      sendJson(fourth, 2)
      fourth.halfClose()
      yield* promise(() => fourth.status())
      assert.deepStrictEqual(fourth.acks(), [0])
      assert.deepStrictEqual(yield* local.pendingFaults, {})
    }))

  it.effect("steps with `times` apply to consecutive streams in parallel", () =>
    Effect.gen(function*() {
      const { local, open, table } = yield* setup
      yield* local.inject(table, [Faults.delayAcks(1, 2), Faults.failStream(1, "ABORTED", undefined, 2)])
      for (let i = 0; i < 2; i++) {
        const call = (yield* open()).call
        sendJson(call, 2)
        assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.ABORTED)
      }
      const normal = (yield* open()).call
      sendJson(normal, 2)
      normal.halfClose()
      assert.strictEqual((yield* promise(() => normal.status())).code, grpc.status.OK)
    }))

  it.effect("clearFaults removes scripts; invalid steps are refused", () =>
    Effect.gen(function*() {
      const { local, table } = yield* setup
      yield* local.inject(table, [Faults.failCreate("UNAVAILABLE")])
      yield* local.inject("main.other.t", [Faults.failCreate("UNAVAILABLE")])
      yield* local.clearFaults(table)
      assert.deepStrictEqual(Object.keys(yield* local.pendingFaults), ["main.other.t"])
      yield* local.clearFaults()
      assert.deepStrictEqual(yield* local.pendingFaults, {})
      const error = yield* Effect.flip(local.inject(table, [{ _tag: "FailStream", afterRequests: -1, code: 99 }]))
      assert.strictEqual(error._tag, "FaultError")
      assert.strictEqual(error.reason._tag, "InvalidFault")
      assert.deepStrictEqual(yield* local.pendingFaults, {})
    }))

  it.effect("the admin endpoint takes the same JSON", () =>
    Effect.gen(function*() {
      const { attempt, local, table } = yield* setup
      const post = yield* promise(() =>
        fetch(`${local.workspaceUrl}/admin/faults/${table}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify([{ _tag: "FailCreate", code: "RESOURCE_EXHAUSTED", message: "slow down" }, {
            _tag: "DelayAcks",
            delay: "2 seconds",
            times: 3
          }])
        }).then(async (r) => ({ status: r.status, body: await r.json() }))
      )
      assert.strictEqual(post.status, 200)
      assert.deepStrictEqual(post.body, {
        table,
        pending: [
          { _tag: "FailCreate", code: "RESOURCE_EXHAUSTED", message: "slow down", times: 1 },
          { _tag: "DelayAcks", delay: 2000, times: 3 }
        ]
      })
      const listed = yield* promise(() => fetch(`${local.workspaceUrl}/admin/faults`).then((r) => r.json()))
      assert.deepStrictEqual(listed[table], post.body.pending)
      const { first } = yield* attempt()
      assert.deepStrictEqual(first, { _tag: "Status", code: grpc.status.RESOURCE_EXHAUSTED, details: "slow down" })
      const bad = yield* promise(() =>
        fetch(`${local.workspaceUrl}/admin/faults/${table}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ steps: [{ _tag: "Explode" }] })
        }).then(async (r) => ({ status: r.status, body: await r.json() }))
      )
      assert.strictEqual(bad.status, 400)
      assert.strictEqual(bad.body.error, "invalid_faults")
      const cleared = yield* promise(() =>
        fetch(`${local.workspaceUrl}/admin/faults/${table}`, { method: "DELETE" }).then((r) => r.status)
      )
      assert.strictEqual(cleared, 200)
      assert.deepStrictEqual(yield* local.pendingFaults, {})
    }))
})

describe("rotation", () => {
  vitest.live("streamLifetime: CloseStreamSignal(rotationNotice), then ABORTED 6002", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client: RawClient = yield* rawClient(local)
      const table = uniqueTable("rotation")
      const token = yield* tokenFor(local, table)
      const { call, streamId } = yield* promise(() => openStream(client, { token, table }))
      const opened = Date.now()
      sendJson(call, 1)
      const events: Array<RawEvent> = []
      for (let i = 0; i < 10; i++) {
        const event = yield* promise(() => call.next(5000))
        events.push(event)
        if (event._tag === "Status") break
      }
      const cases = events.map((e) => e._tag === "Status" ? `status ${e.code}` : e.message.payload.case)
      assert.deepStrictEqual(cases, ["ingestRecordResponse", "closeStreamSignal", `status ${grpc.status.ABORTED}`])
      const signal = events[1]!
      if (signal._tag === "Message" && signal.message.payload.case === "closeStreamSignal") {
        assert.strictEqual(signal.message.payload.value.duration?.nanos, 200_000_000)
      }
      assert.strictEqual(call.finalStatus()?.details, "Error code 6002: stream lifetime expired")
      assert.isAtLeast(Date.now() - opened, 450)
      const stats = yield* local.stats
      assert.strictEqual(stats.streams.find((s) => s.streamId === streamId)?.state, "rotated")
    }).pipe(Effect.provide(ZerobusLocal.layer({ ...quiet, streamLifetime: "300 millis", rotationNotice: 200 }))))
})
