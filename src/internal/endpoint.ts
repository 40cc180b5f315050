/**
 * Endpoint and table-name parsing, as the official SDKs do it.
 *
 * @internal
 */
import * as ZerobusError from "../ZerobusError.ts"

/** A parsed Zerobus endpoint. */
export interface Endpoint {
  /** `https://host:port` or `http://host:port`, as given (scheme added when missing). */
  readonly url: string
  /** `host:port` for grpc-js. */
  readonly target: string
  /** Plaintext HTTP/2 (h2c) when the scheme is `http`. */
  readonly plaintext: boolean
  /** Text after the scheme up to the first `.`: the workspace id the OAuth `resource` names. */
  readonly workspaceId: string
}

/**
 * Parses an endpoint: no scheme means `https://`; `http://` means plaintext; the port defaults to
 * 443/80. The workspace id is the text after the scheme up to the first `.` (so
 * `http://127.0.0.1:50051` gives `127` and `http://localhost:1234` gives `localhost:1234`).
 */
export const parseEndpoint = (input: string): Endpoint | ZerobusError.ZerobusError => {
  const trimmed = input.trim()
  if (trimmed.length === 0) return ZerobusError.invalidArgument("The Zerobus endpoint is required")
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return ZerobusError.invalidArgument(`The Zerobus endpoint is not a valid URL: ${input}`)
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return ZerobusError.invalidArgument(`The Zerobus endpoint must use https:// or http://: ${input}`)
  }
  if (parsed.hostname.length === 0) {
    return ZerobusError.invalidArgument(`The Zerobus endpoint has no host: ${input}`)
  }
  const plaintext = parsed.protocol === "http:"
  const port = parsed.port.length > 0 ? parsed.port : plaintext ? "80" : "443"
  const afterScheme = url.slice(url.indexOf("://") + 3).replace(/\/.*$/, "")
  const dot = afterScheme.indexOf(".")
  return {
    url: `${parsed.protocol}//${parsed.host}`,
    target: `${parsed.hostname}:${port}`,
    plaintext,
    workspaceId: dot === -1 ? afterScheme : afterScheme.slice(0, dot)
  }
}

/** A three-part Unity Catalog table name. */
export interface TableName {
  readonly catalog: string
  readonly schema: string
  readonly table: string
  readonly full: string
}

/** Splits `catalog.schema.table`, refusing anything else before any network I/O. */
export const parseTableName = (name: string): TableName | ZerobusError.ZerobusError => {
  const parts = name.split(".")
  if (parts.length !== 3) {
    return ZerobusError.invalidArgument(
      `Table name must have exactly 3 parts (catalog.schema.table), found ${parts.length}: "${name}"`
    )
  }
  const [catalog = "", schema = "", table = ""] = parts
  if (catalog.length === 0 || schema.length === 0 || table.length === 0) {
    return ZerobusError.invalidArgument(`Catalog, schema and table names cannot be empty: "${name}"`)
  }
  return { catalog, schema, table, full: name }
}
