/**
 * The main job (`npm run demo`): starts Zerobus Local in this process on ephemeral ports, with a
 * Delta table declared in `./.zerobus-demo`, authenticates through its OIDC endpoint like a
 * production client, and streams 1,000,000 JSON records through a stream's sink with a live
 * progress line. Ends with records/s, ack latency p50/p99, the number of records the server stored
 * (which must equal the number sent), the table's directory and the DuckDB SQL that reads it.
 *
 * Options: `--records N` (default 1,000,000), `--data DIR` (default `.zerobus-demo`).
 */
import { Effect, Fiber, Layer, Metric, Stream } from "effect"
import { Table, Zerobus, ZerobusMetrics } from "effect-zerobus"
import { DeltaStorage, ZerobusLocal } from "effect-zerobus/local"
import * as Option from "effect/Option"

const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i === -1 ? undefined : process.argv[i + 1]
}
const total = Number(flag("--records") ?? 1_000_000)
const dataDir = flag("--data") ?? ".zerobus-demo"
const tableName = "main.demo.sensor_readings"
const interactive = process.stdout.isTTY === true

const reading = (i: number) => ({
  id: i,
  device: `sensor-${i % 1_000}`,
  recorded_at: new Date(1_790_000_000_000 + i * 10).toISOString(),
  temperature: 20 + (i % 150) / 10,
  humidity: 40 + (i % 300) / 10,
  status: i % 97 === 0 ? "warning" : "ok",
  note: "reading from the demo of effect-zerobus"
})

const acked = Metric.withAttributes(ZerobusMetrics.recordsAcked, { table: tableName })
const latency = Metric.withAttributes(ZerobusMetrics.ackLatency, { table: tableName })

const line = (text: string) =>
  Effect.sync(() => {
    if (interactive) process.stdout.write(`\r${text.padEnd(100)}`)
    else process.stdout.write(`${text}\n`)
  })

const program = Effect.gen(function*() {
  const local = yield* ZerobusLocal.ZerobusLocal
  yield* Effect.sync(() => {
    process.stdout.write(`Zerobus Local: gRPC ${local.endpoint}, workspace ${local.workspaceUrl}\n`)
    process.stdout.write(`Streaming ${total.toLocaleString("en-US")} JSON records into ${tableName}\n`)
  })
  const stream = yield* Zerobus.createStream(Table.json(tableName), { maxInflightRequests: 100_000 })

  let sent = 0
  const started = Date.now()
  const progress = Effect.gen(function*() {
    const ackedNow = (yield* Metric.value(acked)).count
    const seconds = (Date.now() - started) / 1000
    yield* line(
      `sent ${sent.toLocaleString("en-US")}  acked ${ackedNow.toLocaleString("en-US")}  ${
        Math.round(ackedNow / Math.max(seconds, 0.001)).toLocaleString("en-US")
      } records/s`
    )
  })
  const reporter = yield* progress.pipe(
    Effect.andThen(Effect.sleep(interactive ? "200 millis" : "1 second")),
    Effect.forever,
    Effect.forkChild
  )

  yield* Stream.range(0, total - 1).pipe(
    Stream.map((i) => {
      sent++
      return reading(i)
    }),
    Stream.run(stream.sink)
  )
  const seconds = (Date.now() - started) / 1000
  yield* Fiber.interrupt(reporter).pipe(Effect.andThen(progress))
  yield* stream.close

  const quantiles = (yield* Metric.value(latency)).quantiles
  const quantile = (q: number) => quantiles.find(([k]) => k === q)?.[1]?.toFixed(1) ?? "n/a"
  const stored = (yield* local.stats).tables[tableName]?.recordsStored ?? 0
  yield* local.flush
  const location = Option.getOrUndefined(yield* local.tableLocation(tableName))
  yield* Effect.sync(() => {
    if (interactive) process.stdout.write("\n")
    process.stdout.write(
      [
        `records sent:    ${sent.toLocaleString("en-US")}`,
        `records stored:  ${stored.toLocaleString("en-US")} (server count)`,
        `throughput:      ${Math.round(sent / seconds).toLocaleString("en-US")} records/s over ${seconds.toFixed(2)} s`,
        `ack latency:     p50 ${quantile(0.5)} ms, p99 ${quantile(0.99)} ms (send to durable ack, per message)`,
        `Delta table:     ${location ?? "(not on disk)"}`
      ].join("\n") + "\n"
    )
    if (location !== undefined) {
      process.stdout.write(`\nRead it with DuckDB (duckdb -c "..."):\n${DeltaStorage.duckDbSql(location)}\n`)
    }
  })
  if (stored !== sent) return yield* Effect.die(new Error(`the server stored ${stored} records, ${sent} were sent`))
})

const ZerobusClient = Layer.unwrap(Effect.gen(function*() {
  const local = yield* ZerobusLocal.ZerobusLocal
  return Zerobus.layer({
    endpoint: local.endpoint,
    unityCatalogUrl: local.workspaceUrl,
    clientId: local.clientId,
    clientSecret: local.clientSecret
  })
}))

const main = program.pipe(
  Effect.scoped,
  Effect.provide(ZerobusClient.pipe(Layer.provideMerge(ZerobusLocal.layer({
    logLevel: "Warn",
    storage: { dataDir },
    tables: {
      [tableName]: "id BIGINT NOT NULL, device STRING NOT NULL, recorded_at TIMESTAMP NOT NULL, " +
        "temperature DOUBLE, humidity DOUBLE, status STRING, note STRING"
    }
  }))))
)

Effect.runPromise(main).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  }
)
