/**
 * The gRPC listener of Zerobus Local: a grpc-js server serving `databricks.zerobus.Zerobus` over
 * h2c or TLS (ALPN h2), fed by a TCP listener this module owns, so that a connection can be cut on
 * purpose (fault injection) and every socket is closed when the server stops (the port can be
 * reused at once).
 *
 * @since 0.1.0
 */
import * as grpc from "@grpc/grpc-js"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Net from "node:net"
import * as Tls from "node:tls"
import { serviceDefinition } from "../internal/protocol.ts"
import { type Call, deserializeIncoming } from "./internal/session.ts"
import { ListenFailed, TlsFailed, ZerobusLocalError } from "./LocalError.ts"

/**
 * A running gRPC listener.
 *
 * @since 0.1.0
 * @category models
 */
export interface GrpcListener {
  /** Bound port. */
  readonly port: number
  /** `http://host:port`, or `https://` with TLS. */
  readonly endpoint: string
  /** Destroys the connection of a peer (`address:port`), if it is open. */
  readonly dropConnection: (peer: string) => void
}

/**
 * Listener options.
 *
 * @since 0.1.0
 * @category models
 */
export interface GrpcListenerOptions {
  readonly host: string
  readonly port: number
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined
  /** grpc-js' own receive limit; set above the protocol limit so the server can name the offset. */
  readonly maxReceiveBytes: number
  /** Turn records into strings/bytes (false when the storage only counts them). */
  readonly readsRecords: boolean
  /** Serves one call; must not throw. */
  readonly handle: (call: Call) => void
}

/**
 * The host part of a URL for a listen address (wildcards become loopback).
 *
 * @since 0.1.0
 * @category utils
 */
export const urlHost = (host: string): string =>
  host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host

const credentialsFor = (tls: GrpcListenerOptions["tls"]): Effect.Effect<grpc.ServerCredentials, ZerobusLocalError> =>
  tls === undefined
    ? Effect.succeed(grpc.ServerCredentials.createInsecure())
    : Effect.try({
      try: () => {
        // Fails early on unreadable PEM or a key that does not match the certificate.
        Tls.createSecureContext({ cert: tls.cert, key: tls.key })
        return grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
      },
      catch: (error) =>
        new ZerobusLocalError({
          reason: new TlsFailed({ message: `invalid TLS certificate or key: ${String(error)}` })
        })
    })

/**
 * Starts the listener in the current scope; closing the scope stops it and destroys every
 * connection.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: GrpcListenerOptions): Effect.Effect<GrpcListener, ZerobusLocalError, Scope.Scope> =>
  Effect.gen(function*() {
    const credentials = yield* credentialsFor(options.tls)
    const server = new grpc.Server({
      "grpc.max_receive_message_length": options.maxReceiveBytes,
      "grpc.max_send_message_length": -1
    })
    server.addService(
      {
        EphemeralStream: {
          ...serviceDefinition.EphemeralStream,
          requestDeserialize: (bytes: Buffer) => deserializeIncoming(bytes, options.readsRecords)
        }
      },
      { EphemeralStream: options.handle }
    )
    const injector = server.createConnectionInjector(credentials)
    const sockets = new Map<string, Net.Socket>()
    const tcp = Net.createServer((socket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`
      sockets.set(key, socket)
      socket.on("error", () => {})
      socket.once("close", () => {
        if (sockets.get(key) === socket) sockets.delete(key)
      })
      injector.injectConnection(socket)
    })
    const address = `${options.host}:${options.port}`
    yield* Effect.acquireRelease(
      Effect.callback<void, ZerobusLocalError>((resume) => {
        const onError = (error: Error) => {
          resume(Effect.fail(
            new ZerobusLocalError({
              reason: new ListenFailed({
                server: "grpc",
                address,
                message: `cannot listen on ${address}: ${error.message}`
              })
            })
          ))
        }
        tcp.once("error", onError)
        tcp.listen({ host: options.host, port: options.port }, () => {
          tcp.off("error", onError)
          resume(Effect.void)
        })
      }),
      () =>
        Effect.callback<void>((resume) => {
          tcp.close(() => resume(Effect.void))
          for (const socket of sockets.values()) socket.destroy()
          sockets.clear()
          injector.destroy()
          server.forceShutdown()
        }).pipe(Effect.timeoutOrElse({ duration: "2 seconds", orElse: () => Effect.void }))
    )
    const bound = tcp.address()
    const port = bound !== null && typeof bound === "object" ? bound.port : options.port
    return {
      port,
      endpoint: `${options.tls === undefined ? "http" : "https"}://${urlHost(options.host)}:${port}`,
      dropConnection: (peer) => {
        sockets.get(peer)?.destroy()
      }
    }
  })
