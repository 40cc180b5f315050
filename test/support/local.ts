/**
 * Helpers for tests that run Zerobus Local.
 *
 * - `quiet`: options that silence the server's stream-event logs.
 * - `tokenFor(local, table)`: a token from the server's OIDC endpoint, requested like the official
 *   clients do.
 * - `rawClient(local)`: a scoped `RawClient` (closed with the scope).
 * - `uniqueTable(prefix)`: a fresh `main.<prefix>.t<n>` table name.
 * - `tlsLocal`: a scoped in-memory Zerobus Local over TLS, with its throw-away certificate.
 */
import { Effect, Redacted } from "effect"
import { Storage, ZerobusLocal } from "../../src/local/index.ts"
import { fetchToken } from "./oauth.ts"
import { RawClient } from "./rawClient.ts"
import { selfSignedCertificate } from "./tls.ts"

/** Server options that keep test output clean. */
export const quiet = { logLevel: "None" } as const

/** A token for writing `table`, fetched from the server's token endpoint. */
export const tokenFor = (local: ZerobusLocal.ZerobusLocal["Service"], table: string) =>
  Effect.promise(() =>
    fetchToken(local.workspaceUrl, {
      clientId: local.clientId,
      clientSecret: Redacted.value(local.clientSecret),
      table,
      workspaceId: local.workspaceId
    })
  )

/** A raw client for the server, closed with the scope. */
export const rawClient = (local: ZerobusLocal.ZerobusLocal["Service"], options: { readonly ca?: Buffer } = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => new RawClient(local.endpoint, options)),
    (client) => Effect.sync(() => client.close())
  )

let counter = 0

/** A table name no other test uses. */
export const uniqueTable = (prefix = "test"): string => `main.${prefix}.t${++counter}_${process.pid}`

/**
 * An in-memory Zerobus Local serving gRPC over TLS with a fresh self-signed certificate; the
 * scope stops the server, then deletes the certificate.
 */
export const tlsLocal = Effect.gen(function*() {
  const certificate = yield* Effect.acquireRelease(
    Effect.sync(selfSignedCertificate),
    (c) => Effect.sync(() => c.remove())
  )
  const local = yield* ZerobusLocal.make({
    ...quiet,
    tls: { certFile: certificate.certFile, keyFile: certificate.keyFile }
  }).pipe(Effect.provide(Storage.layerMemory))
  return { certificate, local }
})
