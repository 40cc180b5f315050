/**
 * One `EphemeralStream` call on the server: validation, storage, acks, faults and rotation.
 *
 * @internal
 */
import { create, isFieldSet, type MessageInitShape } from "@bufbuild/protobuf"
import { DurationSchema } from "@bufbuild/protobuf/wkt"
import * as grpc from "@grpc/grpc-js"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Crypto from "node:crypto"
import {
  CreateIngestStreamRequestSchema,
  decodeServerRequest,
  type EphemeralStreamResponse,
  EphemeralStreamResponseSchema,
  type RecordFormat,
  RecordType,
  type ServerRequest,
  TABLE_NAME_HEADER
} from "../../internal/protocol.ts"
import { type Auth, isTableName } from "../Auth.ts"
import type { Faults, StreamEnd, StreamFaults } from "../Faults.ts"
import * as RecordDecoder from "../RecordDecoder.ts"
import type { Stats, StreamRecorder, StreamState } from "../Stats.ts"
import type { Storage, StorageError, StreamWriter } from "../Storage.ts"
import { grpcCodeName } from "./schema.ts"

/** What a session needs from its server. */
export interface SessionEnv {
  readonly auth: Auth["Service"]
  readonly storage: Storage["Service"]
  readonly faults: Faults["Service"]
  readonly stats: Stats["Service"]
  readonly maxRequestBytes: number
  readonly streamLifetime: Duration.Duration | undefined
  readonly rotationNotice: Duration.Duration
  /** Destroys the connection of a peer (`address:port` as `call.getPeer()` gives it). */
  readonly dropConnection: (peer: string) => void
}

/** A request as grpc-js hands it over: decoded, or why it could not be. */
export type Incoming =
  | { readonly _tag: "Message"; readonly request: ServerRequest; readonly size: number }
  | { readonly _tag: "Malformed"; readonly size: number; readonly error: string }

/**
 * grpc-js request deserializer that never throws and keeps the request size. Records are turned
 * into strings/bytes only when `readsRecords` (the storage needs them).
 */
export const deserializeIncoming = (bytes: Buffer, readsRecords: boolean): Incoming => {
  try {
    return { _tag: "Message", request: decodeServerRequest(bytes, readsRecords), size: bytes.length }
  } catch (error) {
    return { _tag: "Malformed", size: bytes.length, error: error instanceof Error ? error.message : String(error) }
  }
}

/** The server side of one call. */
export type Call = grpc.ServerDuplexStream<Incoming, EphemeralStreamResponse>

/** Message of an ABORTED status that ends a stream whose lifetime is over (what the service sent). */
export const lifetimeExpired = "Error code 6002: stream lifetime expired"

/** How a call ends. */
type End =
  | {
    readonly _tag: "Status"
    readonly code: number
    readonly message: string
    readonly state: Exclude<StreamState, "open">
  }
  | { readonly _tag: "Ok"; readonly state: "closed" | "ended" }
  | { readonly _tag: "Drop" }
  | { readonly _tag: "Cancelled" }

/** A request the server refuses: the call ends with this status. */
class Refused {
  readonly _tag = "Refused"
  constructor(readonly code: number, readonly message: string) {}
}

const refuse = (code: number, message: string) => Effect.fail(new Refused(code, message))

const invalid = (message: string) => refuse(grpc.status.INVALID_ARGUMENT, message)

type AckItem =
  | {
    readonly _tag: "Request"
    readonly offset: number
    readonly records: number
    readonly receivedAt: number
    /** Already known (an Exit), or a fiber awaiting the storage's durability Effect. */
    readonly durable: Exit.Exit<void, StorageError> | Fiber.Fiber<void, StorageError>
  }
  | { readonly _tag: "Barrier"; readonly done: Deferred.Deferred<void> }

const highWater = 64
const lowWater = 16

const response = (payload: NonNullable<MessageInitShape<typeof EphemeralStreamResponseSchema>["payload"]>) =>
  create(EphemeralStreamResponseSchema, { payload })

const ack = (offset: number) =>
  response({ case: "ingestRecordResponse", value: { durabilityAckUpToOffset: BigInt(offset) } })

const closeSignal = (duration: Duration.Duration) => {
  const millis = Duration.toMillis(duration)
  return response({
    case: "closeStreamSignal",
    value: {
      duration: create(DurationSchema, {
        seconds: BigInt(Math.floor(millis / 1000)),
        nanos: Math.round((millis % 1000) * 1_000_000)
      })
    }
  })
}

const storageRefusal = (error: StorageError, offset: number | undefined): Refused => {
  const reason = error.reason
  switch (reason._tag) {
    case "TableNotFound":
      return new Refused(grpc.status.NOT_FOUND, reason.message)
    case "InvalidTable":
    case "SchemaMismatch":
      return new Refused(grpc.status.INVALID_ARGUMENT, reason.message)
    case "InvalidRecord":
      return new Refused(
        grpc.status.INVALID_ARGUMENT,
        reason.column === undefined
          ? `offset ${offset}: record ${reason.index} ${reason.message}`
          : `offset ${offset}: record ${reason.index}, column '${reason.column}': ${reason.message}`
      )
    case "StorageUnavailable":
      return new Refused(grpc.status.UNAVAILABLE, `storage unavailable: ${reason.message}`)
    case "StorageFailure":
      return new Refused(grpc.status.INTERNAL, `storage failure: ${reason.message}`)
  }
}

const ignore = (): void => {}

/** `Exit.isExit`, keeping the Effect's types (memory storage answers with `Effect.void`, an Exit). */
const isExitOf = <A, E>(effect: Effect.Effect<A, E>): effect is Exit.Exit<A, E> => Exit.isExit(effect)

const metadataValue = (call: Call, key: string): string | undefined => {
  const value = call.metadata.get(key)[0]
  return typeof value === "string" ? value : undefined
}

/** Per-call mutable state shared by the fibers of the call. */
interface State {
  streamId: string | undefined
  table: string | undefined
  recorder: StreamRecorder | undefined
  closed: boolean
}

/**
 * Serves one call until it ends. Never fails: every outcome becomes a status, an OK end, a dropped
 * connection or nothing (client cancelled).
 */
export const serve = (env: SessionEnv, call: Call): Effect.Effect<void> =>
  Effect.gen(function*() {
    // Official clients wait for the response headers before sending create_stream.
    call.sendMetadata(new grpc.Metadata())
    const state: State = { streamId: undefined, table: undefined, recorder: undefined, closed: false }
    const ended = yield* Deferred.make<End>()
    const onCancelled = () => Deferred.doneUnsafe(ended, Exit.succeed<End>({ _tag: "Cancelled" }))
    call.on("cancelled", onCancelled)
    // Errors on the call object are turned into a status by grpc-js; never let one go unhandled.
    call.on("error", ignore)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        call.off("cancelled", onCancelled)
      })
    )
    const end = yield* run(env, call, state, ended).pipe(
      Effect.catch((refused: Refused) =>
        Effect.succeed<End>({
          _tag: "Status",
          code: refused.code,
          message: refused.message,
          state: "failed"
        })
      ),
      Effect.raceFirst(Deferred.await(ended))
    )
    yield* finish(env, call, state, end)
  }).pipe(Effect.scoped)

const write = (call: Call, state: State, message: EphemeralStreamResponse): void => {
  if (!state.closed) call.write(message)
}

const logEvent = (state: State, message: string) =>
  Effect.logInfo(message).pipe(
    Effect.annotateLogs({ stream: state.streamId ?? "-", table: state.table ?? "-" })
  )

const finish = (env: SessionEnv, call: Call, state: State, end: End): Effect.Effect<void> =>
  Effect.suspend(() => {
    const wasClosed = state.closed
    state.closed = true
    const where = state.streamId === undefined
      ? `call on ${state.table ?? "unknown table"}`
      : `stream ${state.streamId} on ${state.table}`
    switch (end._tag) {
      case "Cancelled": {
        state.recorder?.end("cancelled")
        if (state.recorder === undefined) env.stats.rejected()
        return logEvent(state, `${where}: cancelled by the client`)
      }
      case "Drop": {
        state.recorder?.end("dropped")
        env.dropConnection(call.getPeer())
        return logEvent(state, `${where}: connection dropped (fault)`)
      }
      case "Ok": {
        state.recorder?.end(end.state)
        if (state.recorder === undefined) env.stats.rejected()
        if (!wasClosed) call.end()
        return logEvent(
          state,
          end.state === "closed" ? `${where}: closed by the client` : `${where}: ended with OK by the server`
        )
      }
      case "Status": {
        const status = { code: end.code, message: end.message }
        if (state.recorder === undefined) env.stats.rejected()
        else state.recorder.end(end.state, status)
        if (!wasClosed) {
          if (end.code === grpc.status.OK) call.end()
          else call.emit("error", { code: end.code, details: end.message, metadata: new grpc.Metadata() })
        }
        const verb = state.recorder === undefined ? "refused" : end.state === "rotated" ? "rotated" : "failed"
        return logEvent(state, `${where}: ${verb} with ${grpcCodeName(end.code)}: ${end.message}`)
      }
    }
  })

/** The inbox of a call: requests in arrival order, with flow control on the call. */
const openInbox = Effect.fnUntraced(function*(call: Call) {
  const queue = yield* Queue.unbounded<Incoming, Cause.Done>()
  let paused = false
  const onData = (item: Incoming) => {
    Queue.offerUnsafe(queue, item)
    if (!paused && Queue.sizeUnsafe(queue) >= highWater) {
      paused = true
      call.pause()
    }
  }
  const onEnd = () => {
    Queue.endUnsafe(queue)
  }
  call.on("data", onData)
  call.on("end", onEnd)
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      call.off("data", onData)
      call.off("end", onEnd)
    })
  )
  return Queue.take(queue).pipe(
    Effect.map((item) => {
      if (paused && Queue.sizeUnsafe(queue) <= lowWater) {
        paused = false
        call.resume()
      }
      return Option.some(item)
    }),
    Effect.catch(() => Effect.succeed(Option.none<Incoming>()))
  )
})

interface Opened {
  readonly recorder: StreamRecorder
  readonly streamId: string
  readonly table: string
  readonly format: RecordFormat
  readonly writer: StreamWriter
  readonly faults: StreamFaults
}

const run = Effect.fnUntraced(function*(env: SessionEnv, call: Call, state: State, ended: Deferred.Deferred<End>) {
  const take = yield* openInbox(call)
  const first = yield* take
  if (Option.isNone(first)) return { _tag: "Ok", state: "closed" } satisfies End
  const opened = yield* open(env, call, state, first.value)
  if (opened === undefined) return { _tag: "Ok", state: "closed" } satisfies End
  if (opened.faults.badCreateResponse !== undefined) {
    yield* logEvent(state, `fault: answering create_stream with ${opened.faults.badCreateResponse}`)
    const bad = opened.faults.badCreateResponse
    write(
      call,
      state,
      bad === "Ack"
        ? ack(0)
        : bad === "CloseStreamSignal"
        ? closeSignal(Duration.seconds(1))
        : response({ case: "createStreamResponse", value: {} })
    )
    while (Option.isSome(yield* take)) {
      // Ignore whatever the client sends until it gives up.
    }
    return { _tag: "Ok", state: "closed" } satisfies End
  }
  write(call, state, response({ case: "createStreamResponse", value: { streamId: opened.streamId } }))
  return yield* ingest(env, call, state, ended, take, opened)
})

/** Validates the first message, applies creation faults, opens storage. */
const open = Effect.fnUntraced(function*(env: SessionEnv, call: Call, state: State, first: Incoming) {
  const headerTable = metadataValue(call, TABLE_NAME_HEADER)
  state.table = headerTable
  if (first._tag === "Malformed") {
    return yield* invalid(`the first request is not an EphemeralStreamRequest (${first.error})`)
  }
  const claims = yield* env.auth.authenticate(metadataValue(call, "authorization")).pipe(
    Effect.mapError((error) =>
      new Refused(
        error.reason._tag === "PermissionDenied" ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED,
        error.message
      )
    )
  )
  const payload = first.request
  if (payload.case !== "createStream") {
    return yield* invalid(
      `the first request must be create_stream, got ${
        payload.case === "ingest" ? (payload.batch ? "ingestRecordBatch" : "ingestRecord") : "an empty request"
      }`
    )
  }
  const request = payload.value
  if (!isFieldSet(request, CreateIngestStreamRequestSchema.field.tableName) || request.tableName === "") {
    return yield* invalid("create_stream.table_name is required")
  }
  const table = request.tableName
  state.table = table
  if (!isTableName(table)) {
    return yield* invalid(
      `table_name ${JSON.stringify(table)} must have three non-empty parts: catalog.schema.table`
    )
  }
  if (headerTable === undefined) {
    return yield* invalid(`the ${TABLE_NAME_HEADER} header is required`)
  }
  if (headerTable !== table) {
    return yield* invalid(
      `the ${TABLE_NAME_HEADER} header (${headerTable}) does not match create_stream.table_name (${table})`
    )
  }
  yield* env.auth.authorizeWrite(claims, table).pipe(
    Effect.mapError((error) => new Refused(grpc.status.PERMISSION_DENIED, error.message))
  )
  // An absent record_type means PROTO (the field's documented default); an explicit
  // RECORD_TYPE_UNSPECIFIED is refused.
  const recordType = isFieldSet(request, CreateIngestStreamRequestSchema.field.recordType)
    ? request.recordType
    : RecordType.PROTO
  if (recordType !== RecordType.JSON && recordType !== RecordType.PROTO) {
    return yield* invalid(
      recordType === RecordType.RECORD_TYPE_UNSPECIFIED
        ? "record_type is RECORD_TYPE_UNSPECIFIED; set JSON or PROTO"
        : `record_type ${recordType} is not JSON (2) or PROTO (1)`
    )
  }
  const format: RecordFormat = recordType === RecordType.JSON ? "json" : "proto"
  const descriptor = isFieldSet(request, CreateIngestStreamRequestSchema.field.descriptorProto)
    ? request.descriptorProto
    : undefined
  if (format === "proto" && (descriptor === undefined || descriptor.length === 0)) {
    return yield* invalid("a PROTO stream needs create_stream.descriptor_proto (a serialized DescriptorProto)")
  }
  const decoder = yield* RecordDecoder.make(format, format === "proto" ? descriptor : undefined).pipe(
    Effect.mapError((reason) => new Refused(grpc.status.INVALID_ARGUMENT, reason))
  )

  const faults = yield* env.faults.take(table)
  if (faults.createDelay !== undefined) {
    yield* logEvent(state, `fault: delaying stream creation by ${Duration.format(faults.createDelay)}`)
    yield* Effect.sleep(faults.createDelay)
  }
  if (faults.createFailure !== undefined) {
    yield* logEvent(state, `fault: failing stream creation with ${grpcCodeName(faults.createFailure.code)}`)
    return yield* refuse(faults.createFailure.code, faults.createFailure.message)
  }
  const streamId = Crypto.randomUUID()
  const writer = yield* env.storage.open({
    table,
    format,
    descriptor,
    decoder,
    streamId
  }).pipe(Effect.mapError((error) => storageRefusal(error, undefined)))
  state.streamId = streamId
  const recorder = env.stats.openStream(streamId, table, format)
  state.recorder = recorder
  yield* logEvent(state, `stream ${streamId} opened on ${table} (${format})`)
  return { recorder, streamId, table, format, writer, faults } satisfies Opened
})

/** Stores requests and acknowledges them until the call ends. */
const ingest = Effect.fnUntraced(function*(
  env: SessionEnv,
  call: Call,
  state: State,
  ended: Deferred.Deferred<End>,
  take: Effect.Effect<Option.Option<Incoming>>,
  opened: Opened
) {
  const { faults, format, recorder, writer } = opened
  const acks = yield* Queue.unbounded<AckItem>()
  const stop = (end: End) => Deferred.doneUnsafe(ended, Exit.succeed(end))

  // Acker: waits for durability in order, sends one cumulative ack per batch of durable requests.
  let lastAcked = -1
  const flush = Effect.fnUntraced(function*(highest: number, receivedAt: number) {
    if (highest < 0) return
    const ackable = faults.withholdAcksAfter === undefined ? highest : Math.min(highest, faults.withholdAcksAfter - 1)
    if (ackable <= lastAcked) return
    if (faults.ackDelay !== undefined) {
      const now = yield* Clock.currentTimeMillis
      const wait = receivedAt + Duration.toMillis(faults.ackDelay) - now
      if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
    }
    write(call, state, ack(ackable))
    lastAcked = ackable
    recorder.acked(ackable)
  })
  yield* Effect.gen(function*() {
    while (true) {
      const items = yield* Queue.takeAll(acks)
      let highest = -1
      let receivedAt = 0
      for (const item of items) {
        if (item._tag === "Barrier") {
          yield* flush(highest, receivedAt)
          highest = -1
          Deferred.doneUnsafe(item.done, Exit.void)
          continue
        }
        let exit: Exit.Exit<void, StorageError>
        if (Exit.isExit(item.durable)) {
          exit = item.durable
        } else {
          // Requests that became durable together complete their fibers in one scheduler round:
          // give them that round before acknowledging, so one ack covers them all.
          let polled = item.durable.pollUnsafe()
          if (polled === undefined) {
            yield* Effect.yieldNow
            polled = item.durable.pollUnsafe()
          }
          if (polled === undefined) {
            // Not durable yet: acknowledge what is, then wait.
            yield* flush(highest, receivedAt)
            exit = yield* Fiber.await(item.durable)
          } else {
            exit = polled
          }
        }
        if (Exit.isFailure(exit)) {
          // Acknowledge what is durable, then fail the stream.
          yield* flush(highest, receivedAt)
          const failure = Cause.findErrorOption(exit.cause)
          const refused = Option.isSome(failure)
            ? storageRefusal(failure.value, item.offset)
            : new Refused(grpc.status.INTERNAL, `storage failure at offset ${item.offset}`)
          stop({ _tag: "Status", code: refused.code, message: refused.message, state: "failed" })
          return
        }
        recorder.stored(item.records)
        highest = item.offset
        receivedAt = item.receivedAt
      }
      yield* flush(highest, receivedAt)
    }
  }).pipe(Effect.forkScoped)

  /** Waits until every request received so far is durable and acknowledged (or withheld). */
  const drain = Effect.gen(function*() {
    const done = yield* Deferred.make<void>()
    yield* Queue.offer(acks, { _tag: "Barrier", done })
    yield* Deferred.await(done)
  })

  if (env.streamLifetime !== undefined) {
    const lifetime = env.streamLifetime
    yield* Effect.gen(function*() {
      yield* Effect.sleep(lifetime)
      write(call, state, closeSignal(env.rotationNotice))
      yield* logEvent(
        state,
        `stream lifetime reached: sent CloseStreamSignal(${Duration.format(env.rotationNotice)})`
      )
      yield* Effect.sleep(env.rotationNotice)
      stop({ _tag: "Status", code: grpc.status.ABORTED, message: lifetimeExpired, state: "rotated" })
    }).pipe(Effect.forkScoped)
  }

  /** Runs the faults due once `received` requests have arrived; returns how the call ends, if it does. */
  const due = Effect.fnUntraced(function*(received: number) {
    if (faults.emptyAckAfter === received) {
      yield* drain
      yield* logEvent(state, `fault: sending an ack without an offset after ${received} requests`)
      write(call, state, response({ case: "ingestRecordResponse", value: {} }))
    }
    if (faults.unexpectedAfter === received) {
      yield* drain
      yield* logEvent(state, `fault: sending a second create_stream_response after ${received} requests`)
      write(call, state, response({ case: "createStreamResponse", value: { streamId: opened.streamId } }))
    }
    const action: StreamEnd | undefined = faults.end
    if (action === undefined || action.afterRequests !== received) return undefined
    switch (action._tag) {
      case "Fail": {
        yield* drain
        yield* logEvent(state, `fault: failing the stream with ${grpcCodeName(action.code)} after ${received} requests`)
        return { _tag: "Status", code: action.code, message: action.message, state: "failed" } satisfies End
      }
      case "End": {
        yield* drain
        yield* logEvent(state, `fault: ending the stream with OK after ${received} requests`)
        return { _tag: "Ok", state: "ended" } satisfies End
      }
      case "Drop": {
        yield* logEvent(state, `fault: dropping the connection after ${received} requests`)
        return { _tag: "Drop" } satisfies End
      }
      case "Close": {
        write(call, state, closeSignal(action.duration))
        yield* logEvent(
          state,
          `fault: sent CloseStreamSignal(${Duration.format(action.duration)}) after ${received} requests`
        )
        yield* Effect.sleep(action.duration).pipe(
          Effect.andThen(
            Effect.sync(() =>
              stop({ _tag: "Status", code: grpc.status.ABORTED, message: lifetimeExpired, state: "failed" })
            )
          ),
          Effect.forkScoped
        )
        return undefined
      }
    }
  })

  // Request counts at which a fault fires; every other request skips the check.
  const dueAt = new Set([faults.emptyAckAfter, faults.unexpectedAfter, faults.end?.afterRequests])
  const atStart = dueAt.has(0) ? yield* due(0) : undefined
  if (atStart !== undefined) return atStart

  let expected = 0
  while (true) {
    const next = yield* take
    if (Option.isNone(next)) {
      // Client half-close: acknowledge what remains, then end with OK.
      yield* drain
      return { _tag: "Ok", state: "closed" } satisfies End
    }
    const item = next.value
    if (item._tag === "Malformed") {
      return yield* invalid(`request after offset ${expected - 1} is not an EphemeralStreamRequest (${item.error})`)
    }
    const payload = item.request
    if (payload.case === "createStream") {
      return yield* invalid(`create_stream sent twice (after offset ${expected - 1}); a call carries one stream`)
    }
    if (payload.case === undefined) return yield* invalid(`request after offset ${expected - 1} has no payload`)
    const { batch, count, kind, offsetId, offsetSet, records } = payload
    if (kind === undefined) {
      return yield* invalid(
        `offset ${offsetId}: ${batch ? "ingest_record_batch carries no batch" : "ingest_record carries no record"}`
      )
    }
    if (!offsetSet) return yield* invalid(`request ${expected} has no offset_id (expected ${expected})`)
    if (offsetId !== BigInt(expected)) {
      return yield* invalid(
        `offset_id ${offsetId} is out of sequence: expected ${expected} (offsets count requests from 0 on each call)`
      )
    }
    const offset = expected
    if (item.size > env.maxRequestBytes) {
      return yield* invalid(
        `offset ${offset}: the request is ${item.size} bytes, above the limit of ${env.maxRequestBytes} bytes`
      )
    }
    if (kind !== format) {
      return yield* invalid(
        `offset ${offset}: ${kind === "json" ? "a JSON" : "a protobuf"} record on a ${
          format === "json" ? "JSON" : "PROTO"
        } stream`
      )
    }
    if (count === 0) return yield* invalid(`offset ${offset}: the batch holds no records`)
    recorder.request(offset, count)
    const durable = yield* writer.append({ offset, records, count, batch }).pipe(
      Effect.mapError((error) => storageRefusal(error, offset))
    )
    const receivedAt = faults.ackDelay === undefined ? 0 : yield* Clock.currentTimeMillis
    Queue.offerUnsafe(acks, {
      _tag: "Request",
      offset,
      records: count,
      receivedAt,
      durable: isExitOf(durable) ? durable : yield* Effect.forkChild(durable)
    })
    expected++
    if (dueAt.has(expected)) {
      const action = yield* due(expected)
      if (action !== undefined) return action
    }
  }
})
