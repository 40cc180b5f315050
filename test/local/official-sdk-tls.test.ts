import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { tlsLocal, uniqueTable } from "../support/local.ts"
import { official } from "../support/official.ts"

// Own file: it sets SSL_CERT_FILE for this test process (the official SDK reads trust roots from it).
describe.runIf(official !== undefined)("official TypeScript SDK 1.3.0 over TLS", () => {
  const sdkModule = official!

  it.live("connects to https://127.0.0.1 and https://localhost with SSL_CERT_FILE pointing at the certificate", () =>
    Effect.gen(function*() {
      const { certificate, local } = yield* tlsLocal
      const previous = process.env["SSL_CERT_FILE"]
      yield* Effect.acquireRelease(
        Effect.sync(() => {
          process.env["SSL_CERT_FILE"] = certificate.certFile
        }),
        () =>
          Effect.sync(() => {
            if (previous === undefined) delete process.env["SSL_CERT_FILE"]
            else process.env["SSL_CERT_FILE"] = previous
          })
      )
      const table = uniqueTable("tls")
      for (const endpoint of [local.endpoint, local.endpoint.replace("127.0.0.1", "localhost")]) {
        const sdk = new sdkModule.ZerobusSdk(endpoint, local.workspaceUrl)
        const stream = yield* Effect.promise(() =>
          sdk.createStream({ tableName: table }, local.clientId, Redacted.value(local.clientSecret), {
            recordType: sdkModule.RecordType.Json,
            recovery: false
          })
        )
        yield* Effect.promise(() => stream.ingestRecordOffset(JSON.stringify({ endpoint })))
        yield* Effect.promise(() => stream.flush())
        yield* Effect.promise(() => stream.close())
      }
      assert.deepStrictEqual((yield* local.records(table)).map((r) => r.value["endpoint"]), [
        local.endpoint,
        local.endpoint.replace("127.0.0.1", "localhost")
      ])
    }))
})
