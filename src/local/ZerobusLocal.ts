/**
 * Zerobus Local: a Zerobus-compatible server for laptops and CI.
 *
 * It serves the Zerobus gRPC service (`databricks.zerobus.Zerobus/EphemeralStream`) on one port
 * and a workspace HTTP server on another (OAuth token endpoint `{workspaceUrl}/oidc/v1/token`,
 * admin API under `/admin`). Any Zerobus client can point at it: endpoint `http://127.0.0.1:PORT`,
 * workspace URL `http://127.0.0.1:HTTPPORT`, client id `zerobus-local`, secret
 * `zerobus-local-secret` (the development defaults).
 *
 * **Example** (A server for one test)
 *
 * ```ts
 * import { Effect } from "effect"
 * import { ZerobusLocal } from "effect-zerobus/local"
 *
 * const program = Effect.gen(function*() {
 *   const local = yield* ZerobusLocal.ZerobusLocal
 *   yield* local.inject("main.default.events", [{ _tag: "FailStream", afterRequests: 3, code: "UNAVAILABLE" }])
 *   // ... run a client against local.endpoint / local.workspaceUrl ...
 *   const records = yield* local.records("main.default.events")
 * }).pipe(Effect.provide(ZerobusLocal.layer()))
 * ```
 *
 * **Example** (Delta Lake tables on disk, one declared table)
 *
 * ```ts
 * const server = ZerobusLocal.layer({
 *   storage: { dataDir: ".zerobus" },
 *   tables: { "main.default.events": "id BIGINT NOT NULL, message STRING" }
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as References from "effect/References"
import * as Fs from "node:fs/promises"
import type * as Delta from "../internal/delta/DeltaType.ts"
import * as Auth from "./Auth.ts"
import * as DeltaStorage from "./delta/DeltaStorage.ts"
import * as Faults from "./Faults.ts"
import * as GrpcServer from "./GrpcServer.ts"
import * as Session from "./internal/session.ts"
import * as LocalConfig from "./LocalConfig.ts"
import { InvalidOptions, StorageFailed, TlsFailed, ZerobusLocalError } from "./LocalError.ts"
import * as Oidc from "./Oidc.ts"
import * as Stats from "./Stats.ts"
import * as Storage from "./Storage.ts"
import * as TableSchema from "./TableSchema.ts"
import * as Workspace from "./Workspace.ts"

/**
 * Server options (all optional; see `LocalConfig.OptionsSchema` and `docs/local.md`), plus tables
 * to declare before the server accepts streams: `{ "main.default.events": declaration }` (any
 * `TableSchema.Declaration`: a column list, UC columns, a Delta schema, a protobuf descriptor, ...).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends LocalConfig.Options {
  readonly tables?: Readonly<Record<string, TableSchema.Declaration>> | undefined
}

/**
 * Where records go: `"memory"` (default: every record in memory, undeclared tables created on
 * first use), `"discard"` (benchmarks: nothing kept) or Delta Lake tables on disk
 * (`{ dataDir: ".zerobus", autoCreateTables?, flushInterval?, durability?, ... }`, see
 * `DeltaStorage.Options`).
 *
 * @since 0.1.0
 * @category models
 */
export type StorageOptions = "memory" | "discard" | DeltaStorage.Options

/**
 * Options of {@link layer}: server options plus the storage.
 *
 * @since 0.1.0
 * @category models
 */
export interface LayerOptions extends Options {
  readonly storage?: StorageOptions | undefined
}

/**
 * Options of a token minted with {@link ZerobusLocal.token}.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenOptions {
  /** Principal the token names. Default: the first configured principal. */
  readonly clientId?: string | undefined
  /** Grants the token carries. Default: the principal's own grants. */
  readonly grants?: ReadonlyArray<Auth.Grant> | undefined
  /** Lifetime; zero or negative gives an expired token. Default: the server's token TTL. */
  readonly ttl?: Duration.Input | undefined
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category services
 */
export class ZerobusLocal extends Context.Service<ZerobusLocal, {
  /** gRPC endpoint, `http://127.0.0.1:PORT` (`https://` with TLS). */
  readonly endpoint: string
  /** Bound gRPC port. */
  readonly port: number
  /** Workspace (Unity Catalog) URL, `http://127.0.0.1:HTTPPORT`. */
  readonly workspaceUrl: string
  /** Bound workspace HTTP port. */
  readonly httpPort: number
  /** `{workspaceUrl}/oidc/v1/token`. */
  readonly tokenUrl: string
  /** The workspace id (configured, or what official clients derive from `endpoint`). */
  readonly workspaceId: string
  /** Every workspace id accepted in token requests. */
  readonly workspaceIds: ReadonlyArray<string>
  /** The first configured service principal's client id. */
  readonly clientId: string
  /** The first configured service principal's secret. */
  readonly clientSecret: Redacted.Redacted<string>
  /** Appends fault steps to a table's script (see {@link Faults}). */
  readonly inject: (
    table: string,
    steps: ReadonlyArray<Faults.FaultStepInput>
  ) => Effect.Effect<void, Faults.FaultError>
  /** Clears one table's fault script, or all of them. */
  readonly clearFaults: (table?: string | undefined) => Effect.Effect<void>
  /** Fault steps not used yet, per table. */
  readonly pendingFaults: Effect.Effect<Faults.PendingFaults>
  /** Counters. */
  readonly stats: Effect.Effect<Stats.StatsSnapshot>
  /** The storage's kind (`memory`, `discard`, `delta`) and data directory. */
  readonly storage: Storage.StorageInfo
  /** Records stored for a table, in storage order (see `Storage.StoredRecord` for what each backend keeps). */
  readonly records: (table: string) => Effect.Effect<ReadonlyArray<Storage.StoredRecord>, Storage.StorageError>
  /** Known tables and their record counts. */
  readonly tables: Effect.Effect<ReadonlyArray<Storage.TableSummary>, Storage.StorageError>
  /**
   * Declares a table (see `TableSchema.Declaration` for the forms a schema may take). Succeeds with
   * `true` when the table was created, `false` when it already existed with the same schema.
   */
  readonly declareTable: (
    table: string,
    declaration: TableSchema.Declaration
  ) => Effect.Effect<boolean, Storage.StorageError | TableSchema.TableSchemaError>
  /** A table's schema, when known (see `Storage.schema`). */
  readonly schema: (table: string) => Effect.Effect<Option.Option<Delta.StructType>, Storage.StorageError>
  /** The directory of a table's files (Delta storage: the table root, e.g. to read it with DuckDB). */
  readonly tableLocation: (table: string) => Effect.Effect<Option.Option<string>, Storage.StorageError>
  /** Makes every acknowledged record visible in the table files (Delta: commits what the WALs hold). */
  readonly flush: Effect.Effect<void, Storage.StorageError>
  /** Mints a token directly (no HTTP), e.g. an expired one or one without grants. */
  readonly token: (options?: TokenOptions) => Effect.Effect<Redacted.Redacted<string>>
  /**
   * `ZEROBUS_SERVER_ENDPOINT`, `DATABRICKS_WORKSPACE_URL`, `DATABRICKS_CLIENT_ID` and
   * `DATABRICKS_CLIENT_SECRET` for this server. Holds the secret in clear: do not log it.
   */
  readonly environment: () => Readonly<Record<string, string>>
}>()("effect-zerobus/local/ZerobusLocal") {}

const invalidOptions = (message: string) => new ZerobusLocalError({ reason: new InvalidOptions({ message }) })

const readTls = (tls: { readonly certFile: string; readonly keyFile: string }) =>
  Effect.tryPromise({
    try: async () => ({ cert: await Fs.readFile(tls.certFile), key: await Fs.readFile(tls.keyFile) }),
    catch: (error) =>
      new ZerobusLocalError({
        reason: new TlsFailed({ message: `cannot read the TLS certificate or key: ${String(error)}` })
      })
  })

/**
 * Starts a server in the current scope, storing records in the `Storage` service. Closing the
 * scope stops both listeners and closes every connection, so the ports can be reused at once.
 *
 * The server runs on the real clock, whatever clock the caller uses.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fn("ZerobusLocal.make")(function*(options?: Options) {
  const { tables: declarations, ...serverOptions } = options ?? {}
  const config = yield* LocalConfig.resolve(serverOptions).pipe(
    Effect.mapError((error) => invalidOptions(`invalid Zerobus Local options: ${error.message}`))
  )
  const storage = yield* Storage.Storage
  const declareTable = (table: string, declaration: TableSchema.Declaration) =>
    TableSchema.make(declaration).pipe(Effect.flatMap((schema) => storage.declareTable(table, schema)))
  for (const [table, declaration] of Object.entries(declarations ?? {})) {
    yield* declareTable(table, declaration).pipe(
      Effect.mapError((error) => invalidOptions(`cannot declare table ${table}: ${error.message}`))
    )
  }
  const faults = yield* Faults.make
  const stats = yield* Stats.make
  const tls = config.tls === undefined ? undefined : yield* readTls(config.tls)

  // Calls run in their own fibers, on the real clock, interrupted when the server stops.
  const runCall = yield* FiberSet.makeRuntime<never>()
  const ready = yield* Deferred.make<Session.SessionEnv>()
  const liveClock = Clock.Clock.defaultValue()
  const serveCall = (call: Session.Call) => {
    const served = Deferred.await(ready).pipe(
      Effect.flatMap((env) => Session.serve(env, call)),
      Effect.provideService(Clock.Clock, liveClock)
    )
    runCall(
      config.logLevel === undefined
        ? served
        : Effect.provideService(served, References.MinimumLogLevel, config.logLevel)
    )
  }
  const listener = yield* GrpcServer.make({
    host: config.host,
    port: config.port,
    tls,
    maxReceiveBytes: Math.max(2 * config.maxRequestBytes, config.maxRequestBytes + 16 * 1024 * 1024),
    readsRecords: storage.info.readsRecords,
    handle: serveCall
  })
  const workspaceIds = LocalConfig.acceptedWorkspaceIds(config, listener.endpoint, listener.port)
  const authConfig: Auth.AuthConfig = {
    principals: config.principals,
    workspaceIds,
    tokenTtl: config.tokenTtl,
    signingKey: config.tokenSigningKey
  }
  const auth = Auth.make(authConfig)
  yield* Deferred.succeed(ready, {
    auth,
    storage,
    faults,
    stats,
    maxRequestBytes: config.maxRequestBytes,
    streamLifetime: config.streamLifetime,
    rotationNotice: config.rotationNotice,
    dropConnection: listener.dropConnection
  })
  const workspace = yield* Workspace.make({ host: config.host, port: config.httpPort }).pipe(
    Effect.provideService(Auth.Auth, auth),
    Effect.provideService(Faults.Faults, faults),
    Effect.provideService(Stats.Stats, stats),
    Effect.provideService(Storage.Storage, storage)
  )
  const [principal] = config.principals
  const [workspaceId] = workspaceIds
  if (principal === undefined || workspaceId === undefined) {
    return yield* invalidOptions("at least one service principal is required")
  }
  const key = Auth.signingKey(authConfig)

  const token = (tokenOptions?: TokenOptions) =>
    Effect.sync(() => {
      const clientId = tokenOptions?.clientId ?? principal.clientId
      const owner = config.principals.find((p) => p.clientId === clientId)
      const grants = tokenOptions?.grants ?? (owner === undefined ? [] : Auth.principalGrants(owner))
      const now = liveClock.currentTimeMillisUnsafe()
      const ttl = tokenOptions?.ttl === undefined ? config.tokenTtl : Duration.fromInputUnsafe(tokenOptions.ttl)
      return Redacted.make(
        Auth.sign(key, { principal: clientId, grants, issuedAt: now, expiresAt: now + Duration.toMillis(ttl) })
      )
    })

  return ZerobusLocal.of({
    endpoint: listener.endpoint,
    port: listener.port,
    workspaceUrl: workspace.url,
    httpPort: workspace.port,
    tokenUrl: `${workspace.url}${Oidc.tokenPath}`,
    workspaceId,
    workspaceIds,
    clientId: principal.clientId,
    clientSecret: principal.clientSecret,
    inject: faults.inject,
    clearFaults: faults.clear,
    pendingFaults: faults.pending,
    stats: stats.snapshot,
    storage: storage.info,
    records: storage.records,
    tables: storage.tables,
    declareTable,
    schema: storage.schema,
    tableLocation: storage.location,
    flush: storage.flush,
    token,
    environment: () => ({
      ZEROBUS_SERVER_ENDPOINT: listener.endpoint,
      DATABRICKS_WORKSPACE_URL: workspace.url,
      DATABRICKS_CLIENT_ID: principal.clientId,
      DATABRICKS_CLIENT_SECRET: Redacted.value(principal.clientSecret)
    })
  })
})

/**
 * A server that stores records in the `Storage` service you provide (e.g.
 * `Storage.layerDiscard` or a durable backend).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithStorage = (options?: Options): Layer.Layer<ZerobusLocal, ZerobusLocalError, Storage.Storage> =>
  Layer.effect(ZerobusLocal, make(options))

/**
 * The `Storage` layer for {@link StorageOptions}; a Delta data directory that cannot be opened
 * fails with `ZerobusLocalError` (reason `StorageFailed`).
 *
 * @since 0.1.0
 * @category layers
 */
export const storageLayer = (storage?: StorageOptions): Layer.Layer<Storage.Storage, ZerobusLocalError> =>
  storage === undefined || storage === "memory"
    ? Storage.layerMemory
    : storage === "discard"
    ? Storage.layerDiscard
    : Layer.effect(
      Storage.Storage,
      DeltaStorage.make(storage).pipe(
        Effect.map((delta) => delta.storage),
        Effect.mapError((error) =>
          new ZerobusLocalError({
            reason: new StorageFailed({
              message: `cannot open the data directory ${storage.dataDir}: ${error.message}`,
              cause: error
            })
          })
        )
      )
    )

/**
 * A server; storage in memory unless `options.storage` says otherwise (e.g.
 * `{ storage: { dataDir: ".zerobus" } }` for Delta Lake tables on disk).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: LayerOptions): Layer.Layer<ZerobusLocal, ZerobusLocalError> => {
  const { storage, ...serverOptions } = options ?? {}
  return layerWithStorage(serverOptions).pipe(Layer.provide(storageLayer(storage)))
}

/**
 * A server with in-memory storage, its options read from `Config`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Wrap<LocalConfig.Options>
): Layer.Layer<ZerobusLocal, ZerobusLocalError | Config.ConfigError> =>
  Layer.effect(ZerobusLocal, Effect.flatMap(Config.unwrap(options), (resolved) => make(resolved))).pipe(
    Layer.provide(Storage.layerMemory)
  )

/**
 * Options of {@link start}: server options plus the storage to use (default in-memory): a
 * {@link StorageOptions} (`{ dataDir: ".zerobus" }` for Delta tables) or any `Storage` layer.
 *
 * @since 0.1.0
 * @category models
 */
export interface StartOptions extends Options {
  readonly storage?: StorageOptions | Layer.Layer<Storage.Storage> | undefined
}

/**
 * A server started with {@link start}: the service's fields plus Promise methods.
 *
 * @since 0.1.0
 * @category models
 */
export interface Handle {
  readonly endpoint: string
  readonly port: number
  readonly workspaceUrl: string
  readonly httpPort: number
  readonly tokenUrl: string
  /** The first workspace id accepted in token requests. */
  readonly workspaceId: string
  /** Every workspace id accepted in token requests. */
  readonly workspaceIds: ReadonlyArray<string>
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly service: ZerobusLocal["Service"]
  /** The storage's kind and data directory. */
  readonly storage: Storage.StorageInfo
  readonly inject: (table: string, steps: ReadonlyArray<Faults.FaultStepInput>) => Promise<void>
  readonly clearFaults: (table?: string) => Promise<void>
  readonly stats: () => Promise<Stats.StatsSnapshot>
  readonly records: (table: string) => Promise<ReadonlyArray<Storage.StoredRecord>>
  /** Declares a table; resolves with whether it was created (false: it existed with this schema). */
  readonly declareTable: (table: string, declaration: TableSchema.Declaration) => Promise<boolean>
  /** A table's schema, or undefined when unknown. */
  readonly schema: (table: string) => Promise<Delta.StructType | undefined>
  /** The directory of a table's files (Delta storage), or undefined. */
  readonly tableLocation: (table: string) => Promise<string | undefined>
  /** Makes every acknowledged record visible in the table files. */
  readonly flush: () => Promise<void>
  readonly token: (options?: TokenOptions) => Promise<string>
  readonly environment: () => Readonly<Record<string, string>>
  /** Stops the server; idempotent. */
  readonly stop: () => Promise<void>
  readonly [Symbol.asyncDispose]: () => Promise<void>
}

/**
 * Starts a server for non-Effect code; resolves once both ports listen.
 *
 * @since 0.1.0
 * @category promise
 */
export const start = async (options: StartOptions = {}): Promise<Handle> => {
  const { storage, ...serverOptions } = options
  const runtime = ManagedRuntime.make(
    layerWithStorage(serverOptions).pipe(
      Layer.provide(
        storage === undefined || typeof storage === "string" || "dataDir" in storage ? storageLayer(storage) : storage
      )
    )
  )
  let service: ZerobusLocal["Service"]
  try {
    service = await runtime.runPromise(Effect.gen(function*() {
      return yield* ZerobusLocal
    }))
  } catch (error) {
    await runtime.dispose()
    throw error
  }
  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= runtime.dispose())
  return {
    endpoint: service.endpoint,
    port: service.port,
    workspaceUrl: service.workspaceUrl,
    httpPort: service.httpPort,
    tokenUrl: service.tokenUrl,
    workspaceId: service.workspaceId,
    workspaceIds: service.workspaceIds,
    clientId: service.clientId,
    clientSecret: service.clientSecret,
    service,
    storage: service.storage,
    inject: (table, steps) => runtime.runPromise(service.inject(table, steps)),
    clearFaults: (table) => runtime.runPromise(service.clearFaults(table)),
    stats: () => runtime.runPromise(service.stats),
    records: (table) => runtime.runPromise(service.records(table)),
    declareTable: (table, declaration) => runtime.runPromise(service.declareTable(table, declaration)),
    schema: (table) => runtime.runPromise(Effect.map(service.schema(table), Option.getOrUndefined)),
    tableLocation: (table) => runtime.runPromise(Effect.map(service.tableLocation(table), Option.getOrUndefined)),
    flush: () => runtime.runPromise(service.flush),
    token: (tokenOptions) => runtime.runPromise(Effect.map(service.token(tokenOptions), Redacted.value)),
    environment: service.environment,
    stop,
    [Symbol.asyncDispose]: stop
  }
}
