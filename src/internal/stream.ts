/**
 * The ingest stream engine.
 *
 * Per-record work is synchronous and allocation-light: `ingest` encodes the record, appends it to
 * the ledger and schedules the sender; the sender coalesces queued requests into gRPC messages;
 * grpc-js callbacks apply acks directly to the ledger and wake waiting fibers. The life of the
 * stream (connect with retries, reconnect and replay, rotation after a CloseStreamSignal, failure,
 * close) is one supervisor fiber.
 *
 * @internal
 */
import { isFieldSet } from "@bufbuild/protobuf"
import type * as grpc from "@grpc/grpc-js"
import {
  Cause,
  Clock,
  Deferred,
  Duration,
  Effect,
  Exit,
  Fiber,
  Metric,
  Option,
  Queue,
  Scope,
  Sink,
  Stream
} from "effect"
import * as HeadersProvider from "../HeadersProvider.ts"
import { maxRequestBytes, type StreamOptions } from "../StreamOptions.ts"
import type { ValidTable } from "../Table.ts"
import * as ZerobusError from "../ZerobusError.ts"
import * as ZerobusMetrics from "../ZerobusMetrics.ts"
import type { EncodedRecord, StreamState, ZerobusStream } from "../ZerobusStream.ts"
import { TypeId } from "../ZerobusStream.ts"
import { Batch, type Item, Ledger, recordCount } from "./ledger.ts"
import {
  CreateIngestStreamResponseSchema,
  decodeResponse,
  type EphemeralStreamResponse,
  IngestRecordResponseSchema,
  METHOD_PATH,
  TABLE_NAME_HEADER
} from "./protocol.ts"
import { creationRetryPolicy } from "./retry.ts"
import {
  BufferPool,
  encodeCreateStream,
  encodeMessage,
  entryEstimate,
  isPayload,
  type Payload,
  payloadBound,
  payloadBytes
} from "./wire.ts"

/** What a stream needs from its SDK. */
export interface StreamDeps<A> {
  readonly client: grpc.Client
  readonly makeMetadata: (headers: Record<string, string>) => grpc.Metadata
  readonly table: ValidTable<A>
  readonly options: StreamOptions
  readonly headers: HeadersProvider.HeadersProvider["Service"]
}

/** How a connection ended without error. */
type ConnectionEnd = "rotate" | "closed"

/** Longest wait for the server to end a call after the client half-closed it. */
const SHUTDOWN_GRACE_MS = 2_000

/** One gRPC `EphemeralStream` call. */
class Connection {
  streamId = ""
  created = false
  /** Physical offset of the next message. */
  nextPhysical = 0
  /** Logical offset of the last request in each unacknowledged message, oldest first. */
  readonly inflightLast: Array<number> = []
  /** When each unacknowledged message was written. */
  readonly inflightSentAt: Array<number> = []
  inflightHead = 0
  ackedPhysical = -1
  lastMessageAt: number
  /** Set by a CloseStreamSignal: the time at which to move to a new stream. */
  pausedUntil: number | undefined = undefined
  writable = true
  halfClosed = false
  detached = false
  readonly ended = Deferred.makeUnsafe<ConnectionEnd, ZerobusError.ZerobusError>()
  readonly createdSignal = Deferred.makeUnsafe<void, ZerobusError.ZerobusError>()
  wake = Deferred.makeUnsafe<void>()

  constructor(readonly call: grpc.ClientDuplexStream<Buffer, EphemeralStreamResponse>, now: number) {
    this.lastMessageAt = now
  }

  get inflight(): number {
    return this.inflightLast.length - this.inflightHead
  }

  end(exit: Exit.Exit<ConnectionEnd, ZerobusError.ZerobusError>): void {
    Deferred.doneUnsafe(this.ended, exit)
  }

  signal(): void {
    const wake = this.wake
    this.wake = Deferred.makeUnsafe<void>()
    Deferred.doneUnsafe(wake, Exit.void)
  }

  /** Stops listening and ends the call (half-close when asked, cancel otherwise). */
  release(graceful: boolean): void {
    if (this.detached) return
    this.detached = true
    this.call.removeAllListeners("data")
    this.call.removeAllListeners("status")
    this.call.on("error", () => {})
    if (graceful) {
      if (!this.halfClosed) {
        this.halfClosed = true
        this.call.end()
      }
      const timer = setTimeout(() => this.call.cancel(), SHUTDOWN_GRACE_MS)
      timer.unref()
      this.call.once("close", () => clearTimeout(timer))
    } else {
      this.call.cancel()
    }
  }
}

/** Internals kept beside each public stream, for `recreateStream`. */
export interface StreamInternals {
  readonly items: () => ReadonlyArray<Item>
  readonly enqueue: (item: Item) => Effect.Effect<number, ZerobusError.ZerobusError>
  readonly headers: HeadersProvider.HeadersProvider["Service"]
}

/** Internals of every stream made here. */
export const internals = new WeakMap<object, StreamInternals>()

const unexpected = (message: string) =>
  ZerobusError.make(new ZerobusError.UnexpectedResponse({ message: `Unexpected response from server: ${message}` }))

const flatten = (item: Item): ReadonlyArray<EncodedRecord> => item instanceof Batch ? item.payloads : [item]

const isAuthError = (error: ZerobusError.ZerobusError): boolean =>
  error.reason._tag === "Unauthenticated" || error.reason._tag === "PermissionDenied"

/**
 * Opens a stream: the first connection (with the creation retries) happens here, so creation
 * errors fail this effect. The stream's fibers live in `scope`.
 */
export const make = Effect.fnUntraced(function*<A>(deps: StreamDeps<A>, scope: Scope.Scope) {
  const { client, options, table } = deps
  const context = yield* Effect.context<never>()
  const clock = yield* Clock.Clock
  const now = () => clock.currentTimeMillisUnsafe()
  const attributes = { table: table.name }
  const metric = <I>(m: Metric.Metric<I, unknown>) => Metric.withAttributes(m, attributes)
  const recordsIngested = metric(ZerobusMetrics.recordsIngested)
  const recordsAcked = metric(ZerobusMetrics.recordsAcked)
  const messagesSent = metric(ZerobusMetrics.messagesSent)
  const requestsInFlight = metric(ZerobusMetrics.requestsInFlight)
  const ackLatency = metric(ZerobusMetrics.ackLatency)
  const coalesce = options.coalesce
  const lingerMs = coalesce === false ? 0 : Duration.toMillis(coalesce.linger)
  const flushTimeoutMs = Duration.toMillis(options.flushTimeout)
  const ackTimeoutMs = Duration.toMillis(options.serverLackOfAckTimeout)

  const ledger = new Ledger()
  let state: StreamState = "open"
  let failure: ZerobusError.ZerobusError | undefined
  let closeResult: Exit.Exit<void, ZerobusError.ZerobusError> | undefined
  let acked = -1
  let conn: Connection | undefined
  let ingestedSinceReport = 0

  // ---- waiting for room in the window -------------------------------------------------------
  const windowWaiters: Array<(effect: Effect.Effect<void, ZerobusError.ZerobusError>) => void> = []
  const hasRoom = () => ledger.size < options.maxInflightRequests
  const releaseWindow = () => {
    while (windowWaiters.length > 0 && hasRoom()) windowWaiters.shift()!(Effect.void)
  }
  const waitForRoom: Effect.Effect<void, ZerobusError.ZerobusError> = Effect.callback((resume) => {
    windowWaiters.push(resume)
    return Effect.sync(() => {
      const i = windowWaiters.indexOf(resume)
      if (i !== -1) windowWaiters.splice(i, 1)
    })
  })

  // ---- waiting for acks ----------------------------------------------------------------------
  interface AckWaiter {
    readonly offset: number
    readonly deferred: Deferred.Deferred<void, ZerobusError.ZerobusError>
  }
  const ackWaiters: Array<AckWaiter> = [] // sorted by offset
  const addAckWaiter = (waiter: AckWaiter) => {
    let lo = 0
    let hi = ackWaiters.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (ackWaiters[mid]!.offset <= waiter.offset) lo = mid + 1
      else hi = mid
    }
    ackWaiters.splice(lo, 0, waiter)
  }
  const removeAckWaiter = (waiter: AckWaiter) => {
    const i = ackWaiters.indexOf(waiter)
    if (i !== -1) ackWaiters.splice(i, 1)
  }

  // ---- ack subscribers -----------------------------------------------------------------------
  const subscribers = new Set<Queue.Queue<number, ZerobusError.ZerobusError | Cause.Done>>()

  // ---- acks ----------------------------------------------------------------------------------
  const advance = (offset: number) => {
    if (offset <= acked) return
    const previous = acked
    const dropped = ledger.dropThrough(offset)
    acked = offset
    if (dropped.records > 0) recordsAcked.updateUnsafe(dropped.records, context)
    requestsInFlight.updateUnsafe(ledger.size, context)
    let resolved = 0
    while (resolved < ackWaiters.length && ackWaiters[resolved]!.offset <= acked) resolved++
    const ready = ackWaiters.splice(0, resolved)
    for (const queue of subscribers) {
      for (let o = previous + 1; o <= acked; o++) Queue.offerUnsafe(queue, o)
    }
    releaseWindow()
    for (const waiter of ready) Deferred.doneUnsafe(waiter.deferred, Exit.void)
  }

  const onAck = (c: Connection, physical: number) => {
    if (physical <= c.ackedPhysical) return
    const t = now()
    let last = -1
    while (c.inflight > 0 && c.ackedPhysical < physical) {
      last = c.inflightLast[c.inflightHead]!
      ackLatency.updateUnsafe(t - c.inflightSentAt[c.inflightHead]!, context)
      c.inflightHead++
      c.ackedPhysical++
    }
    if (c.inflightHead > 1024 && c.inflightHead * 2 > c.inflightLast.length) {
      c.inflightLast.splice(0, c.inflightHead)
      c.inflightSentAt.splice(0, c.inflightHead)
      c.inflightHead = 0
    }
    if (last >= 0) advance(last)
    if (c.pausedUntil !== undefined && c.inflight === 0) c.end(Exit.succeed("rotate"))
  }

  const onCloseSignal = (c: Connection, seconds: bigint, nanos: number) => {
    if (!options.recovery || c.pausedUntil !== undefined) return
    const announced = Number(seconds) * 1000 + Math.floor(nanos / 1e6)
    const wait = options.streamPausedMaxWaitTime === undefined
      ? announced
      : Math.min(announced, Duration.toMillis(options.streamPausedMaxWaitTime))
    if (wait <= 0 || c.inflight === 0) {
      c.end(Exit.succeed("rotate"))
      return
    }
    c.pausedUntil = now() + wait
    if (state === "open") state = "paused"
    c.signal()
  }

  const onMessage = (c: Connection, message: EphemeralStreamResponse) => {
    c.lastMessageAt = now()
    const payload = message.payload
    if (!c.created) {
      if (
        payload.case === "createStreamResponse" &&
        isFieldSet(payload.value, CreateIngestStreamResponseSchema.field.streamId)
      ) {
        c.created = true
        c.streamId = payload.value.streamId
        Deferred.doneUnsafe(c.createdSignal, Exit.void)
      } else {
        Deferred.doneUnsafe(
          c.createdSignal,
          Exit.fail(
            payload.case === "createStreamResponse"
              ? unexpected("the stream was created but no stream_id was returned")
              : unexpected(`expected create_stream_response, got ${payload.case ?? "an empty message"}`)
          )
        )
      }
      return
    }
    switch (payload.case) {
      case "ingestRecordResponse": {
        if (isFieldSet(payload.value, IngestRecordResponseSchema.field.durabilityAckUpToOffset)) {
          onAck(c, Number(payload.value.durabilityAckUpToOffset))
        } else {
          c.end(Exit.fail(unexpected("an ack without durability_ack_up_to_offset")))
        }
        return
      }
      case "closeStreamSignal": {
        const d = payload.value.duration
        onCloseSignal(c, d?.seconds ?? 0n, d?.nanos ?? 0)
        return
      }
      default:
        c.end(Exit.fail(unexpected(`${payload.case ?? "an empty message"} after stream creation`)))
    }
  }

  const onStatus = (c: Connection, status: grpc.StatusObject) => {
    if (!c.created) {
      const error = status.code === 0
        ? ZerobusError.make(
          new ZerobusError.ServerError({ code: 0, message: "Stream closed by server before creation" })
        )
        : ZerobusError.fromGrpcStatus(status.code, status.details)
      Deferred.doneUnsafe(c.createdSignal, Exit.fail(error))
      return
    }
    if (status.code === 0) {
      c.end(
        c.halfClosed
          ? Exit.succeed("closed")
          : Exit.fail(
            ZerobusError.make(
              new ZerobusError.ServerError({ code: 0, message: "Stream closed by server without errors" })
            )
          )
      )
    } else {
      c.end(Exit.fail(ZerobusError.fromGrpcStatus(status.code, status.details)))
    }
  }

  // ---- sending -------------------------------------------------------------------------------
  let pumpScheduled = false
  let lingerTimer: ReturnType<typeof setTimeout> | undefined
  const ready = (c: Connection | undefined): c is Connection =>
    c !== undefined && c.created && c.writable && c.pausedUntil === undefined && !c.halfClosed && !c.detached

  const schedulePump = () => {
    if (pumpScheduled || !ready(conn) || ledger.sent >= ledger.size) return
    if (lingerMs > 0 && coalesce !== false && ledger.records < coalesce.maxRecords) {
      if (lingerTimer === undefined) {
        lingerTimer = setTimeout(() => {
          lingerTimer = undefined
          pump()
        }, lingerMs)
      }
      return
    }
    pumpScheduled = true
    queueMicrotask(pump)
  }

  const payloads: Array<Payload> = []
  const pool = new BufferPool()
  const maxRecords = coalesce === false ? 1 : coalesce.maxRecords
  const maxBytes = coalesce === false ? 0 : coalesce.maxBytes

  /** Writes queued requests as messages until caught up, paused or the call buffer is full. */
  const pump = () => {
    pumpScheduled = false
    const c = conn
    let messages = 0
    while (ready(c) && ledger.sent < ledger.size) {
      // Sizes are upper bounds (3 bytes per UTF-16 unit), so a message never exceeds the limit.
      let bytes = 0
      let room = 0
      let taken = 0
      let count = 0
      while (ledger.sent + taken < ledger.size) {
        const item = ledger.at(ledger.sent + taken)
        if (item instanceof Batch) {
          if (taken > 0 && (count + item.payloads.length > maxRecords || bytes + item.bound > maxBytes)) break
          for (let i = 0; i < item.payloads.length; i++) payloads[count++] = item.payloads[i]!
          bytes += item.bound
          room += item.estimate
        } else {
          const itemBytes = payloadBound(item)
          if (taken > 0 && (count + 1 > maxRecords || bytes + itemBytes > maxBytes)) break
          payloads[count++] = item
          bytes += itemBytes
          room += entryEstimate(item)
        }
        taken++
        if (coalesce === false) break
      }
      const encoded = encodeMessage(pool, c.nextPhysical, table.recordType, payloads, count, room)
      // Slots of `payloads` past `count` keep earlier records until overwritten (at most maxRecords).
      ledger.sent += taken
      c.nextPhysical++
      c.inflightLast.push(ledger.first + ledger.sent - 1)
      c.inflightSentAt.push(now())
      messages++
      if (!c.call.write(encoded.message, () => pool.release(encoded.buffer))) {
        c.writable = false
        c.call.once("drain", () => {
          c.writable = true
          schedulePump()
        })
      }
      if (messages >= 256) {
        // Let acks and other fibers in between long runs of writes.
        setImmediate(schedulePump)
        break
      }
    }
    if (messages > 0) {
      messagesSent.updateUnsafe(messages, context)
      if (ingestedSinceReport > 0) {
        recordsIngested.updateUnsafe(ingestedSinceReport, context)
        ingestedSinceReport = 0
      }
      requestsInFlight.updateUnsafe(ledger.size, context)
    }
  }

  // ---- connections ---------------------------------------------------------------------------
  const openConnection = Effect.fnUntraced(function*(refresh: boolean) {
    const provided = yield* deps.headers.getHeaders({ table: table.name, refresh })
    const revealed = HeadersProvider.reveal(provided)
    const named = revealed[TABLE_NAME_HEADER]
    if (named !== undefined && named !== table.name) {
      return yield* ZerobusError.failInvalidArgument(
        `The headers provider names table "${named}" but the stream writes "${table.name}"`
      )
    }
    revealed[TABLE_NAME_HEADER] = table.name
    const call = client.makeBidiStreamRequest(
      METHOD_PATH,
      (buffer: Buffer) => buffer,
      decodeResponse,
      deps.makeMetadata(revealed)
    )
    const c = new Connection(call, now())
    call.on("data", (message: EphemeralStreamResponse) => onMessage(c, message))
    call.on("status", (status: grpc.StatusObject) => onStatus(c, status))
    call.on("error", () => {}) // the status listener reports every failure
    call.write(encodeCreateStream(table.name, table.recordType, table.descriptorProto))
    yield* Deferred.await(c.createdSignal).pipe(Effect.onError(() => Effect.sync(() => c.release(false))))
    return c
  })

  const attemptTimeout = (refresh: boolean) =>
    openConnection(refresh).pipe(
      Effect.timeoutOrElse({
        duration: options.recoveryTimeout,
        orElse: () =>
          Effect.fail(
            ZerobusError.make(new ZerobusError.Timeout({ message: "Stream creation timed out", operation: "create" }))
          )
      })
    )

  /** One creation attempt; an auth failure is retried once with fresh credentials. */
  const attempt = attemptTimeout(false).pipe(
    Effect.catchIf(isAuthError, () => attemptTimeout(true))
  )

  const retryPolicy = creationRetryPolicy(options)

  const connect = Effect.fn("ZerobusStream.connect")(function*() {
    yield* Effect.annotateCurrentSpan({ "zerobus.table": table.name })
    const c = yield* options.recovery ? Effect.retry(attempt, retryPolicy) : attempt
    yield* Effect.annotateCurrentSpan({ "zerobus.stream_id": c.streamId })
    return c
  })

  const install = (c: Connection) => {
    conn = c
    ledger.sent = 0
    if (state === "recovering" || state === "paused") state = "open"
    schedulePump()
  }

  /** Ends a connection when the server goes silent or the rotation deadline passes. */
  const watchdog = (c: Connection): Effect.Effect<ConnectionEnd, ZerobusError.ZerobusError> =>
    Effect.gen(function*() {
      while (true) {
        const wake = c.wake
        const t = now()
        let wait: number
        if (c.pausedUntil !== undefined) {
          if (t >= c.pausedUntil) return "rotate" as const
          wait = c.pausedUntil - t
        } else if (c.inflight === 0) {
          wait = ackTimeoutMs
        } else {
          const deadline = Math.max(c.lastMessageAt, c.inflightSentAt[c.inflightHead]!) + ackTimeoutMs
          if (t >= deadline) {
            return yield* ZerobusError.make(
              new ZerobusError.Timeout({ message: "Server ack timeout", operation: "ack" })
            )
          }
          wait = deadline - t
        }
        yield* Effect.raceFirst(Effect.sleep(Duration.millis(wait)), Deferred.await(wake))
      }
    })

  // ---- failure and shutdown ------------------------------------------------------------------
  const closedError = () =>
    failure !== undefined
      ? ZerobusError.streamClosed(`Stream failed: ${failure.message}`)
      : ZerobusError.streamClosed(`Stream is ${state}`)

  const failStream = (error: ZerobusError.ZerobusError) => {
    if (state === "failed" || state === "closed") return
    failure = error
    state = "failed"
    if (lingerTimer !== undefined) clearTimeout(lingerTimer)
    conn?.release(false)
    const waiters = ackWaiters.splice(0)
    for (const waiter of waiters) Deferred.doneUnsafe(waiter.deferred, Exit.fail(error))
    for (const resume of windowWaiters.splice(0)) resume(Effect.fail(closedError()))
    for (const queue of subscribers) Queue.failCauseUnsafe(queue, Cause.fail(error))
    subscribers.clear()
    metric(ZerobusMetrics.failures).updateUnsafe(1, context)
  }

  const endSubscribers = () => {
    for (const queue of subscribers) Queue.endUnsafe(queue)
    subscribers.clear()
  }

  // ---- the supervisor ------------------------------------------------------------------------
  const logAnnotations = { module: "ZerobusStream", table: table.name }

  const supervise = (first: Connection) =>
    Effect.gen(function*() {
      let c = first
      while (true) {
        const outcome = yield* Effect.exit(Effect.raceFirst(Deferred.await(c.ended), watchdog(c)))
        const graceful = Exit.isSuccess(outcome)
        const shuttingDown = c.halfClosed
        c.release(graceful)
        // The client ended this call itself (close): nothing to recover. Failures while `close` is
        // still flushing are handled below like any other, so the flush learns about them.
        if (shuttingDown || state === "closed") return
        if (Exit.isSuccess(outcome)) {
          if (outcome.value === "closed") return
          metric(ZerobusMetrics.rotations).updateUnsafe(1, context)
          yield* Effect.logInfo("Server asked to end the stream; moving to a new stream").pipe(
            Effect.annotateLogs({ streamId: c.streamId, unacked: ledger.size })
          )
        } else {
          const error = Cause.findErrorOption(outcome.cause)
          if (Option.isNone(error)) return
          if (!options.recovery || !error.value.isRetryable) {
            yield* Effect.logWarning(`Stream failed: ${error.value.message}`).pipe(
              Effect.annotateLogs({ streamId: c.streamId, unacked: ledger.size })
            )
            failStream(error.value)
            return
          }
          yield* Effect.logInfo(`Stream interrupted (${error.value.message}); recovering`).pipe(
            Effect.annotateLogs({ streamId: c.streamId, unacked: ledger.size })
          )
          metric(ZerobusMetrics.recoveries).updateUnsafe(1, context)
        }
        state = "recovering"
        conn = undefined
        const next = yield* Effect.exit(
          connect().pipe(Effect.withSpan("ZerobusStream.recover", { attributes: { "zerobus.table": table.name } }))
        )
        if (Exit.isFailure(next)) {
          const error = Cause.findErrorOption(next.cause)
          if (Option.isSome(error)) {
            yield* Effect.logWarning(`Stream recovery failed: ${error.value.message}`)
            failStream(error.value)
          }
          return
        }
        c = next.value
        install(c)
        yield* Effect.logInfo("Stream recovered").pipe(
          Effect.annotateLogs({ streamId: c.streamId, replaying: ledger.size })
        )
      }
    }).pipe(Effect.annotateLogs(logAnnotations))

  // ---- open ----------------------------------------------------------------------------------
  if (table.recordType === "json" && table.descriptorProto !== undefined) {
    yield* Effect.logWarning("A descriptor was given for a JSON stream; it is not sent")
  }
  const first = yield* connect()
  yield* Effect.logDebug("Stream opened").pipe(
    Effect.annotateLogs({ ...logAnnotations, streamId: first.streamId })
  )
  install(first)
  const supervisor = yield* supervise(first).pipe(Effect.forkIn(scope))

  // ---- the public operations -----------------------------------------------------------------
  const accepting = () => state === "open" || state === "recovering" || state === "paused"

  const append = (item: Item): number => {
    const offset = ledger.push(item)
    ingestedSinceReport += recordCount(item)
    schedulePump()
    return offset
  }

  /** Queues one request, waiting for room in the window when needed. */
  const enqueue = (item: Item): Effect.Effect<number, ZerobusError.ZerobusError> => {
    if (!accepting()) return Effect.fail(closedError())
    if (windowWaiters.length === 0 && hasRoom()) return Effect.succeed(append(item))
    return Effect.uninterruptibleMask((restore) =>
      restore(waitForRoom).pipe(
        Effect.flatMap(() => {
          if (!accepting()) return Effect.fail(closedError())
          const offset = append(item)
          releaseWindow()
          return Effect.succeed(offset)
        })
      )
    )
  }

  const ingest = (record: A): Effect.Effect<number, ZerobusError.ZerobusError> =>
    Effect.suspend(() => {
      const payload = table.encode(record)
      return isPayload(payload) ? enqueue(payload) : Effect.fail(payload)
    })

  const toBatch = (records: Iterable<A>): Batch | ZerobusError.ZerobusError | undefined => {
    const input: ReadonlyArray<A> = Array.isArray(records) ? records : Array.from(records)
    const count = input.length
    if (count === 0) return undefined
    // One pass: encode, check and size each record (measured faster than map + loop + every).
    const encoded: Array<Payload> = []
    let bound = 0
    let estimate = 0
    for (let i = 0; i < count; i++) {
      const payload = table.encode(input[i]!)
      if (!isPayload(payload)) {
        return ZerobusError.invalidArgument(`Record ${i} of the batch: ${payload.reason.message}`)
      }
      encoded.push(payload)
      bound += payloadBound(payload)
      estimate += entryEstimate(payload)
    }
    if (bound > maxRequestBytes) {
      // Only large batches are measured exactly.
      let bytes = 0
      for (let i = 0; i < count; i++) bytes += payloadBytes(encoded[i]!)
      if (bytes > maxRequestBytes) {
        return ZerobusError.invalidArgument(
          `Batch of ${bytes} bytes exceeds the request limit of ${maxRequestBytes} bytes; split it`
        )
      }
      bound = maxRequestBytes
    }
    return new Batch(encoded, bound, estimate)
  }

  const ingestBatch = (records: Iterable<A>): Effect.Effect<Option.Option<number>, ZerobusError.ZerobusError> =>
    Effect.suspend(() => {
      if (!accepting()) return Effect.fail(closedError())
      const batch = toBatch(records)
      if (batch === undefined) return Effect.succeed(Option.none())
      if (!(batch instanceof Batch)) return Effect.fail(batch)
      return Effect.map(enqueue(batch), Option.some)
    })

  const awaitOffset = (offset: number, operation: string, message: string) =>
    Effect.suspend((): Effect.Effect<void, ZerobusError.ZerobusError> => {
      if (offset <= acked) return Effect.void
      if (failure !== undefined) return Effect.fail(failure)
      if (state === "closed") return Effect.fail(closedError())
      const waiter: AckWaiter = { offset, deferred: Deferred.makeUnsafe() }
      addAckWaiter(waiter)
      return Deferred.await(waiter.deferred).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(flushTimeoutMs),
          orElse: () => Effect.fail(ZerobusError.make(new ZerobusError.Timeout({ message, operation })))
        }),
        Effect.onExit(() => Effect.sync(() => removeAckWaiter(waiter)))
      )
    })

  const waitForOffset = (offset: number): Effect.Effect<void, ZerobusError.ZerobusError> =>
    Effect.suspend(() =>
      !Number.isInteger(offset) || offset < 0 || offset >= ledger.next
        ? ZerobusError.failInvalidArgument(
          `Offset ${offset} has not been assigned by this stream (next offset: ${ledger.next})`
        )
        : awaitOffset(offset, "waitForOffset", "Waiting for acknowledgement timed out")
    )

  const flushNow = Effect.suspend(() => {
    if (state === "closed") return Effect.fail(closedError())
    if (failure !== undefined) return Effect.fail(failure)
    const last = ledger.next - 1
    return last < 0 ? Effect.void : awaitOffset(last, "flush", "Flush timed out")
  })

  const flush = flushNow.pipe(
    Effect.withSpan("ZerobusStream.flush", { attributes: { "zerobus.table": table.name } })
  )

  const shutdown = Effect.gen(function*() {
    const c = conn
    if (c !== undefined && !c.detached) {
      c.halfClosed = true
      c.call.end()
      yield* Deferred.await(c.ended).pipe(
        Effect.timeoutOrElse({ duration: Duration.millis(SHUTDOWN_GRACE_MS), orElse: () => Effect.void }),
        Effect.ignore
      )
      c.release(true)
    }
    yield* Fiber.interrupt(supervisor)
    if (lingerTimer !== undefined) clearTimeout(lingerTimer)
  })

  const close = Effect.suspend((): Effect.Effect<void, ZerobusError.ZerobusError> => {
    if (closeResult !== undefined) return closeResult
    if (state === "failed") {
      closeResult = ledger.size === 0 ? Exit.void : Exit.fail(failure ?? closedError())
      return Effect.andThen(Fiber.interrupt(supervisor), closeResult)
    }
    state = "closing"
    return Effect.gen(function*() {
      const flushed = yield* Effect.exit(flushNow)
      yield* shutdown
      if (Exit.isSuccess(flushed) && failure === undefined) {
        state = "closed"
        closeResult = Exit.void
      } else {
        const error = Exit.isFailure(flushed)
          ? Option.getOrElse(Cause.findErrorOption(flushed.cause), () => closedError())
          : failure ?? closedError()
        failure = failure ?? error
        state = "failed"
        for (const waiter of ackWaiters.splice(0)) Deferred.doneUnsafe(waiter.deferred, Exit.fail(error))
        closeResult = Exit.fail(error)
      }
      for (const resume of windowWaiters.splice(0)) resume(Effect.fail(closedError()))
      endSubscribers()
      return yield* closeResult
    }).pipe(
      Effect.uninterruptible,
      Effect.withSpan("ZerobusStream.close", { attributes: { "zerobus.table": table.name } })
    )
  })

  const unackedItems = Effect.suspend(() =>
    state === "closed" || state === "failed"
      ? Effect.succeed(ledger.toArray())
      : Effect.fail(
        ZerobusError.make(
          new ZerobusError.InvalidState({
            message: "Cannot read unacknowledged records from an open stream; close it or wait for it to fail"
          })
        )
      )
  )

  const acks: Stream.Stream<number, ZerobusError.ZerobusError> = Stream.callback((queue) =>
    Effect.acquireRelease(
      Effect.sync(() => {
        if (failure !== undefined) Queue.failCauseUnsafe(queue, Cause.fail(failure))
        else if (state === "closed") Queue.endUnsafe(queue)
        else subscribers.add(queue)
      }),
      () => Effect.sync(() => subscribers.delete(queue))
    )
  )

  /** Appends a chunk from the sink: one request per record, waiting for room as needed. */
  const appendChunk = (chunk: ReadonlyArray<A>): Effect.Effect<void, ZerobusError.ZerobusError> => {
    const encoded: Array<Payload> = []
    for (const record of chunk) {
      const payload = table.encode(record)
      if (!isPayload(payload)) return Effect.fail(payload)
      encoded.push(payload)
    }
    let index = 0
    const loop: Effect.Effect<void, ZerobusError.ZerobusError> = Effect.suspend(() => {
      if (!accepting()) return Effect.fail(closedError())
      while (index < encoded.length && windowWaiters.length === 0 && hasRoom()) append(encoded[index++]!)
      if (index >= encoded.length) return Effect.void
      return Effect.flatMap(enqueue(encoded[index++]!), () => loop)
    })
    return loop
  }

  const sink: Sink.Sink<void, A, never, ZerobusError.ZerobusError> = Sink.forEachArray(appendChunk).pipe(
    Sink.mapEffect(() => flushNow)
  )

  const stream: ZerobusStream<A> = {
    [TypeId]: TypeId,
    table,
    options,
    streamId: Effect.sync(() => conn?.streamId ?? ""),
    state: Effect.sync(() => state),
    ingest,
    ingestBatch,
    ingestAndWait: (record) =>
      Effect.flatMap(
        ingest(record),
        (offset) => Effect.as(awaitOffset(offset, "ack", "Waiting for ack timed out"), offset)
      ),
    waitForOffset,
    flush,
    close,
    unackedRecords: Effect.map(unackedItems, (items) => items.flatMap(flatten)),
    unackedBatches: Effect.map(unackedItems, (items) => items.map(flatten)),
    acks,
    sink
  }
  internals.set(stream, { items: () => ledger.toArray(), enqueue, headers: deps.headers })
  return stream
})
