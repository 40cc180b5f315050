import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Schedule } from "effect"
import * as StreamOptions from "../src/StreamOptions.ts"

const message = (input: unknown) =>
  Effect.map(
    Effect.exit(StreamOptions.resolve(JSON.parse(JSON.stringify(input)))),
    (exit) =>
      Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail" ? exit.cause.reasons[0].error.message : "ok"
  )

describe("StreamOptions", () => {
  it.effect("defaults are the official SDKs'", () =>
    Effect.gen(function*() {
      const o = yield* StreamOptions.resolve(undefined)
      assert.strictEqual(o.maxInflightRequests, 1_000_000)
      assert.strictEqual(o.recovery, true)
      assert.strictEqual(Duration.toMillis(o.recoveryTimeout), 15_000)
      assert.strictEqual(Duration.toMillis(o.recoveryBackoff), 2_000)
      assert.strictEqual(o.recoveryRetries, 4)
      assert.strictEqual(Duration.toMillis(o.flushTimeout), 300_000)
      assert.strictEqual(Duration.toMillis(o.serverLackOfAckTimeout), 60_000)
      assert.strictEqual(o.recordType, "proto")
      assert.strictEqual(o.streamPausedMaxWaitTime, undefined)
      assert.strictEqual(o.recoverySchedule, undefined)
      assert.deepStrictEqual(o.coalesce, { maxRecords: 1000, maxBytes: 4 * 1024 * 1024, linger: Duration.zero })
    }))

  it.effect("accepts milliseconds, duration strings and Durations", () =>
    Effect.gen(function*() {
      const schedule = Schedule.recurs(2)
      const o = yield* StreamOptions.resolve({
        recoveryTimeout: 500,
        recoveryBackoff: "3 seconds",
        flushTimeout: Duration.minutes(1),
        streamPausedMaxWaitTime: 0,
        recoverySchedule: schedule,
        coalesce: { linger: "2 millis" }
      })
      assert.strictEqual(Duration.toMillis(o.recoveryTimeout), 500)
      assert.strictEqual(Duration.toMillis(o.recoveryBackoff), 3000)
      assert.strictEqual(Duration.toMillis(o.flushTimeout), 60_000)
      assert.strictEqual(o.streamPausedMaxWaitTime && Duration.toMillis(o.streamPausedMaxWaitTime), 0)
      assert.strictEqual(o.recoverySchedule, schedule)
      assert.deepStrictEqual(o.coalesce, { maxRecords: 1000, maxBytes: 4 * 1024 * 1024, linger: Duration.millis(2) })
      assert.strictEqual((yield* StreamOptions.resolve({ coalesce: false })).coalesce, false)
    }))

  it.effect("a bad option fails with InvalidArgument naming it", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ maxInflightRequests: 0 }, "maxInflightRequests"],
        [{ maxInflightRequests: 1.5 }, "maxInflightRequests"],
        [{ recovery: "yes" }, "recovery"],
        [{ recoveryTimeout: -1 }, "recoveryTimeout"],
        [{ recoveryBackoff: "soon" }, "recoveryBackoff"],
        [{ recoveryRetries: -1 }, "recoveryRetries"],
        [{ flushTimeout: {} }, "flushTimeout"],
        [{ serverLackOfAckTimeout: null }, "serverLackOfAckTimeout"],
        [{ recordType: "xml" }, "recordType"],
        [{ recoverySchedule: 5 }, "recoverySchedule"],
        [{ coalesce: { maxBytes: 64 * 1024 * 1024 } }, "maxBytes"],
        [{ coalesce: true }, "coalesce"]
      ]
      for (const [input, name] of cases) {
        const text = yield* message(input)
        assert.include(text, "Invalid stream options", JSON.stringify(input))
        assert.include(text, name, JSON.stringify(input))
      }
    }))
})
