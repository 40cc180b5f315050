/**
 * The creation retry policy on virtual time: spacing, budget, non-retryable errors, user schedules.
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Schedule } from "effect"
import { TestClock } from "effect/testing"
import { creationRetryPolicy } from "../../src/internal/retry.ts"
import * as ZerobusError from "../../src/ZerobusError.ts"

const unavailable = ZerobusError.make(new ZerobusError.Unavailable({ message: "down" }))
const denied = ZerobusError.make(new ZerobusError.PermissionDenied({ message: "no" }))

/** An attempt failing with `errors` in turn, then succeeding; records when each attempt ran. */
const attempts = (errors: ReadonlyArray<ZerobusError.ZerobusError>) => {
  const times: Array<number> = []
  let i = 0
  const attempt = Effect.gen(function*() {
    times.push(yield* Effect.clockWith((clock) => Effect.succeed(clock.currentTimeMillisUnsafe())))
    const error = errors[i++]
    if (error !== undefined) return yield* error
    return "connected"
  })
  return { attempt, times }
}

const options = { recoverySchedule: undefined, recoveryBackoff: Duration.seconds(2), recoveryRetries: 4 }

describe("creation retry policy", () => {
  it.effect("retries immediately-then-spaced by recoveryBackoff and succeeds", () =>
    Effect.gen(function*() {
      const { attempt, times } = attempts([unavailable, unavailable])
      const fiber = yield* Effect.retry(attempt, creationRetryPolicy(options)).pipe(Effect.forkChild)
      yield* TestClock.adjust("2 seconds")
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "connected")
      assert.deepStrictEqual(times, [0, 2000, 4000])
    }))

  it.effect("gives up after 1 + recoveryRetries attempts", () =>
    Effect.gen(function*() {
      const { attempt, times } = attempts(Array.from({ length: 10 }, () => unavailable))
      const fiber = yield* Effect.retry(attempt, creationRetryPolicy(options)).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual((yield* Fiber.join(fiber)).reason._tag, "Unavailable")
      assert.deepStrictEqual(times, [0, 2000, 4000, 6000, 8000])
    }))

  it.effect("stops at once on a non-retryable error", () =>
    Effect.gen(function*() {
      const { attempt, times } = attempts([unavailable, denied, unavailable])
      const fiber = yield* Effect.retry(attempt, creationRetryPolicy(options)).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("60 seconds")
      assert.strictEqual((yield* Fiber.join(fiber)).reason._tag, "PermissionDenied")
      assert.strictEqual(times.length, 2)
    }))

  it.effect("a user schedule replaces backoff and retries, still stopping on fatal errors", () =>
    Effect.gen(function*() {
      const { attempt, times } = attempts(Array.from({ length: 10 }, () => unavailable))
      const policy = creationRetryPolicy({
        ...options,
        recoverySchedule: Schedule.exponential("100 millis").pipe(Schedule.upTo({ times: 3 }))
      })
      const fiber = yield* Effect.retry(attempt, policy).pipe(Effect.flip, Effect.forkChild)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(times, [0, 100, 300, 700])
    }))
})
