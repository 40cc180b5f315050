/**
 * Token requests against a workspace OIDC endpoint, shaped exactly like the official clients' ones.
 *
 * - `authorizationDetails(table, { operations? })`: the `authorization_details` JSON the official
 *   SDKs send for a table (USE CATALOG, USE SCHEMA, SELECT + MODIFY; 1.3.0 adds
 *   `operations: ["zerobuswrite"]`).
 * - `postToken(workspaceUrl, { clientId?, clientSecret?, form?, contentType?, authorization? })`:
 *   raw POST to `/oidc/v1/token`; returns `{ status, body }` (body parsed as JSON).
 * - `fetchToken(workspaceUrl, { clientId, clientSecret, table, workspaceId })`: the official
 *   client's request; returns the access token or throws with the response.
 */
import * as Predicate from "effect/Predicate"

/** `authorization_details` for writing one table. */
export const authorizationDetails = (
  table: string,
  options: { readonly operations?: boolean | undefined; readonly privileges?: ReadonlyArray<string> | undefined } = {}
): string => {
  const [catalog, schema] = table.split(".")
  return JSON.stringify([
    {
      object_full_path: catalog,
      object_type: "CATALOG",
      privileges: ["USE CATALOG"],
      type: "unity_catalog_privileges"
    },
    {
      object_full_path: `${catalog}.${schema}`,
      object_type: "SCHEMA",
      privileges: ["USE SCHEMA"],
      type: "unity_catalog_privileges"
    },
    {
      object_full_path: table,
      object_type: "TABLE",
      ...(options.operations === true ? { operations: ["zerobuswrite"] } : {}),
      privileges: options.privileges ?? ["SELECT", "MODIFY"],
      type: "unity_catalog_privileges"
    }
  ])
}

/** Basic authorization header value. */
export const basic = (clientId: string, clientSecret: string): string =>
  `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString("base64")}`

/** Raw POST to the token endpoint. */
export const postToken = async (workspaceUrl: string, options: {
  readonly clientId?: string | undefined
  readonly clientSecret?: string | undefined
  readonly authorization?: string | undefined
  readonly form?: Readonly<Record<string, string>> | undefined
  readonly body?: string | undefined
  readonly contentType?: string | undefined
}): Promise<{ readonly status: number; readonly body: Record<string, unknown> }> => {
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/x-www-form-urlencoded",
    accept: "*/*"
  }
  const authorization = options.authorization ??
    (options.clientId !== undefined && options.clientSecret !== undefined
      ? basic(options.clientId, options.clientSecret)
      : undefined)
  if (authorization !== undefined) headers["authorization"] = authorization
  const response = await fetch(`${workspaceUrl}/oidc/v1/token`, {
    method: "POST",
    headers,
    body: options.body ?? new URLSearchParams(options.form ?? {}).toString()
  })
  const parsed: unknown = JSON.parse(await response.text())
  return { status: response.status, body: Predicate.isObject(parsed) ? parsed : {} }
}

/** The official clients' token request; returns the access token. */
export const fetchToken = async (workspaceUrl: string, options: {
  readonly clientId: string
  readonly clientSecret: string
  readonly table: string
  readonly workspaceId: string
}): Promise<string> => {
  const { body, status } = await postToken(workspaceUrl, {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    form: {
      grant_type: "client_credentials",
      scope: "all-apis",
      resource: `api://databricks/workspaces/${options.workspaceId}/zerobusDirectWriteApi`,
      authorization_details: authorizationDetails(options.table)
    }
  })
  if (status !== 200 || typeof body["access_token"] !== "string") {
    throw new Error(`token request failed: ${status} ${JSON.stringify(body)}`)
  }
  return body["access_token"]
}
