/**
 * The gRPC listener of Zerobus Local: a grpc-js server serving `databricks.zerobus.Zerobus` over
 * h2c or TLS (ALPN h2), fed by a TCP listener this module owns, so that a connection can be cut on
 * purpose (fault injection) and every socket is closed when the server stops (the port can be
 * reused at once).
 *
 * Its HTTP/2 receive windows are raised from Node's 64 KiB to 1 MiB per stream and 8 MiB per
 * connection (see `widenWindows`).
 *
 * @since 0.1.0
 */
import * as grpc from "@grpc/grpc-js"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { EventEmitter } from "node:events"
import type * as Http2 from "node:http2"
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
 * HTTP/2 receive window of each stream: how many bytes a client may send on one stream before the
 * server acknowledges them with a WINDOW_UPDATE.
 *
 * @since 0.1.0
 * @category constants
 */
export const STREAM_WINDOW_BYTES = 1024 * 1024

/**
 * HTTP/2 receive window of each connection (shared by its streams).
 *
 * @since 0.1.0
 * @category constants
 */
export const CONNECTION_WINDOW_BYTES = 8 * 1024 * 1024

const isServerSession = (value: unknown): value is Http2.ServerHttp2Session =>
  value instanceof EventEmitter && "settings" in value && typeof value.settings === "function" &&
  "setLocalWindowSize" in value && typeof value.setLocalWindowSize === "function"

/**
 * Raises the receive windows of the HTTP/2 sessions of `server`'s listeners. grpc-js' server has
 * no option for them (grpc/grpc-node#3058) and leaves Node's 64 KiB, so a client can have only
 * 64 KiB in flight per stream: on loopback that halves the records/s of batches, whose messages
 * are larger than the window. The listeners are reached through grpc-js' private `http2Servers`
 * map; should a grpc-js release rename it, the windows stay at 64 KiB and a test says so.
 */
const widenWindows = (server: grpc.Server): void => {
  const http2Servers: unknown = server["http2Servers"]
  if (!(http2Servers instanceof Map)) return
  for (const http2Server of http2Servers.keys()) {
    if (!(http2Server instanceof Net.Server)) continue
    http2Server.on("session", (session: unknown) => {
      if (!isServerSession(session) || session.destroyed) return
      session.settings({ initialWindowSize: STREAM_WINDOW_BYTES })
      session.setLocalWindowSize(CONNECTION_WINDOW_BYTES)
    })
  }
}

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
    widenWindows(server)
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
