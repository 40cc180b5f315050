/**
 * Running stream operations from Promise code. Operations of a stream need no services, so they
 * run as plain fibers; one that completes synchronously (an ingest with room in the window) costs
 * no scheduling round trip.
 *
 * @internal
 */
import { Effect, Exit, type Fiber } from "effect"
import type * as ZerobusErrorEffect from "../ZerobusError.ts"
import { fromCause } from "./ZerobusError.ts"

/** Settles with `fiber`'s outcome mapped by `f`; failures reject with the Promise API's error. */
export const fromFiber = <A, B>(
  fiber: Fiber.Fiber<A, ZerobusErrorEffect.ZerobusError>,
  f: (a: A) => B
): Promise<B> => {
  const exit = fiber.pollUnsafe()
  if (exit !== undefined) {
    return Exit.isSuccess(exit) ? Promise.resolve(f(exit.value)) : Promise.reject(fromCause(exit.cause))
  }
  return new Promise<B>((resolve, reject) => {
    fiber.addObserver((done) => {
      if (Exit.isSuccess(done)) resolve(f(done.value))
      else reject(fromCause(done.cause))
    })
  })
}

/** Runs `effect` and maps its value with `f`; failures reject with the Promise API's error. */
export const run = <A, B>(
  effect: Effect.Effect<A, ZerobusErrorEffect.ZerobusError>,
  f: (a: A) => B
): Promise<B> => fromFiber(Effect.runFork(effect), f)

/** The identity, for {@link run}. */
export const same = <A>(a: A): A => a
