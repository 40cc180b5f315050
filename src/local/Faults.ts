/**
 * Fault injection: per-table scripts of misbehaviour that Zerobus Local plays to the streams that
 * open on a table, so client recovery paths can be tested against a real server.
 *
 * **How a script is played**
 *
 * Each table has a list of steps. When a stream on that table is opened (a valid `create_stream`
 * from an authorized caller), it walks the list from the start and takes steps in order: it takes
 * at most one step of each kind (`_tag`), and stops after the first step that ends the stream
 * (`FailCreate`, `BadCreateResponse`, `FailStream`, `CloseStream`, `DropConnection`, `EndStream`)
 * or at a step of a kind it already took. Taking a step uses one of its `times` (default 1); the
 * step leaves the script when none are left. Steps therefore apply to consecutive streams, and
 * scripts persist across reconnects: `[FailCreate UNAVAILABLE ×2]` fails two creations, then the
 * third stream works; `[DelayAcks 100 ms, FailStream after 3]` gives one stream both.
 *
 * Faults injected while a stream is open apply to the streams opened after that.
 *
 * The same steps are accepted as JSON by the admin endpoint (`POST /admin/faults/{table}`); a
 * duration is a number of milliseconds or a string such as `"2 seconds"`, a gRPC code a number or
 * a name such as `"UNAVAILABLE"`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { DurationInput, type DurationLike, GrpcCode, type GrpcCodeName } from "./internal/schema.ts"

const timesField = Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)))
const requests = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/**
 * Delays the stream's `create_stream_response` (the stream is created afterwards).
 *
 * @since 0.1.0
 * @category steps
 */
export const DelayCreate = Schema.TaggedStruct("DelayCreate", { delay: DurationInput, times: timesField })

/**
 * Ends the call with a gRPC status instead of creating the stream (code `OK` ends it cleanly
 * before any response).
 *
 * @since 0.1.0
 * @category steps
 */
export const FailCreate = Schema.TaggedStruct("FailCreate", {
  code: GrpcCode,
  message: Schema.optional(Schema.String),
  times: timesField
})

/**
 * Answers `create_stream` with something else: an ack, a `CloseStreamSignal`, or a
 * `create_stream_response` without `stream_id`. The call then stays open until the client ends it.
 *
 * @since 0.1.0
 * @category steps
 */
export const BadCreateResponse = Schema.TaggedStruct("BadCreateResponse", {
  send: Schema.Literals(["Ack", "CloseStreamSignal", "MissingStreamId"]),
  times: timesField
})

/**
 * Sends each ack `delay` after the request it covers arrived (and not before it is durable).
 *
 * @since 0.1.0
 * @category steps
 */
export const DelayAcks = Schema.TaggedStruct("DelayAcks", { delay: DurationInput, times: timesField })

/**
 * Acknowledges the first `afterRequests` requests (default 0) and none after them; the records are
 * still stored. Triggers a client's lack-of-ack timeout.
 *
 * @since 0.1.0
 * @category steps
 */
export const WithholdAcks = Schema.TaggedStruct("WithholdAcks", {
  afterRequests: Schema.optional(requests),
  times: timesField
})

/**
 * Once `afterRequests` requests have arrived (0: right after creation), stores and acknowledges
 * them, then ends the call with the status. Later requests are not stored.
 *
 * @since 0.1.0
 * @category steps
 */
export const FailStream = Schema.TaggedStruct("FailStream", {
  afterRequests: requests,
  code: GrpcCode,
  message: Schema.optional(Schema.String),
  times: timesField
})

/**
 * Once `afterRequests` requests have arrived, sends `CloseStreamSignal{duration}`; after the
 * duration ends the call with ABORTED `Error code 6002: stream lifetime expired`. Requests keep
 * being stored and acknowledged meanwhile, and a client half-close ends the call with OK.
 *
 * @since 0.1.0
 * @category steps
 */
export const CloseStream = Schema.TaggedStruct("CloseStream", {
  afterRequests: requests,
  duration: DurationInput,
  times: timesField
})

/**
 * Once `afterRequests` requests have arrived, destroys the connection (socket) that carries the
 * stream: no status, no further acks. Other streams on the same connection die with it.
 *
 * @since 0.1.0
 * @category steps
 */
export const DropConnection = Schema.TaggedStruct("DropConnection", { afterRequests: requests, times: timesField })

/**
 * Once `afterRequests` requests have arrived, acknowledges them and ends the call with OK.
 *
 * @since 0.1.0
 * @category steps
 */
export const EndStream = Schema.TaggedStruct("EndStream", { afterRequests: requests, times: timesField })

/**
 * Once `afterRequests` requests have arrived, acknowledges them, then sends an
 * `IngestRecordResponse` without `durability_ack_up_to_offset`.
 *
 * @since 0.1.0
 * @category steps
 */
export const SendEmptyAck = Schema.TaggedStruct("SendEmptyAck", { afterRequests: requests, times: timesField })

/**
 * Once `afterRequests` requests have arrived, acknowledges them, then sends a second
 * `create_stream_response`.
 *
 * @since 0.1.0
 * @category steps
 */
export const SendUnexpected = Schema.TaggedStruct("SendUnexpected", { afterRequests: requests, times: timesField })

/**
 * One step of a fault script.
 *
 * @since 0.1.0
 * @category steps
 */
export const FaultStep = Schema.Union([
  DelayCreate,
  FailCreate,
  BadCreateResponse,
  DelayAcks,
  WithholdAcks,
  FailStream,
  CloseStream,
  DropConnection,
  EndStream,
  SendEmptyAck,
  SendUnexpected
])

/**
 * A decoded fault step.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultStep = typeof FaultStep.Type

/**
 * A fault step as written by callers and in JSON: durations as milliseconds, strings or
 * `Duration`s, codes as numbers or names.
 *
 * @since 0.1.0
 * @category models
 */
export type FaultStepInput = typeof FaultStep.Encoded

/**
 * A list of steps in their JSON form (the admin endpoint's body).
 *
 * @since 0.1.0
 * @category steps
 */
export const FaultScript = Schema.Array(FaultStep)

const endingSteps: ReadonlySet<FaultStep["_tag"]> = new Set([
  "FailCreate",
  "BadCreateResponse",
  "FailStream",
  "CloseStream",
  "DropConnection",
  "EndStream"
])

/**
 * What ends a stream, once `afterRequests` requests have arrived.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamEnd =
  | { readonly _tag: "Fail"; readonly afterRequests: number; readonly code: number; readonly message: string }
  | { readonly _tag: "Close"; readonly afterRequests: number; readonly duration: Duration.Duration }
  | { readonly _tag: "Drop"; readonly afterRequests: number }
  | { readonly _tag: "End"; readonly afterRequests: number }

/**
 * The faults one stream took when it opened.
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamFaults {
  readonly createDelay: Duration.Duration | undefined
  readonly createFailure: { readonly code: number; readonly message: string } | undefined
  readonly badCreateResponse: "Ack" | "CloseStreamSignal" | "MissingStreamId" | undefined
  readonly ackDelay: Duration.Duration | undefined
  readonly withholdAcksAfter: number | undefined
  readonly emptyAckAfter: number | undefined
  readonly unexpectedAfter: number | undefined
  readonly end: StreamEnd | undefined
}

/**
 * A stream without faults.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: StreamFaults = {
  createDelay: undefined,
  createFailure: undefined,
  badCreateResponse: undefined,
  ackDelay: undefined,
  withholdAcksAfter: undefined,
  emptyAckAfter: undefined,
  unexpectedAfter: undefined,
  end: undefined
}

const injected = (what: string) => `injected fault: ${what}`

const apply = (faults: StreamFaults, step: FaultStep): StreamFaults => {
  switch (step._tag) {
    case "DelayCreate":
      return { ...faults, createDelay: step.delay }
    case "FailCreate":
      return {
        ...faults,
        createFailure: { code: step.code, message: step.message ?? injected("stream creation failed") }
      }
    case "BadCreateResponse":
      return { ...faults, badCreateResponse: step.send }
    case "DelayAcks":
      return { ...faults, ackDelay: step.delay }
    case "WithholdAcks":
      return { ...faults, withholdAcksAfter: step.afterRequests ?? 0 }
    case "SendEmptyAck":
      return { ...faults, emptyAckAfter: step.afterRequests }
    case "SendUnexpected":
      return { ...faults, unexpectedAfter: step.afterRequests }
    case "FailStream":
      return {
        ...faults,
        end: {
          _tag: "Fail",
          afterRequests: step.afterRequests,
          code: step.code,
          message: step.message ?? injected(`stream failed after ${step.afterRequests} requests`)
        }
      }
    case "CloseStream":
      return { ...faults, end: { _tag: "Close", afterRequests: step.afterRequests, duration: step.duration } }
    case "DropConnection":
      return { ...faults, end: { _tag: "Drop", afterRequests: step.afterRequests } }
    case "EndStream":
      return { ...faults, end: { _tag: "End", afterRequests: step.afterRequests } }
  }
}

/**
 * The step a script holds, with the uses it has left.
 */
interface ScriptEntry {
  readonly step: FaultStep
  left: number
}

/**
 * Fault steps given to {@link Faults.inject} were invalid.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidFault extends Schema.TaggedError<InvalidFault>()("InvalidFault", { message: Schema.String }) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A fault operation failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class FaultError extends Schema.TaggedError<FaultError>()("FaultError", {
  reason: Schema.Union([InvalidFault])
}) {
  /** The reason's message. */
  override get message(): string {
    return this.reason.message
  }
  /** Never. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/**
 * Pending steps per table (with their remaining `times`), as returned by {@link Faults.pending}.
 *
 * @since 0.1.0
 * @category models
 */
export type PendingFaults = { readonly [table: string]: ReadonlyArray<FaultStep> }

/**
 * The fault registry of one server.
 *
 * @since 0.1.0
 * @category services
 */
export class Faults extends Context.Service<Faults, {
  /** Appends steps to a table's script (validated with {@link FaultStep}). */
  readonly inject: (table: string, steps: ReadonlyArray<FaultStepInput>) => Effect.Effect<void, FaultError>
  /** Clears one table's script, or every script. */
  readonly clear: (table?: string | undefined) => Effect.Effect<void>
  /** Steps not yet used up, per table. */
  readonly pending: Effect.Effect<PendingFaults>
  /** Takes the steps for a stream that opens on `table` (see the module docs). */
  readonly take: (table: string) => Effect.Effect<StreamFaults>
}>()("effect-zerobus/local/Faults") {}

const decodeScript = Schema.decodeUnknownEffect(FaultScript)

/**
 * Creates an empty registry.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Faults["Service"]> = Effect.sync(() => {
  const scripts = new Map<string, Array<ScriptEntry>>()
  const takeSync = (table: string): StreamFaults => {
    const script = scripts.get(table)
    if (script === undefined || script.length === 0) return none
    const kinds = new Set<FaultStep["_tag"]>()
    let faults = none
    for (const entry of script) {
      if (kinds.has(entry.step._tag)) break
      kinds.add(entry.step._tag)
      entry.left--
      faults = apply(faults, entry.step)
      if (endingSteps.has(entry.step._tag)) break
    }
    const rest = script.filter((entry) => entry.left > 0)
    if (rest.length === 0) scripts.delete(table)
    else scripts.set(table, rest)
    return faults
  }
  return Faults.of({
    inject: (table, steps) =>
      decodeScript(steps).pipe(
        Effect.mapError((error) => new FaultError({ reason: new InvalidFault({ message: error.message }) })),
        Effect.flatMap((decoded) =>
          Effect.sync(() => {
            const script = scripts.get(table) ?? []
            for (const step of decoded) script.push({ step, left: step.times ?? 1 })
            if (script.length > 0) scripts.set(table, script)
          })
        )
      ),
    clear: (table) =>
      Effect.sync(() => {
        if (table === undefined) scripts.clear()
        else scripts.delete(table)
      }),
    pending: Effect.sync(() => {
      const out: Record<string, ReadonlyArray<FaultStep>> = {}
      for (const [table, script] of scripts) out[table] = script.map(({ left, step }) => ({ ...step, times: left }))
      return out
    }),
    take: (table) => Effect.sync(() => takeSync(table))
  })
})

/**
 * A fresh registry.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Faults> = Layer.effect(Faults, make)

/** Constructors for fault steps in their input form, e.g. `Faults.failStream(3, "UNAVAILABLE")`. */

/**
 * @since 0.1.0
 * @category constructors
 */
export const delayCreate = (delay: DurationLike, times?: number): FaultStepInput =>
  withTimes({ _tag: "DelayCreate", delay }, times)

/**
 * @since 0.1.0
 * @category constructors
 */
export const failCreate = (code: number | GrpcCodeName, message?: string, times?: number): FaultStepInput =>
  withTimes(message === undefined ? { _tag: "FailCreate", code } : { _tag: "FailCreate", code, message }, times)

/**
 * @since 0.1.0
 * @category constructors
 */
export const delayAcks = (delay: DurationLike, times?: number): FaultStepInput =>
  withTimes({ _tag: "DelayAcks", delay }, times)

/**
 * @since 0.1.0
 * @category constructors
 */
export const withholdAcks = (afterRequests = 0, times?: number): FaultStepInput =>
  withTimes({ _tag: "WithholdAcks", afterRequests }, times)

/**
 * @since 0.1.0
 * @category constructors
 */
export const failStream = (
  afterRequests: number,
  code: number | GrpcCodeName,
  message?: string,
  times?: number
): FaultStepInput =>
  withTimes(
    message === undefined
      ? { _tag: "FailStream", afterRequests, code }
      : { _tag: "FailStream", afterRequests, code, message },
    times
  )

/**
 * @since 0.1.0
 * @category constructors
 */
export const closeStream = (
  afterRequests: number,
  duration: DurationLike,
  times?: number
): FaultStepInput => withTimes({ _tag: "CloseStream", afterRequests, duration }, times)

/**
 * @since 0.1.0
 * @category constructors
 */
export const dropConnection = (afterRequests: number, times?: number): FaultStepInput =>
  withTimes({ _tag: "DropConnection", afterRequests }, times)

/**
 * @since 0.1.0
 * @category constructors
 */
export const endStream = (afterRequests: number, times?: number): FaultStepInput =>
  withTimes({ _tag: "EndStream", afterRequests }, times)

const withTimes = (step: FaultStepInput, times: number | undefined): FaultStepInput =>
  times === undefined ? step : { ...step, times }
