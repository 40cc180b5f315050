/**
 * The data directory of Zerobus Local: one Delta table per three-part name at
 * `<dataDir>/<catalog>/<schema>/<table>/`, guarded by a `LOCK` file so that one server owns the
 * directory. Tables are opened on first use and stay open until the store closes.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Semaphore from "effect/Semaphore"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import type * as Delta from "../../internal/delta/DeltaType.ts"
import * as ProtoSchema from "../../internal/delta/ProtoSchema.ts"
import * as Storage from "../Storage.ts"
import { conflict, type DeltaError, invalidArgument, io, notFound } from "./DeltaError.ts"
import * as DeltaLog from "./DeltaLog.ts"
import * as DeltaTable from "./DeltaTable.ts"
import * as Fs from "./Fs.ts"

/** Options of the store: the data directory plus the knobs every table writer gets. */
export interface StoreOptions extends Omit<DeltaTable.TableOptions, "dir"> {
  /** The data directory (created if missing), e.g. `./.zerobus`. */
  readonly dataDir: string
}

/** The Delta storage of a data directory. */
export class DeltaStore extends Context.Service<DeltaStore, {
  /** The data directory. */
  readonly dataDir: string
  /** Where the table of a three-part name lives (after validating the name). */
  readonly tableDir: (name: string) => Effect.Effect<string, DeltaError>
  /** Creates a table (commit 0). `AlreadyExists` when it exists. */
  readonly createTable: (name: string, schema: Delta.StructType) => Effect.Effect<void, DeltaError>
  /** Creates a table unless one exists (whatever its schema); succeeds with whether it created one. */
  readonly ensureTable: (name: string, schema: Delta.StructType) => Effect.Effect<boolean, DeltaError>
  /**
   * Creates a table from a protobuf stream's `descriptor_proto` (see `ProtoSchema.schemaFromDescriptor`)
   * unless it exists; succeeds with whether it created one.
   */
  readonly ensureTableFromDescriptor: (name: string, descriptor: Uint8Array) => Effect.Effect<boolean, DeltaError>
  /** The open writer of a table, opening (and recovering) it on first use. `NotFound` when it does not exist. */
  readonly table: (name: string) => Effect.Effect<DeltaTable.DeltaTable, DeltaError>
  /** The three-part names of the tables in the data directory. */
  readonly tables: Effect.Effect<ReadonlyArray<string>, DeltaError>
  /** Materializes every open table. */
  readonly flushAll: Effect.Effect<void, DeltaError>
}>()("effect-zerobus/local/DeltaStore") {}

const keyOf = (name: string): string => name.toLowerCase()

const LockContent = Schema.fromJsonString(Schema.Struct({ pid: Schema.Int }))
const lockHolder = (text: string): number | undefined =>
  Option.getOrUndefined(Schema.decodeUnknownOption(LockContent)(text))?.pid

/** Splits and checks `catalog.schema.table` (as `Storage.isDeclarableName`); names are lower-cased. */
const parseTableName = (name: string): Effect.Effect<readonly [string, string, string], DeltaError> => {
  if (!Storage.isDeclarableName(name)) return Effect.fail(invalidArgument(Storage.invalidNameMessage(name)))
  const [catalog = "", schema = "", table = ""] = keyOf(name).split(".")
  return Effect.succeed([catalog, schema, table] as const)
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return Fs.hasCode(e, "EPERM")
  }
}

/** Data directories locked by this process (a LOCK with our own pid may be a previous incarnation's). */
const heldHere = new Set<string>()

/**
 * Takes `<dataDir>/LOCK` (O_EXCL) holding `{pid, startedAt}`, replacing a lock whose process no
 * longer runs (or that has our pid but was not taken by this process: a restart that got the same pid).
 */
const acquireLock = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const file = path.join(dataDir, "LOCK")
        const content = JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            await fsp.writeFile(file, content, { flag: "wx" })
            return { file, taken: true as const }
          } catch (e) {
            if (!Fs.hasCode(e, "EEXIST")) throw e
            const holder = await fsp.readFile(file, "utf8").then(lockHolder, () => undefined)
            const ours = holder === process.pid
            if (holder !== undefined && (ours ? heldHere.has(dataDir) : pidAlive(holder))) {
              return { file, taken: false as const, holder }
            }
            await fsp.rm(file, { force: true }) // stale: its process is gone
          }
        }
        throw new Error("could not take the lock")
      },
      catch: (e) => io("lock", dataDir, e)
    }).pipe(
      Effect.flatMap((lock) =>
        lock.taken
          ? Effect.sync(() => {
            heldHere.add(dataDir)
            return lock.file
          })
          : Effect.fail(conflict(`data directory ${dataDir} is in use by process ${lock.holder}`))
      )
    ),
    (file) =>
      Effect.sync(() => {
        heldHere.delete(dataDir)
        fs.rmSync(file, { force: true })
      })
  )

/** Builds the store; tables opened through it close (materializing what is durable) with the Scope. */
export const make = Effect.fnUntraced(function*(options: StoreOptions) {
  const dataDir = path.resolve(options.dataDir)
  yield* Fs.mkdirp(dataDir)
  yield* acquireLock(dataDir)
  const scope = yield* Effect.scope
  const lock = yield* Semaphore.make(1)
  const open = new Map<string, DeltaTable.DeltaTable>()
  const { dataDir: _, ...tableOptions } = options

  const tableDir = (name: string) => parseTableName(name).pipe(Effect.map((parts) => path.join(dataDir, ...parts)))

  const createTable = Effect.fn("DeltaStore.createTable")(function*(name: string, schema: Delta.StructType) {
    const dir = yield* tableDir(name)
    yield* DeltaTable.create({ dir, name: keyOf(name), schema })
  })

  const table = (name: string): Effect.Effect<DeltaTable.DeltaTable, DeltaError> =>
    Effect.suspend(() => {
      const cached = open.get(keyOf(name))
      if (cached !== undefined) return Effect.succeed(cached)
      return lock.withPermits(1)(Effect.gen(function*() {
        const again = open.get(keyOf(name))
        if (again !== undefined) return again
        const dir = yield* tableDir(name)
        const opened = yield* DeltaTable.open({ ...tableOptions, dir }).pipe(
          Effect.catchReason("DeltaError", "NotFound", () => Effect.fail(notFound(`table ${name} does not exist`))),
          Scope.provide(scope)
        )
        open.set(keyOf(name), opened)
        return opened
      }))
    })

  const ensureTable = Effect.fn("DeltaStore.ensureTable")(function*(name: string, schema: Delta.StructType) {
    const dir = yield* tableDir(name)
    const existing = yield* DeltaLog.listLog(dir)
    if (existing.commits.length > 0) return false
    return yield* DeltaTable.create({ dir, name: keyOf(name), schema }).pipe(
      Effect.as(true),
      Effect.catchReason("DeltaError", "AlreadyExists", () => Effect.succeed(false))
    )
  })

  const ensureTableFromDescriptor = Effect.fn("DeltaStore.ensureTableFromDescriptor")(
    function*(name: string, descriptor: Uint8Array) {
      const schema = yield* ProtoSchema.resolveDescriptor(descriptor).pipe(
        Effect.flatMap(ProtoSchema.schemaFromDescriptor),
        Effect.mapError((e) => invalidArgument(`cannot create ${name} from the stream's descriptor: ${e.message}`))
      )
      return yield* ensureTable(name, schema)
    }
  )

  const tables = Effect.gen(function*() {
    const names: Array<string> = []
    for (const catalog of yield* Fs.readdirDirs(dataDir)) {
      if (!Storage.isNamePart(catalog)) continue
      for (const schema of yield* Fs.readdirDirs(path.join(dataDir, catalog))) {
        if (!Storage.isNamePart(schema)) continue
        for (const t of yield* Fs.readdirDirs(path.join(dataDir, catalog, schema))) {
          if (!Storage.isNamePart(t)) continue
          const log = yield* DeltaLog.listLog(path.join(dataDir, catalog, schema, t))
          if (log.commits.length > 0) names.push(`${catalog}.${schema}.${t}`)
        }
      }
    }
    return names.toSorted()
  })

  const flushAll = Effect.suspend(() => Effect.forEach([...open.values()], (t) => t.flush, { discard: true }))

  return DeltaStore.of({
    dataDir,
    tableDir,
    createTable,
    ensureTable,
    ensureTableFromDescriptor,
    table,
    tables,
    flushAll
  })
})

/** The store as a layer. */
export const layer = (options: StoreOptions): Layer.Layer<DeltaStore, DeltaError> =>
  Layer.effect(DeltaStore, make(options))
