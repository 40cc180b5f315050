/**
 * The stream creation retry policy: `recoverySchedule` when given, else a fixed `recoveryBackoff`
 * between at most `recoveryRetries` retries; always stopping at the first non-retryable error.
 * The first attempt of every recovery episode is immediate, and each episode starts with a fresh
 * budget.
 *
 * @internal
 */
import { Schedule } from "effect"
import type { StreamOptions } from "../StreamOptions.ts"
import type { ZerobusError } from "../ZerobusError.ts"

/** The schedule that paces and bounds creation retries. */
export const creationRetryPolicy = (
  options: Pick<StreamOptions, "recoverySchedule" | "recoveryBackoff" | "recoveryRetries">
): Schedule.Schedule<unknown, ZerobusError> =>
  (
    options.recoverySchedule ??
      Schedule.spaced(options.recoveryBackoff).pipe(Schedule.upTo({ times: options.recoveryRetries }))
  ).pipe(
    Schedule.setInputType<ZerobusError>(),
    Schedule.while(({ input }) => input.isRetryable)
  )
