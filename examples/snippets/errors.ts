/**
 * docs/effect-patterns.md, "Typed errors": handling reasons, retrying on a new stream, reading what
 * was not acknowledged. Type-checked, not run.
 */
import { Effect, Exit, Schedule } from "effect"
import { Table, Zerobus, ZerobusError } from "effect-zerobus"

const table = Table.json("main.default.events")

// One reason handled, the others left in the error channel.
export const tolerant = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(table)
  yield* stream.ingest({ id: 1 })
}).pipe(
  Effect.scoped,
  Effect.catchReason(
    "ZerobusError",
    "PermissionDenied",
    (reason) => Effect.logError(`grant MODIFY on the table to the service principal: ${reason.message}`)
  )
)

// Every reason at once.
export const described = tolerant.pipe(
  Effect.catchReasons("ZerobusError", {
    NotFound: (reason) => Effect.logError(`create the table first: ${reason.message}`),
    Unauthenticated: (reason) => Effect.logError(`check the client id and secret: ${reason.message}`)
  })
)

// A whole unit of work retried on a new stream while the failure is retryable.
export const retried = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(table)
  yield* stream.ingestBatch([{ id: 1 }, { id: 2 }])
  yield* stream.flush
}).pipe(
  Effect.scoped,
  Effect.retry({
    schedule: Schedule.exponential("1 second"),
    times: 5,
    while: (error: ZerobusError.ZerobusError) => error.isRetryable
  })
)

// After a failure: what was not acknowledged, and a new stream that sends it again.
export const recovered = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(table, { recovery: false })
  yield* stream.ingest({ id: 1 })
  const flushed = yield* Effect.exit(stream.flush)
  if (Exit.isFailure(flushed)) {
    const unacked = yield* stream.unackedRecords
    yield* Effect.logWarning(`${unacked.length} records not acknowledged; sending them again`)
    const next = yield* Zerobus.recreateStream(stream)
    yield* next.flush
  }
}).pipe(Effect.scoped)
