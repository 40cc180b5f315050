/**
 * The workspace HTTP server of Zerobus Local: the URL clients use as their workspace (Unity
 * Catalog) URL. It serves the OAuth token endpoint ({@link Oidc}), the Unity Catalog tables
 * endpoint ({@link UnityCatalog}) and the admin API ({@link Admin}); add further routes to
 * {@link routes}.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as Admin from "./Admin.ts"
import type { Auth } from "./Auth.ts"
import type { Faults } from "./Faults.ts"
import { urlHost } from "./GrpcServer.ts"
import { ListenFailed, ZerobusLocalError } from "./LocalError.ts"
import * as Oidc from "./Oidc.ts"
import type { Stats } from "./Stats.ts"
import type { Storage } from "./Storage.ts"
import * as UnityCatalog from "./UnityCatalog.ts"

/**
 * Every route of the workspace server. Routes may use the server's services (auth, faults, stats,
 * storage).
 *
 * @since 0.1.0
 * @category routes
 */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter | Auth | Faults | Stats | Storage> = Layer
  .mergeAll(Oidc.routes, UnityCatalog.routes, Admin.routes)

/**
 * A running workspace server.
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkspaceServer {
  readonly port: number
  /** `http://host:port`. */
  readonly url: string
}

/**
 * Starts the workspace server in the current scope; closing the scope closes every connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly host: string
  readonly port: number
}): Effect.Effect<WorkspaceServer, ZerobusLocalError, Scope.Scope | Auth | Faults | Stats | Storage> =>
  Effect.gen(function*() {
    const server = Http.createServer()
    const address = `${options.host}:${options.port}`
    const httpServer = yield* NodeHttpServer.make(() => server, {
      host: options.host,
      port: options.port,
      disablePreemptiveShutdown: true
    }).pipe(
      Effect.mapError((error) =>
        new ZerobusLocalError({
          reason: new ListenFailed({
            server: "http",
            address,
            message: `cannot listen on ${address}: ${
              error.cause instanceof Error ? error.cause.message : error.message
            }`
          })
        })
      )
    )
    // Runs before the platform's own shutdown: stop listening and cut keep-alive connections, so
    // the port is free and shutdown does not wait for idle clients.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (server.listening) server.close()
        server.closeAllConnections()
      })
    )
    const app = yield* HttpRouter.toHttpEffect(routes)
    yield* httpServer.serve(app)
    const bound = server.address()
    const port = bound !== null && typeof bound === "object" ? bound.port : options.port
    return { port, url: `http://${urlHost(options.host)}:${port}` }
  })
