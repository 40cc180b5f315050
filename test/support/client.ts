/**
 * Test wiring for the client: a Zerobus Local server and a `Zerobus` client pointed at it (OAuth
 * through the server's token endpoint), as layers.
 *
 * - `localLayer(options)`: the server (quiet logs by default).
 * - `clientLayer(options)`: a client for the `ZerobusLocal` in context.
 * - `testLayer(serverOptions, clientOptions)`: both, exposing both services.
 * - `failure(effect)`: the typed error an effect fails with (a defect when it does not fail).
 */
import { Effect, Exit, Layer } from "effect"
import { ZerobusLocal } from "../../src/local/index.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import type * as ZerobusError from "../../src/ZerobusError.ts"
import { quiet } from "./local.ts"

/** A Zerobus Local server for tests. */
export const localLayer = (options: ZerobusLocal.Options = {}) => ZerobusLocal.layer({ ...quiet, ...options })

/** A client configured for the server in context (OAuth against its token endpoint). */
export const clientLayer = (options: Partial<Zerobus.Options> = {}) =>
  Layer.unwrap(Effect.gen(function*() {
    const local = yield* ZerobusLocal.ZerobusLocal
    return Zerobus.layer({
      endpoint: local.endpoint,
      unityCatalogUrl: local.workspaceUrl,
      clientId: local.clientId,
      clientSecret: local.clientSecret,
      ...options
    })
  }))

/** A server and a client for it. */
export const testLayer = (server: ZerobusLocal.Options = {}, client: Partial<Zerobus.Options> = {}) =>
  clientLayer(client).pipe(Layer.provideMerge(localLayer(server)))

/** The `ZerobusError` `effect` fails with; dies when it succeeds or dies. */
export const failure = <A, R>(effect: Effect.Effect<A, ZerobusError.ZerobusError, R>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause.reasons[0]?._tag === "Fail"
      ? Effect.succeed(exit.cause.reasons[0].error)
      : Effect.die(new Error(`expected a failure, got ${Exit.isSuccess(exit) ? "success" : "a defect"}`)))
