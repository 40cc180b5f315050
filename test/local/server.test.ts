import { assert, describe, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { Config, Deferred, Effect, Exit, Layer, Redacted } from "effect"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import { CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES } from "../../src/local/GrpcServer.ts"
import { Storage, ZerobusLocal } from "../../src/local/index.ts"
import { quiet, rawClient, tlsLocal, tokenFor, uniqueTable } from "../support/local.ts"
import { fetchToken } from "../support/oauth.ts"
import { openStream, RawClient } from "../support/rawClient.ts"
import { selfSignedCertificate } from "../support/tls.ts"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/**
 * A storage backend whose durability the test controls: each append is accepted at once and
 * becomes durable when the test opens its gate.
 */
const gatedStorage = Effect.gen(function*() {
  const gates: Array<Deferred.Deferred<void, Storage.StorageError>> = []
  const storage = Storage.Storage.of({
    ...(yield* Storage.makeDiscard),
    open: () =>
      Effect.succeed({
        append: () =>
          Effect.sync(() => {
            const gate = Deferred.makeUnsafe<void, Storage.StorageError>()
            gates.push(gate)
            return Deferred.await(gate)
          })
      })
  })
  return { gates, storage }
})

const waitUntil = (condition: () => boolean, what: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      if (condition()) return
      yield* Effect.sleep("5 millis")
    }
    assert.fail(`timed out waiting for ${what}`)
  })

describe("acks and durability", () => {
  it.live("acks only durable requests, in order, one ack for requests that became durable together", () =>
    Effect.gen(function*() {
      const { gates, storage } = yield* gatedStorage
      const local = yield* ZerobusLocal.make(quiet).pipe(Effect.provideService(Storage.Storage, storage))
      const client = yield* rawClient(local)
      const table = uniqueTable("acks")
      const token = yield* tokenFor(local, table)
      const { call } = yield* promise(() => openStream(client, { token, table }))
      for (let offset = 0; offset < 6; offset++) call.json(offset, "{}")
      yield* waitUntil(() => gates.length === 6, "six appends")
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(call.acks(), [])
      // Durable out of order: nothing is acknowledged past a request that is not durable.
      Deferred.doneUnsafe(gates[1]!, Exit.void)
      yield* Effect.sleep("50 millis")
      assert.deepStrictEqual(call.acks(), [])
      Deferred.doneUnsafe(gates[0]!, Exit.void)
      yield* promise(() => call.waitForAck(1))
      assert.deepStrictEqual(call.acks(), [1])
      for (const gate of gates.slice(2, 5)) Deferred.doneUnsafe(gate, Exit.void)
      yield* promise(() => call.waitForAck(4))
      assert.deepStrictEqual(call.acks(), [1, 4])
      call.halfClose()
      yield* Effect.sleep("50 millis")
      assert.strictEqual(call.finalStatus(), undefined, "the call waits for the last request to be durable")
      Deferred.doneUnsafe(gates[5]!, Exit.void)
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      assert.deepStrictEqual(call.acks(), [1, 4, 5])
    }))

  it.live("a durability failure ends the stream with a status naming the offset", () =>
    Effect.gen(function*() {
      const { gates, storage } = yield* gatedStorage
      const local = yield* ZerobusLocal.make(quiet).pipe(Effect.provideService(Storage.Storage, storage))
      const client = yield* rawClient(local)
      const table = uniqueTable("acks")
      const token = yield* tokenFor(local, table)
      const { call } = yield* promise(() => openStream(client, { token, table }))
      call.json(0, "{}")
      call.json(1, "{}")
      yield* waitUntil(() => gates.length === 2, "two appends")
      Deferred.doneUnsafe(gates[0]!, Exit.void)
      Deferred.doneUnsafe(
        gates[1]!,
        Exit.fail(new Storage.StorageError({ reason: new Storage.StorageFailure({ message: "disk full" }) }))
      )
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.INTERNAL)
      assert.match(status.details, /disk full/)
      assert.deepStrictEqual(call.acks(), [0])
    }))

  it.live("discard storage acks without keeping or decoding records", () =>
    Effect.gen(function*() {
      const handle = yield* promise(() => ZerobusLocal.start({ ...quiet, storage: Storage.layerDiscard }))
      const client = new RawClient(handle.endpoint)
      const table = "main.bench.t"
      const token = yield* promise(() => handle.token())
      const { call } = yield* promise(() => openStream(client, { token, table }))
      call.jsonBatch(0, ["{}", "not json", "{}"])
      call.json(1, "{}")
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      assert.deepStrictEqual(call.acks().at(-1), 1)
      assert.deepStrictEqual(yield* promise(() => handle.records(table)), [])
      assert.deepStrictEqual(yield* handle.service.tables, [{ table, records: 4 }])
      client.close()
      yield* promise(() => handle.stop())
    }))
})

describe("stats", () => {
  it.live("counts streams, requests, records and acks; the admin API serves the same", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      const client = yield* rawClient(local)
      const table = "main.stats.events"
      const token = yield* tokenFor(local, table)
      const first = yield* promise(() => openStream(client, { token, table }))
      first.call.json(0, "{\"a\":1}")
      first.call.jsonBatch(1, ["{\"a\":2}", "{\"a\":3}"])
      first.call.halfClose()
      yield* promise(() => first.call.status())
      const second = yield* promise(() => openStream(client, { token, table }))
      second.call.json(0, "{\"a\":4}")
      yield* promise(() => second.call.waitForAck(0))
      const refused = client.open({ table })
      refused.createStream({ table })
      yield* promise(() => refused.status())

      const stats = yield* local.stats
      assert.strictEqual(stats.streamsOpened, 2)
      assert.strictEqual(stats.streamsActive, 1)
      assert.strictEqual(stats.streamsRejected, 1)
      assert.strictEqual(stats.requestsReceived, 3)
      assert.strictEqual(stats.recordsReceived, 4)
      assert.strictEqual(stats.recordsStored, 4)
      assert.strictEqual(stats.acksSent, first.call.acks().length + second.call.acks().length)
      assert.deepStrictEqual(stats.tables[table], {
        streamsOpened: 2,
        requestsReceived: 3,
        recordsReceived: 4,
        recordsStored: 4,
        acksSent: stats.acksSent
      })
      const [s1, s2] = stats.streams
      assert.deepStrictEqual(
        [s1!.streamId, s1!.state, s1!.requests, s1!.records, s1!.maxOffset, s1!.ackedUpTo, s1!.format],
        [first.streamId, "closed", 2, 3, 1, 1, "json"]
      )
      assert.deepStrictEqual(
        [s2!.streamId, s2!.state, s2!.requests, s2!.records, s2!.maxOffset, s2!.ackedUpTo],
        [second.streamId, "open", 1, 1, 0, 0]
      )

      const admin = yield* promise(() => fetch(`${local.workspaceUrl}/admin/stats`).then((r) => r.json()))
      assert.deepStrictEqual(admin, JSON.parse(JSON.stringify(stats)))
      const tables = yield* promise(() => fetch(`${local.workspaceUrl}/admin/tables`).then((r) => r.json()))
      assert.deepStrictEqual(tables, [{ table, records: 4 }])
      const records = yield* promise(() =>
        fetch(`${local.workspaceUrl}/admin/tables/${table}/records`).then((r) => r.json())
      )
      assert.deepStrictEqual(records.map((r: { value: unknown }) => r.value), [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }])
      assert.deepStrictEqual(records[1], {
        table,
        streamId: first.streamId,
        offset: 1,
        index: 0,
        batch: true,
        format: "json",
        value: { a: 2 },
        raw: "{\"a\":2}"
      })
      second.call.halfClose()
      yield* promise(() => second.call.status())
    }).pipe(Effect.provide(ZerobusLocal.layer(quiet))))
})

describe("Promise API", () => {
  it.live("start, inject, records, stats, token, stop (idempotent)", () =>
    Effect.gen(function*() {
      const handle = yield* promise(() => ZerobusLocal.start(quiet))
      assert.match(handle.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/)
      assert.strictEqual(handle.clientId, "zerobus-local")
      assert.deepStrictEqual(handle.workspaceIds, ["127", `localhost:${handle.port}`])
      const client = new RawClient(handle.endpoint)
      const table = uniqueTable("promise")
      yield* promise(() => handle.inject(table, [{ _tag: "FailCreate", code: "UNAVAILABLE" }]))
      const token = yield* promise(() =>
        fetchToken(handle.workspaceUrl, {
          clientId: handle.clientId,
          clientSecret: Redacted.value(handle.clientSecret),
          table,
          workspaceId: handle.workspaceId
        })
      )
      const failed = client.open({ token, table })
      failed.createStream({ table })
      assert.strictEqual((yield* promise(() => failed.status())).code, grpc.status.UNAVAILABLE)
      const { call } = yield* promise(() => openStream(client, { token, table }))
      call.json(0, "{\"x\":1}")
      call.halfClose()
      yield* promise(() => call.status())
      assert.deepStrictEqual((yield* promise(() => handle.records(table))).map((r) => r.value), [{ x: 1 }])
      assert.strictEqual((yield* promise(() => handle.stats())).recordsStored, 1)
      yield* promise(() => handle.clearFaults())
      client.close()
      yield* promise(() => handle.stop())
      yield* promise(() => handle.stop())
      const refused = yield* promise(() =>
        fetch(`${handle.workspaceUrl}/admin/stats`).then(() => "answered", () => "refused")
      )
      assert.strictEqual(refused, "refused")
    }))
})

/** Two free TCP ports on 127.0.0.1. */
const freePorts = promise(() =>
  Promise.all([0, 1].map(() =>
    new Promise<number>((resolve, reject) => {
      const server = Net.createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
  ))
)

describe("restart", () => {
  it.live("a new server starts at once on the same ports mid-ingest; tokens stay valid", () =>
    Effect.gen(function*() {
      const [port, httpPort] = yield* freePorts
      const options = { ...quiet, port: port!, httpPort: httpPort! }
      const first = yield* promise(() => ZerobusLocal.start(options))
      assert.strictEqual(first.port, port)
      assert.strictEqual(first.httpPort, httpPort)
      const client = new RawClient(first.endpoint)
      const table = uniqueTable("restart")
      const token = yield* promise(() => first.token())
      const { call } = yield* promise(() => openStream(client, { token, table }))
      call.json(0, "{}")
      yield* promise(() => call.waitForAck(0))
      call.json(1, "{}")
      yield* promise(() => first.stop())
      const status = yield* promise(() => call.status())
      assert.strictEqual(status.code, grpc.status.UNAVAILABLE)

      const second = yield* promise(() => ZerobusLocal.start(options))
      assert.strictEqual(second.endpoint, first.endpoint)
      assert.strictEqual(second.workspaceUrl, first.workspaceUrl)
      // Same channel, same token: the client reconnects to the new server.
      const again = yield* promise(() => openStream(client, { token, table }))
      again.call.json(0, "{\"after\":true}")
      again.call.halfClose()
      assert.strictEqual((yield* promise(() => again.call.status())).code, grpc.status.OK)
      assert.deepStrictEqual((yield* promise(() => second.records(table))).map((r) => r.value), [{ after: true }])
      client.close()
      yield* promise(() => second.stop())
      // And once more, right after a stop with no client connected.
      const third = yield* promise(() => ZerobusLocal.start(options))
      yield* promise(() => third.stop())
    }))

  it.live("a busy port is reported as ListenFailed", () =>
    Effect.gen(function*() {
      const first = yield* promise(() => ZerobusLocal.start(quiet))
      const error: unknown = yield* promise(() =>
        ZerobusLocal.start({ ...quiet, port: first.port }).then((h) => h.stop().then(() => "started"), (e) => e)
      )
      yield* promise(() => first.stop())
      assert.isTrue(error instanceof Error && "reason" in error)
      assert.match(String(error), /cannot listen on 127\.0\.0\.1:\d+/)
    }))
})

describe("TLS", () => {
  it.live("serves gRPC over TLS with ALPN h2 to clients that trust the certificate", () =>
    Effect.gen(function*() {
      const { certificate, local } = yield* tlsLocal
      assert.match(local.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/)
      const table = uniqueTable("tls")
      const token = yield* tokenFor(local, table)
      const trusted = yield* rawClient(local, { ca: certificate.cert })
      const { call } = yield* promise(() => openStream(trusted, { token, table }))
      call.json(0, "{\"secure\":true}")
      call.halfClose()
      assert.strictEqual((yield* promise(() => call.status())).code, grpc.status.OK)
      assert.deepStrictEqual((yield* local.records(table)).map((r) => r.value), [{ secure: true }])
      // Without the certificate the handshake fails.
      const untrusted = yield* rawClient(local)
      const refused = untrusted.open({ token, table })
      refused.createStream({ table })
      assert.strictEqual((yield* promise(() => refused.status())).code, grpc.status.UNAVAILABLE)
      // A plaintext client cannot talk to it either.
      const plain = new RawClient(local.endpoint.replace("https://", "http://"))
      const plainCall = plain.open({ token, table })
      plainCall.createStream({ table })
      assert.strictEqual((yield* promise(() => plainCall.status())).code, grpc.status.UNAVAILABLE)
      plain.close()
    }))

  it.live("unreadable or invalid certificate files fail with TlsFailed", () =>
    Effect.gen(function*() {
      const missing = yield* ZerobusLocal.make({ ...quiet, tls: { certFile: "/nonexistent.pem", keyFile: "/x.pem" } })
        .pipe(Effect.provide(Storage.layerMemory), Effect.flip)
      assert.strictEqual(missing.reason._tag, "TlsFailed")
      const certificate = selfSignedCertificate()
      const swapped = yield* ZerobusLocal.make({
        ...quiet,
        tls: { certFile: certificate.keyFile, keyFile: certificate.certFile }
      }).pipe(Effect.provide(Storage.layerMemory), Effect.flip)
      certificate.remove()
      assert.strictEqual(swapped.reason._tag, "TlsFailed")
    }))
})

/**
 * The receive windows a plain HTTP/2 client is granted by the server at `endpoint`: the stream
 * window from the server's SETTINGS, the connection window once its WINDOW_UPDATE arrived.
 */
const grantedWindows = (endpoint: string, ca?: Buffer) =>
  Effect.acquireUseRelease(
    Effect.sync(() => Http2.connect(endpoint, ca === undefined ? {} : { ca })),
    (session) =>
      Effect.callback<{ stream: number; connection: number }>((resume) => {
        let stream = 0
        const deadline = Date.now() + 5_000
        const check = () => {
          const connection = session.state.remoteWindowSize ?? 0
          if ((stream === STREAM_WINDOW_BYTES && connection >= CONNECTION_WINDOW_BYTES) || Date.now() > deadline) {
            resume(Effect.succeed({ stream, connection }))
          } else {
            setTimeout(check, 5)
          }
        }
        session.on("error", () => {})
        session.on("remoteSettings", (settings) => {
          stream = settings.initialWindowSize ?? 0
        })
        check()
      }),
    (session) => Effect.sync(() => session.destroy())
  )

describe("HTTP/2 flow control", () => {
  it.live("grants 1 MiB per stream and 8 MiB per connection (grpc-js' server would leave 64 KiB), h2c and TLS", () =>
    Effect.gen(function*() {
      const plain = yield* ZerobusLocal.make(quiet).pipe(Effect.provide(Storage.layerMemory))
      assert.deepStrictEqual(yield* grantedWindows(plain.endpoint), {
        stream: STREAM_WINDOW_BYTES,
        connection: CONNECTION_WINDOW_BYTES
      })
      const { certificate, local: secure } = yield* tlsLocal
      assert.deepStrictEqual(yield* grantedWindows(secure.endpoint, certificate.cert), {
        stream: STREAM_WINDOW_BYTES,
        connection: CONNECTION_WINDOW_BYTES
      })
    }))
})

describe("layers", () => {
  it.live("layerConfig reads options from Config; layerWithStorage takes any storage", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      assert.strictEqual(local.workspaceId, "from-config")
      assert.strictEqual(local.clientId, "zerobus-local")
    }).pipe(
      Effect.provide(
        ZerobusLocal.layerConfig({ workspaceId: Config.succeed("from-config"), logLevel: Config.succeed("None") })
      )
    ))

  it.live("layerWithStorage", () =>
    Effect.gen(function*() {
      const local = yield* ZerobusLocal.ZerobusLocal
      assert.match(local.endpoint, /^http:/)
    }).pipe(Effect.provide(ZerobusLocal.layerWithStorage(quiet).pipe(Layer.provide(Storage.layerDiscard)))))
})
