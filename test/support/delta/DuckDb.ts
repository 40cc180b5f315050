/**
 * Independent verification of Delta tables with DuckDB (`@duckdb/node-api`), which has no Delta
 * reader offline: the log is replayed in SQL (newest add/remove per path over the JSON commits,
 * local-delta.md §2 / A.2), and the live Parquet files it names are read with `read_parquet`.
 * Nothing here uses the writer's code.
 *
 * `conformance` checks a table against the writer checklist of local-delta.md §3.8.
 */
import { DuckDBInstance } from "@duckdb/node-api"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"

/** A row as DuckDB renders it losslessly as JSON (BIGINT and DECIMAL as strings, MAP as key/value list, ...). */
export type JsonRow = Record<string, unknown>

const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`

/** Runs queries on a fresh in-memory DuckDB; `use` gets a function returning rows as lossless JSON. */
export const withDuckDb = <A>(
  use: (
    query: (sql: string) => Promise<{ rows: Array<JsonRow>; columns: Array<{ name: string; type: string }> }>
  ) => Promise<A>
): Effect.Effect<A, Error> =>
  Effect.tryPromise({
    try: async () => {
      const instance = await DuckDBInstance.create(":memory:")
      const connection = await instance.connect()
      try {
        return await use(async (sql) => {
          const reader = await connection.runAndReadAll(sql)
          const names = reader.columnNames()
          const types = reader.columnTypes().map(String)
          return {
            rows: reader.getRowObjectsJson(),
            columns: names.map((name, i) => ({ name, type: types[i]! }))
          }
        })
      } finally {
        connection.closeSync()
        instance.closeSync()
      }
    },
    catch: (e) => (e instanceof Error ? e : new Error(String(e)))
  })

/** Table `actions`: every line of the JSON commits, with its version and line number. */
const actionsSql = (tableDir: string): string =>
  `create or replace temp table actions as
     select cast(regexp_extract(filename, '(\\d{20})\\.json$', 1) as bigint) as version,
            row_number() over (partition by filename) as line, json
     from read_ndjson_objects(${quote(path.join(tableDir, "_delta_log", "*.json"))}, filename = true)`

/** Table `live`: the files `actions` leaves in the table (up to version `upTo`). */
const liveSql = (upTo?: number): string =>
  `create or replace temp table live as
     with f as (
       select version, line,
              coalesce((json->>'$.add.path'), (json->>'$.remove.path')) as path,
              (json->'$.add') is not null as is_add,
              (json->>'$.add.size')::bigint as size,
              (json->>'$.add.stats') as stats
       from actions
       where ((json->'$.add') is not null or (json->'$.remove') is not null)
         ${upTo === undefined ? "" : `and version <= ${upTo}`}
     ),
     l as (select *, row_number() over (partition by path order by version desc, line desc) as rn from f)
     select path, size, (stats::json->>'numRecords')::bigint as num_records from l where rn = 1 and is_add
     order by path`

/** A table read through the SQL log replay. */
export interface DeltaRead {
  readonly version: number
  readonly files: ReadonlyArray<{ readonly path: string; readonly size: number; readonly numRecords: number | null }>
  readonly columns: ReadonlyArray<{ readonly name: string; readonly type: string }>
  readonly rows: ReadonlyArray<JsonRow>
}

/**
 * Replays `_delta_log` in SQL and reads the live Parquet files. `select`/`orderBy` shape the final
 * query over the files (default: every column, no order).
 */
export const readDelta = (
  tableDir: string,
  options: { readonly select?: string | undefined; readonly orderBy?: string | undefined } = {}
): Effect.Effect<DeltaRead, Error> =>
  withDuckDb(async (query) => {
    await query(actionsSql(tableDir))
    await query(liveSql())
    const version = Number((await query("select max(version) as v from actions")).rows[0]?.["v"] ?? -1)
    const files = (await query("select path, size, num_records from live")).rows.map((r) => ({
      path: String(r["path"]),
      size: Number(r["size"]),
      numRecords: r["num_records"] === null ? null : Number(r["num_records"])
    }))
    if (files.length === 0) return { version, files, columns: [], rows: [] }
    const list = `[${files.map((f) => quote(path.join(tableDir, f.path))).join(", ")}]`
    const result = await query(
      `select ${options.select ?? "*"} from read_parquet(${list})${
        options.orderBy === undefined ? "" : ` order by ${options.orderBy}`
      }`
    )
    return { version, files, columns: result.columns, rows: result.rows }
  })

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** Physical Parquet type expected per top-level Delta primitive (local-delta.md §3.5). */
const PHYSICAL: Record<string, string> = {
  string: "BYTE_ARRAY",
  long: "INT64",
  integer: "INT32",
  short: "INT32",
  byte: "INT32",
  float: "FLOAT",
  double: "DOUBLE",
  boolean: "BOOLEAN",
  binary: "BYTE_ARRAY",
  date: "INT32",
  timestamp: "INT64"
}
/** The Delta primitive types the writer may declare. */
const PRIMITIVES = new Set(Object.keys(PHYSICAL))

const SchemaField = Schema.Struct({ name: Schema.String, type: Schema.Unknown, nullable: Schema.Boolean })
type SchemaField = typeof SchemaField.Type
const isArrayType = Schema.is(Schema.Struct({ type: Schema.Literal("array"), elementType: Schema.Unknown }))
const isMapType = Schema.is(
  Schema.Struct({ type: Schema.Literal("map"), keyType: Schema.Unknown, valueType: Schema.Unknown })
)
const isStructType = Schema.is(Schema.Struct({ type: Schema.Literal("struct"), fields: Schema.Array(SchemaField) }))
/** JSON whose scalars stay as their source text (so 64-bit integers and decimals keep every digit). */
type RawJson = string | ReadonlyMap<string, RawJson> | ReadonlyArray<RawJson>

const parseRaw = (text: string): RawJson => {
  let at = 0
  const space = () => {
    while (/\s/.test(text[at] ?? "")) at++
  }
  const value = (): RawJson => {
    space()
    const ch = text[at]
    if (ch === "{") {
      at++
      const out = new Map<string, RawJson>()
      space()
      if (text[at] === "}") return at++, out
      for (;;) {
        space()
        const key = JSON.parse(String(value()))
        space()
        at++ // ':'
        out.set(key, value())
        space()
        if (text[at++] === "}") return out
      }
    }
    if (ch === "[") {
      at++
      const out: Array<RawJson> = []
      space()
      if (text[at] === "]") return at++, out
      for (;;) {
        out.push(value())
        space()
        if (text[at++] === "]") return out
      }
    }
    const start = at
    if (ch === "\"") {
      at++
      while (text[at] !== "\"") at += text[at] === "\\" ? 2 : 1
      at++
    } else {
      while (at < text.length && !/[,}\]\s]/.test(text[at]!)) at++
    }
    return text.slice(start, at)
  }
  return value()
}

/** A bound's value: string bounds unquoted, numbers as their exact source text. */
const boundText = (raw: string | undefined): unknown =>
  raw === undefined ? undefined : raw.startsWith("\"") ? JSON.parse(raw) : raw

const rawField = (json: RawJson, section: string, name: string): string | undefined => {
  const inner = json instanceof Map ? json.get(section) : undefined
  const value = inner instanceof Map ? inner.get(name) : undefined
  return typeof value === "string" ? value : undefined
}
const LastCheckpointJson = Schema.fromJsonString(Schema.Struct({ version: Schema.Number }))

const checkType = (type: unknown, where: string, problems: Array<string>): void => {
  if (typeof type === "string") {
    if (!PRIMITIVES.has(type) && !/^decimal\(\d+,\d+\)$/.test(type)) problems.push(`${where}: unsupported type ${type}`)
    return
  }
  if (isArrayType(type)) return checkType(type.elementType, `${where}[]`, problems)
  if (isMapType(type)) {
    checkType(type.keyType, `${where}.key`, problems)
    return checkType(type.valueType, `${where}.value`, problems)
  }
  if (isStructType(type)) {
    const seen = new Set<string>()
    for (const f of type.fields) {
      const key = f.name.toLowerCase()
      if (seen.has(key)) problems.push(`${where}: duplicate field name ${f.name}`)
      seen.add(key)
      checkType(f.type, where === "" ? f.name : `${where}.${f.name}`, problems)
    }
    return
  }
  problems.push(`${where}: malformed type`)
}

/**
 * Checks a table against local-delta.md §3.8 (items 1–7) and returns the problems found (none
 * for a conforming table).
 */
export const conformance = (tableDir: string): Effect.Effect<ReadonlyArray<string>, Error> =>
  withDuckDb(async (query) => {
    const problems: Array<string> = []
    const logDir = path.join(tableDir, "_delta_log")
    await query(actionsSql(tableDir))
    await query(liveSql())

    // 5. contiguous versions from 0
    const versions = (await query("select distinct version from actions order by version")).rows.map((r) =>
      Number(r["version"])
    )
    versions.forEach((v, i) => {
      if (v !== i) problems.push(`versions not contiguous from 0: ${versions.join(",")}`)
    })
    // 1. protocol + metaData in commit 0, at most one of each per commit, GUID id
    const perCommit = (await query(
      `select version, count(*) filter (where (json->'$.protocol') is not null) as protocols,
              count(*) filter (where (json->'$.metaData') is not null) as metas
       from actions group by version order by version`
    )).rows
    for (const r of perCommit) {
      if (Number(r["protocols"]) > 1 || Number(r["metas"]) > 1) {
        problems.push(`commit ${r["version"]} has several protocol/metaData actions`)
      }
      if (Number(r["version"]) === 0 && (Number(r["protocols"]) !== 1 || Number(r["metas"]) !== 1)) {
        problems.push("commit 0 lacks protocol or metaData")
      }
    }
    const meta = (await query(
      `select (json->>'$.metaData.id') as id, (json->>'$.metaData.schemaString') as schema,
              (json->'$.metaData.partitionColumns')::varchar as partitions
       from actions where (json->'$.metaData') is not null order by version desc limit 1`
    )).rows[0]
    const protocol = (await query(
      `select (json->>'$.protocol.minReaderVersion')::int as r, (json->>'$.protocol.minWriterVersion')::int as w
       from actions where (json->'$.protocol') is not null order by version desc limit 1`
    )).rows[0]
    if (meta === undefined || protocol === undefined) return [...problems, "no metaData or protocol"]
    if (!GUID.test(String(meta["id"]))) problems.push(`metaData.id is not a GUID: ${meta["id"]}`)
    if (protocol["r"] !== 1 || protocol["w"] !== 2) problems.push("protocol is not (1, 2)")
    // 2. schemaString
    let schemaFields: ReadonlyArray<SchemaField> = []
    try {
      const parsed: unknown = JSON.parse(String(meta["schema"]))
      checkType(parsed, "", problems)
      if (isStructType(parsed)) schemaFields = parsed.fields
    } catch (e) {
      problems.push(`schemaString does not parse: ${String(e)}`)
    }
    // 3. unique, never rewritten paths; size; numRecords; partitionValues
    const dupes = (await query(
      `select (json->>'$.add.path') as path, count(*) as n from actions where (json->'$.add') is not null
       group by 1 having count(*) > 1`
    )).rows
    for (const d of dupes) problems.push(`add.path ${d["path"]} written ${d["n"]} times`)
    const badPartitions = (await query(
      `select count(*) as n from actions
       where (json->'$.add') is not null and (json->'$.add.partitionValues')::varchar <> '{}'`
    )).rows[0]
    if (Number(badPartitions?.["n"]) > 0) problems.push("add.partitionValues is not {}")
    const files = (await query("select path, size, num_records from live")).rows
    for (const f of files) {
      const file = path.join(tableDir, String(f["path"]))
      if (!fs.existsSync(file)) {
        problems.push(`${f["path"]} is missing`)
        continue
      }
      if (fs.statSync(file).size !== Number(f["size"])) problems.push(`${f["path"]}: size differs from add.size`)
      const count = (await query(`select count(*) as n from read_parquet(${quote(file)})`)).rows[0]?.["n"]
      if (Number(count) !== Number(f["num_records"])) {
        problems.push(`${f["path"]}: numRecords ${f["num_records"]} != ${count}`)
      }
      // 4. columns, physical types, NOT NULL
      const all = (await query(`select name, type, num_children from parquet_schema(${quote(file)})`)).rows
      const topLevel = new Map<string, JsonRow>()
      {
        // top-level columns are the children of the root, in order; walk num_children
        let i = 1
        const skip = (): void => {
          const n = Number(all[i]?.["num_children"] ?? 0)
          i++
          for (let c = 0; c < n; c++) skip()
        }
        while (i < all.length) {
          topLevel.set(String(all[i]!["name"]), all[i]!)
          skip()
        }
      }
      const names = schemaFields.map((s) => s.name)
      for (const name of topLevel.keys()) if (!names.includes(name)) problems.push(`${f["path"]}: extra column ${name}`)
      for (const field of schemaFields) {
        const column = topLevel.get(field.name)
        if (column === undefined) {
          problems.push(`${f["path"]}: column ${field.name} missing`)
          continue
        }
        if (
          typeof field.type === "string" && PHYSICAL[field.type] !== undefined &&
          column["type"] !== PHYSICAL[field.type]
        ) {
          problems.push(`${f["path"]}: ${field.name} is ${column["type"]}, expected ${PHYSICAL[field.type]}`)
        }
        if (!field.nullable) {
          const nulls = (await query(
            `select count(*) as n from read_parquet(${quote(file)}) where "${field.name}" is null`
          )).rows[0]?.["n"]
          if (Number(nulls) > 0) problems.push(`${f["path"]}: NOT NULL column ${field.name} has nulls`)
        }
      }
      // 6. timestamp max not below the true max; string bounds at most 32 characters
      const stats = (await query(
        `select (json->>'$.add.stats') as stats from actions where (json->>'$.add.path') = ${quote(String(f["path"]))}`
      )).rows[0]?.["stats"]
      if (typeof stats === "string") {
        const raw = parseRaw(stats)
        for (const field of schemaFields) {
          const rawMin = rawField(raw, "minValues", field.name)
          const rawMax = rawField(raw, "maxValues", field.name)
          const min: unknown = boundText(rawMin)
          const max: unknown = boundText(rawMax)
          if (field.type === "timestamp" && typeof max === "string") {
            const trueMax = (await query(
              `select epoch_us(max("${field.name}")) as m from read_parquet(${quote(file)})`
            )).rows[0]?.["m"]
            if (BigInt(Date.parse(max)) * 1000n < BigInt(String(trueMax))) {
              problems.push(`${f["path"]}: timestamp max ${max} is below the true max`)
            }
          }
          if (field.type === "string") {
            for (const bound of [min, max]) {
              if (typeof bound === "string" && bound.length > 32) problems.push(`${f["path"]}: string bound > 32 chars`)
            }
          }
          // exact bounds for integral, floating, date, string and decimal columns: DuckDB's min/max
          const exact = ["long", "integer", "short", "byte", "double", "float", "date", "string"].includes(
            String(field.type)
          ) || String(field.type).startsWith("decimal(")
          if (exact && min !== undefined && max !== undefined) {
            const truth = (await query(
              `select min("${field.name}")::varchar as lo, max("${field.name}")::varchar as hi
               from read_parquet(${quote(file)})`
            )).rows[0]
            const same = (bound: unknown, actual: unknown) =>
              typeof field.type === "string" && /double|float/.test(field.type)
                ? Number(bound) === Number(actual)
                : String(bound) === String(actual)
            if (!same(min, truth?.["lo"]) || !same(max, truth?.["hi"])) {
              problems.push(
                `${f["path"]}: stats of ${field.name} [${min}, ${max}] differ from [${truth?.["lo"]}, ${truth?.["hi"]}]`
              )
            }
          }
        }
      }
    }
    // 7. checkpoint equals the JSON replay at its version; _last_checkpoint points at one
    const lastFile = path.join(logDir, "_last_checkpoint")
    if (fs.existsSync(lastFile)) {
      const last = Schema.decodeUnknownSync(LastCheckpointJson)(fs.readFileSync(lastFile, "utf8"))
      const checkpoint = path.join(logDir, `${String(last.version).padStart(20, "0")}.checkpoint.parquet`)
      if (!fs.existsSync(checkpoint)) problems.push(`_last_checkpoint points at missing version ${last.version}`)
    }
    for (const name of fs.readdirSync(logDir).filter((n) => /^\d{20}\.checkpoint\.parquet$/.test(n))) {
      problems.push(...(await compareCheckpoint(query, tableDir, Number(name.slice(0, 20)))))
    }
    return problems
  })

/**
 * Compares the checkpoint at `version` with the SQL replay of the JSON commits up to it (reads the
 * `actions` table; rebuilds `live` for that version).
 */
const compareCheckpoint = async (
  query: (sql: string) => Promise<{ rows: Array<JsonRow> }>,
  tableDir: string,
  version: number
): Promise<Array<string>> => {
  const problems: Array<string> = []
  const file = path.join(tableDir, "_delta_log", `${String(version).padStart(20, "0")}.checkpoint.parquet`)
  await query(liveSql(version))
  const replayed = (await query("select path, size from live order by path")).rows
  const fromCheckpoint = (await query(
    `select add.path as path, add.size as size from read_parquet(${quote(file)}) where add is not null order by path`
  )).rows
  if (JSON.stringify(replayed) !== JSON.stringify(fromCheckpoint)) {
    problems.push(`checkpoint ${version}: files differ from the JSON replay`)
  }
  const txnReplay = (await query(
    `select (json->>'$.txn.appId') as app, max((json->>'$.txn.version')::bigint) as v from actions
     where (json->'$.txn') is not null and version <= ${version} group by 1 order by 1`
  )).rows
  const txnCheckpoint = (await query(
    `select txn.appId as app, txn.version as v from read_parquet(${quote(file)}) where txn is not null order by 1`
  )).rows
  if (JSON.stringify(txnReplay) !== JSON.stringify(txnCheckpoint)) {
    problems.push(`checkpoint ${version}: txn differs from the JSON replay`)
  }
  const metaReplay = (await query(
    `select (json->>'$.metaData.id') as id, (json->>'$.metaData.schemaString') as schema from actions
     where (json->'$.metaData') is not null and version <= ${version} order by version desc limit 1`
  )).rows
  const metaCheckpoint = (await query(
    `select metaData.id as id, metaData.schemaString as schema from read_parquet(${quote(file)})
     where metaData is not null`
  )).rows
  if (JSON.stringify(metaReplay) !== JSON.stringify(metaCheckpoint)) {
    problems.push(`checkpoint ${version}: metaData differs from the JSON replay`)
  }
  const protocolCheckpoint = (await query(
    `select protocol.minReaderVersion as r, protocol.minWriterVersion as w from read_parquet(${quote(file)})
     where protocol is not null`
  )).rows
  if (JSON.stringify(protocolCheckpoint) !== JSON.stringify([{ r: 1, w: 2 }])) {
    problems.push(`checkpoint ${version}: protocol row is ${JSON.stringify(protocolCheckpoint)}`)
  }
  return problems
}
