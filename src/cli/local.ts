/**
 * `zerobus local`: runs Zerobus Local in the foreground, prints how to point clients at it and logs
 * one line per stream event, until SIGINT/SIGTERM. Records go to Delta Lake tables under `./.zerobus`
 * unless `--data`, `--memory` or `--storage` say otherwise; `--table NAME=SPEC` declares tables.
 *
 * @since 0.1.0
 */
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Path from "node:path"
import * as LocalConfig from "../local/LocalConfig.ts"
import { InvalidOptions, ZerobusLocalError } from "../local/LocalError.ts"
import type * as Storage from "../local/Storage.ts"
import * as TableSchema from "../local/TableSchema.ts"
import * as ZerobusLocal from "../local/ZerobusLocal.ts"
import { fail } from "./common.ts"

const decodeDuration = Schema.decodeUnknownSync(Schema.DurationFromString)

const invalidFlags = (message: string) => new ZerobusLocalError({ reason: new InvalidOptions({ message }) })

/** A duration flag: milliseconds, or text such as `5 minutes`. */
const duration = (name: string) =>
  Flag.String(name).pipe(
    Flag.mapTryCatch(
      (text) => /^\d+$/.test(text) ? Duration.millis(Number(text)) : decodeDuration(text),
      () => `--${name} must be milliseconds or a duration such as "5 minutes"`
    ),
    Flag.optional
  )

const flags = {
  host: Flag.String("host").pipe(
    Flag.withDescription("Interface both servers listen on"),
    Flag.withDefault(LocalConfig.defaults.host)
  ),
  port: Flag.Int("port").pipe(
    Flag.withDescription("gRPC port (0: any free port)"),
    Flag.withDefault(LocalConfig.defaults.port)
  ),
  httpPort: Flag.Int("http-port").pipe(
    Flag.withDescription("Workspace HTTP port: OAuth token endpoint and admin API (0: any free port)"),
    Flag.withDefault(LocalConfig.defaults.httpPort)
  ),
  tlsCert: Flag.String("tls-cert").pipe(
    Flag.withDescription("PEM certificate chain: serve gRPC over TLS (with --tls-key)"),
    Flag.optional
  ),
  tlsKey: Flag.String("tls-key").pipe(Flag.withDescription("PEM private key for --tls-cert"), Flag.optional),
  workspaceId: Flag.String("workspace-id").pipe(
    Flag.withDescription("Workspace id accepted in OAuth resource (default: what clients derive from the endpoint)"),
    Flag.optional
  ),
  clientId: Flag.String("client-id").pipe(
    Flag.withDescription("Service principal client id"),
    Flag.withDefault(LocalConfig.defaultClientId)
  ),
  clientSecret: Flag.Redacted("client-secret").pipe(
    Flag.withDescription("Service principal secret (or ZEROBUS_LOCAL_CLIENT_SECRET)"),
    Flag.withFallbackConfig(Config.Redacted("ZEROBUS_LOCAL_CLIENT_SECRET")),
    Flag.optional
  ),
  streamLifetime: duration("stream-lifetime").pipe(
    Flag.withDescription("Rotate streams after this long: CloseStreamSignal, then ABORTED 6002 (default: never)")
  ),
  rotationNotice: duration("rotation-notice").pipe(
    Flag.withDescription("Notice given by the rotation CloseStreamSignal (default 5 seconds)")
  ),
  storage: Flag.Literals("storage", ["delta", "memory", "discard"]).pipe(
    Flag.withDescription(
      "delta (default): Delta Lake tables in --data; memory: keep records in memory; discard: keep nothing (benchmarks)"
    ),
    Flag.withDefault("delta")
  ),
  memory: Flag.Boolean("memory").pipe(
    Flag.withDescription("Keep records in memory instead of Delta tables (same as --storage memory)"),
    Flag.withDefault(false)
  ),
  data: Flag.String("data").pipe(
    Flag.withDescription("Data directory of the Delta tables (default ./.zerobus)"),
    Flag.withDefault(".zerobus")
  ),
  table: Flag.String("table").pipe(
    Flag.withDescription(
      "Declare a table: NAME=\"col TYPE [NOT NULL], ...\", NAME='{...}' (JSON), NAME=schema.json, " +
        "NAME=file.proto[:Message] or NAME=set.binpb:pkg.Message (repeatable)"
    ),
    Flag.atLeast(0)
  ),
  autoCreate: Flag.Boolean("auto-create").pipe(
    Flag.withDescription(
      "Create a missing table from the descriptor of the first protobuf stream that writes it (default: NOT_FOUND, as the service)"
    ),
    Flag.withDefault(false)
  ),
  flushInterval: duration("flush-interval").pipe(
    Flag.withDescription("Commit acknowledged records to the Delta tables at least this often (default 5 seconds)")
  ),
  durability: Flag.Literals("durability", ["fsync", "os"]).pipe(
    Flag.withDescription(
      "fsync: acknowledge after fdatasync (default); os: after write (survives kill -9, not power loss)"
    ),
    Flag.withDefault("fsync")
  )
}

/** Parsed flags of `zerobus local`. */
type LocalFlags = {
  readonly [K in keyof typeof flags]: (typeof flags)[K] extends Flag.Flag<infer A> ? A : never
}

/**
 * Server options from the command line.
 *
 * @since 0.1.0
 * @category options
 */
export const toOptions = (input: LocalFlags): LocalConfig.Options => ({
  host: input.host,
  port: input.port,
  httpPort: input.httpPort,
  ...(Option.isSome(input.tlsCert) || Option.isSome(input.tlsKey)
    ? {
      tls: { certFile: Option.getOrElse(input.tlsCert, () => ""), keyFile: Option.getOrElse(input.tlsKey, () => "") }
    }
    : {}),
  ...(Option.isSome(input.workspaceId) ? { workspaceId: input.workspaceId.value } : {}),
  principals: [{
    clientId: input.clientId,
    clientSecret: Option.getOrElse(input.clientSecret, () => Redacted.make(LocalConfig.defaultClientSecret))
  }],
  ...(Option.isSome(input.streamLifetime) ? { streamLifetime: input.streamLifetime.value } : {}),
  ...(Option.isSome(input.rotationNotice) ? { rotationNotice: input.rotationNotice.value } : {})
})

/**
 * The storage the flags ask for; fails when `--memory` contradicts `--storage`.
 *
 * @since 0.1.0
 * @category options
 */
export const toStorage = (input: LocalFlags): Effect.Effect<ZerobusLocal.StorageOptions, string> => {
  if (input.memory && input.storage === "discard") return Effect.fail("--memory and --storage discard contradict")
  const kind = input.memory ? "memory" : input.storage
  if (kind !== "delta") return Effect.succeed(kind)
  return Effect.succeed({
    dataDir: input.data,
    autoCreateTables: input.autoCreate,
    durability: input.durability,
    ...(Option.isSome(input.flushInterval) ? { flushInterval: input.flushInterval.value } : {})
  })
}

/**
 * The banner: endpoints, credentials, storage, tables and the environment variables to export. The
 * secret is printed only when it is the public development default.
 *
 * @since 0.1.0
 * @category output
 */
export const banner = (
  local: ZerobusLocal.ZerobusLocal["Service"],
  tables: ReadonlyArray<{ readonly table: string; readonly records: number; readonly location: string | undefined }>
): string => {
  const isDefaultSecret = Redacted.value(local.clientSecret) === LocalConfig.defaultClientSecret
  const secret = isDefaultSecret ? LocalConfig.defaultClientSecret : "<the secret you passed>"
  const dataDir = local.storage.dataDir
  const where = dataDir === undefined ? "" : `, data in ${Path.relative(process.cwd(), dataDir) || "."}`
  const lines = [
    `Zerobus Local is running (storage: ${local.storage.kind}${where}).`,
    `  gRPC endpoint:  ${local.endpoint}`,
    `  Workspace URL:  ${local.workspaceUrl}`,
    `  Token endpoint: ${local.tokenUrl}`,
    `  Workspace id:   ${local.workspaceIds.join(", ")}`,
    `  Client id:      ${local.clientId}`,
    `  Client secret:  ${secret}${isDefaultSecret ? " (development default)" : ""}`,
    `  Admin API:      ${local.workspaceUrl}/admin/stats`
  ]
  if (tables.length > 0) {
    lines.push("", "Tables:")
    for (const t of tables) {
      lines.push(`  ${t.table} (${t.records} records)${t.location === undefined ? "" : `: ${t.location}`}`)
    }
  }
  if (local.storage.kind === "delta") {
    const example = tables.find((t) => t.location !== undefined)?.location ??
      Path.join(dataDir ?? ".zerobus", "<catalog>", "<schema>", "<table>")
    lines.push(
      "",
      "Tables are Delta Lake (Parquet + _delta_log), committed every few seconds and at shutdown. With DuckDB:",
      `  select * from delta_scan('${example}');   -- needs DuckDB's delta extension`,
      `  (without it: the SQL of DeltaStorage.duckDbSql, see docs/storage.md)`
    )
  }
  lines.push(
    "",
    "Point a Zerobus client at it:",
    `export ZEROBUS_SERVER_ENDPOINT=${local.endpoint}`,
    `export DATABRICKS_WORKSPACE_URL=${local.workspaceUrl}`,
    `export DATABRICKS_CLIENT_ID=${local.clientId}`,
    `export DATABRICKS_CLIENT_SECRET=${secret}`,
    "export no_grpc_proxy=127.0.0.1,localhost no_proxy=127.0.0.1,localhost",
    "",
    "Press Ctrl+C to stop."
  )
  return lines.join("\n")
}

/** The tables and their locations, for the banner. */
const tableList = (local: ZerobusLocal.ZerobusLocal["Service"]) =>
  local.tables.pipe(
    Effect.flatMap((tables: ReadonlyArray<Storage.TableSummary>) =>
      Effect.forEach(tables, (t) =>
        local.tableLocation(t.table).pipe(
          Effect.map((location) => ({ ...t, location: Option.getOrUndefined(location) }))
        ))
    )
  )

/**
 * The `local` subcommand.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("local", flags, (input) =>
  Effect.gen(function*() {
    const storage = yield* toStorage(input).pipe(Effect.mapError(invalidFlags))
    const tables: Record<string, TableSchema.Declaration> = {}
    for (const flag of input.table) {
      const declared = yield* TableSchema.fromFlag(flag)
      tables[declared.table] = declared.schema
    }
    // Built in the command's scope: the storage must outlive `make` (Delta tables close with it).
    const storageContext = yield* Layer.build(ZerobusLocal.storageLayer(storage))
    const local = yield* ZerobusLocal.make({ ...toOptions(input), tables }).pipe(Effect.provide(storageContext))
    yield* Console.log(banner(local, yield* tableList(local)))
    yield* Effect.addFinalizer(() => Console.log("Zerobus Local stopped."))
    return yield* Effect.never
  }).pipe(
    Effect.scoped,
    // A bad declaration, a busy data directory, a port in use: one line, exit code 1, no stack.
    Effect.catch((error) => fail("local", error.message))
  )).pipe(
    Command.withDescription(
      "Run Zerobus Local: a Zerobus-compatible gRPC server with an OAuth token endpoint, for development and tests"
    )
  )
