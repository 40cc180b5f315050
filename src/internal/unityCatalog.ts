/**
 * Unity Catalog tables for the client and the CLI: reading a table's columns
 * (`GET {workspace}/api/2.1/unity-catalog/tables/{name}`), and turning them into a proto table
 * whose records are plain objects — the descriptor is the one Databricks' generator (and
 * `zerobus generate-proto`) writes for the table.
 *
 * @internal
 */
import { create, type DescField, type DescMessage, toBinary } from "@bufbuild/protobuf"
import { DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { Effect, Option, Predicate, Redacted, Result, Schema } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import * as ZerobusError from "../ZerobusError.ts"
import type * as Delta from "./delta/DeltaType.ts"
import * as JsonRecord from "./delta/JsonRecord.ts"
import * as DeltaProto from "./delta/ProtoSchema.ts"
import * as Row from "./delta/Row.ts"
import * as TypeText from "./delta/TypeText.ts"
import { asBuffer } from "./protocol.ts"

/** A column as Unity Catalog lists it. */
export type Column = TypeText.UcColumn

const TableInfo = Schema.Struct({
  columns: Schema.Array(Schema.Struct({
    name: Schema.String,
    type_text: Schema.String,
    nullable: Schema.optional(Schema.Boolean)
  }))
})
const UcError = Schema.Struct({ error_code: Schema.optional(Schema.String), message: Schema.optional(Schema.String) })
const decodeTableInfo = Schema.decodeUnknownEffect(Schema.fromJsonString(TableInfo))
const decodeUcError = Schema.decodeUnknownOption(Schema.fromJsonString(UcError))

/** The error for a Unity Catalog answer with `status`, with the server's code and message. */
export const httpError = (what: string, status: number, body: string): ZerobusError.ZerobusError => {
  const uc = decodeUcError(body)
  const detail = Option.isSome(uc) && uc.value.message !== undefined
    ? `${uc.value.error_code ?? "ERROR"}: ${uc.value.message}`
    : body.slice(0, 500)
  const message = `${what} failed (HTTP ${status}): ${detail}`
  switch (status) {
    case 401:
      return ZerobusError.make(new ZerobusError.Unauthenticated({ message }))
    case 403:
      return ZerobusError.make(new ZerobusError.PermissionDenied({ message }))
    case 404:
      return ZerobusError.make(new ZerobusError.NotFound({ message }))
    default:
      return status === 429 || status >= 500
        ? ZerobusError.make(new ZerobusError.Unavailable({ message }))
        : ZerobusError.invalidArgument(message)
  }
}

/** A table's columns, read with the given `authorization` header value. */
export const fetchColumns = Effect.fn("UnityCatalog.fetchColumns")(function*(options: {
  readonly workspaceUrl: string
  readonly authorization: Redacted.Redacted<string>
  readonly table: string
}) {
  const client = yield* HttpClient.HttpClient
  const url = `${options.workspaceUrl.replace(/\/+$/, "")}/api/2.1/unity-catalog/tables/${
    encodeURIComponent(options.table)
  }`
  const response = yield* client.execute(
    HttpClientRequest.get(url).pipe(
      HttpClientRequest.setHeader("authorization", Redacted.value(options.authorization)),
      HttpClientRequest.acceptJson
    )
  ).pipe(
    Effect.mapError((cause) =>
      ZerobusError.make(
        new ZerobusError.Unavailable({ message: `Unity Catalog request to ${url} failed: ${cause.message}`, cause })
      )
    )
  )
  const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
  if (response.status < 200 || response.status >= 300) {
    return yield* httpError(`Unity Catalog request for ${options.table}`, response.status, body)
  }
  const info = yield* decodeTableInfo(body).pipe(
    Effect.mapError((error) =>
      ZerobusError.invalidArgument(`Unexpected Unity Catalog answer for ${options.table}: ${error.message}`)
    )
  )
  return info.columns
})

/** A record for a Unity Catalog table: one entry per column. */
export type UnityCatalogRecord = { readonly [column: string]: unknown }

/** What a table needs to encode plain objects: the descriptor and the encoder. */
export interface TableCodec {
  readonly descriptorProto: Uint8Array
  readonly encode: (record: UnityCatalogRecord) => Uint8Array | ZerobusError.ZerobusError
}

/**
 * JSON-compatible form of a JS value, so the JSON conventions of the table apply: `Date` → ISO
 * text, `bigint` → digits, bytes → base64, `Map` → object.
 */
const toJsonValue = (value: unknown): unknown => {
  if (value instanceof Date) return value.toISOString()
  if (Predicate.isBigInt(value)) return value.toString()
  if (value instanceof Uint8Array) return asBuffer(value).toString("base64")
  if (Array.isArray(value)) return value.map(toJsonValue)
  if (value instanceof Map) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of value) out[String(k)] = toJsonValue(v)
    return out
  }
  if (Predicate.isObject(value)) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v)
    return out
  }
  return value
}

/** A protobuf-es init value of a row value for a field (nulls are left out by the caller). */
type Init = unknown

const fieldIndex = (message: DescMessage): ReadonlyMap<string, DescField> =>
  new Map(message.fields.map((f) => [f.name, f]))

/** The message type a field carries (itself, its list elements or its map values), if any. */
const messageOf = (field: DescField): DescMessage | undefined => {
  switch (field.fieldKind) {
    case "message":
      return field.message
    case "list":
      return field.listKind === "message" ? field.message : undefined
    case "map":
      return field.mapKind === "message" ? field.message : undefined
    default:
      return undefined
  }
}

/** Converts a row of `schema` into the init object of `message` (the generator's message). */
const rowToInit = (schema: Delta.StructType, message: DescMessage, row: Row.StructValue, path: string) => {
  const fields = fieldIndex(message)
  const init: Record<string, Init> = {}
  for (const column of schema.fields) {
    const value = row[column.name]
    if (value === null || value === undefined) continue
    const field = fields.get(column.name)
    if (field === undefined) throw new Error(`${path}${column.name}: no such field in the descriptor`)
    init[field.localName] = valueToInit(column.type, field, value, `${path}${column.name}`)
  }
  return init
}

const valueToInit = (type: Delta.DeltaType, field: DescField, value: Row.Value, path: string): Init => {
  switch (type.kind) {
    case "struct": {
      const nested = messageOf(field)
      if (nested === undefined) throw new Error(`${path}: expected a struct`)
      return rowToInit(type, nested, asStruct(value, path), `${path}.`)
    }
    case "array": {
      if (!Array.isArray(value)) throw new Error(`${path}: expected an array`)
      const elements = messageOf(field)
      return value.map((element: Row.Value, i: number) => {
        if (element === null) {
          throw new Error(`${path}[${i}]: protobuf cannot carry a null array element`)
        }
        return type.elementType.kind === "struct" && elements !== undefined
          ? rowToInit(type.elementType, elements, asStruct(element, path), `${path}[${i}].`)
          : element
      })
    }
    case "map": {
      if (!(value instanceof Map)) throw new Error(`${path}: expected a map`)
      const out: Record<string, Init> = {}
      const valueMessage = messageOf(field)
      for (const [k, v] of value) {
        if (v === null) throw new Error(`${path}: protobuf cannot carry a null map value`)
        out[String(k)] = type.valueType.kind === "struct" && valueMessage !== undefined
          ? rowToInit(type.valueType, valueMessage, asStruct(v, path), `${path}.`)
          : v
      }
      return out
    }
    default:
      return value
  }
}

const asStruct = (value: Row.Value, path: string): Row.StructValue => {
  if (!Row.isStructValue(value)) throw new Error(`${path}: expected a struct`)
  return value
}

/**
 * The codec of a table with `columns`: the generator's descriptor (message `table_<name>`), and an
 * encoder of plain objects that follows the JSON conventions of the table (timestamps as `Date`,
 * ISO text or µs; dates as `Date`, `YYYY-MM-DD` or days; BIGINT as number or bigint; binary as
 * bytes or base64) and refuses unknown columns, wrong types and missing NOT NULL columns with a
 * message naming the column.
 */
export const tableCodec = Effect.fnUntraced(function*(table: string, columns: ReadonlyArray<Column>) {
  const invalid = (what: string) => (error: { readonly message: string }) =>
    ZerobusError.invalidArgument(`Table ${table} ${what}: ${error.message}`)
  const schema = yield* TypeText.schemaFromColumns(columns).pipe(Effect.mapError(invalid("has an unsupported schema")))
  const tableName = table.split(".").at(-1) ?? table
  const messageName = `table_${tableName.replace(/[^A-Za-z0-9_]/g, "_")}`
  const proto = yield* DeltaProto.toProto(schema, { messageName }).pipe(
    Effect.mapError(invalid("cannot be written as protobuf"))
  )
  const descriptorProto = toBinary(DescriptorProtoSchema, proto.descriptor)
  const message = yield* DeltaProto.resolveDescriptor(descriptorProto).pipe(Effect.mapError(invalid("descriptor")))
  const decode = JsonRecord.makeDecoder(schema)
  const encode = (record: UnityCatalogRecord): Uint8Array | ZerobusError.ZerobusError => {
    const row = decode(toJsonValue(record))
    if (Result.isFailure(row)) return ZerobusError.invalidArgument(row.failure.message)
    try {
      return toBinary(message, create(message, rowToInit(schema, message, row.success, "")))
    } catch (error) {
      return ZerobusError.invalidArgument(
        `Record cannot be encoded for ${table}: ${error instanceof Error ? error.message : String(error)}`
      )
    }
  }
  return { descriptorProto, encode } satisfies TableCodec
})
