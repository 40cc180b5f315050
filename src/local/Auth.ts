/**
 * Service principals, OAuth tokens and Unity Catalog grants of Zerobus Local.
 *
 * Tokens are self-contained and HMAC-SHA256 signed (claims: principal, grants, expiry), so a
 * server restarted with the same principals (or the same `tokenSigningKey`) accepts the tokens of
 * the previous one. The token endpoint logic lives here; `Oidc.ts` maps it onto HTTP.
 *
 * A principal holds, for every table pattern it is limited to (`catalog.schema.table`, `*` matching
 * any one part; default `*.*.*`): `USE CATALOG` on the catalog, `USE SCHEMA` on the schema and
 * `SELECT`, `MODIFY` on the table. A token requested with `authorization_details` carries the
 * requested privileges the principal holds; one requested without them carries all of the
 * principal's grants. Opening a stream needs `USE CATALOG`, `USE SCHEMA` and `MODIFY` (or
 * `ALL PRIVILEGES`) on the table.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import * as Crypto from "node:crypto"

/**
 * A service principal: OAuth client id and secret, limited to table patterns.
 *
 * @since 0.1.0
 * @category models
 */
export interface Principal {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** Table patterns (`catalog.schema.table`, `*` for any part). */
  readonly tables: ReadonlyArray<string>
}

/**
 * Unity Catalog object kinds that grants name.
 *
 * @since 0.1.0
 * @category models
 */
export type ObjectType = "CATALOG" | "SCHEMA" | "TABLE"

/**
 * Privileges on one object (its path may hold `*` parts).
 *
 * @since 0.1.0
 * @category models
 */
export interface Grant {
  readonly objectType: ObjectType
  readonly path: string
  readonly privileges: ReadonlyArray<string>
}

/**
 * What a token says: who, what, until when (epoch milliseconds).
 *
 * @since 0.1.0
 * @category models
 */
export interface Claims {
  readonly principal: string
  readonly grants: ReadonlyArray<Grant>
  readonly issuedAt: number
  readonly expiresAt: number
}

/**
 * Token endpoint answer (`{access_token, token_type, expires_in, scope}`).
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenResponse {
  readonly access_token: string
  readonly token_type: "Bearer"
  readonly expires_in: number
  readonly scope: string
}

/**
 * Client authentication failed at the token endpoint (HTTP 401 `invalid_client`).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidClient extends Schema.TaggedError<InvalidClient>()("InvalidClient", { message: Schema.String }) {
  /** OAuth error code. */
  readonly error = "invalid_client"
  /** HTTP status. */
  readonly status = 401
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The token request is malformed (HTTP 400): `error` is the OAuth error code
 * (`invalid_request`, `unsupported_grant_type`, `invalid_scope`, `invalid_target`).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  error: Schema.Literals(["invalid_request", "unsupported_grant_type", "invalid_scope", "invalid_target"]),
  message: Schema.String
}) {
  /** HTTP status. */
  readonly status = 400
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A stream's `authorization` is missing, malformed, forged or expired (gRPC UNAUTHENTICATED).
 *
 * @since 0.1.0
 * @category errors
 */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()("Unauthenticated", {
  message: Schema.String
}) {
  /** Never with the same token. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * The token does not grant writing the table (gRPC PERMISSION_DENIED).
 *
 * @since 0.1.0
 * @category errors
 */
export class PermissionDenied extends Schema.TaggedError<PermissionDenied>()("PermissionDenied", {
  message: Schema.String
}) {
  /** Never. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * An authentication or authorization failure.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthError extends Schema.TaggedError<AuthError>()("AuthError", {
  reason: Schema.Union([InvalidClient, InvalidRequest, Unauthenticated, PermissionDenied])
}) {
  /** The reason's message. */
  override get message(): string {
    return this.reason.message
  }
  /** Never. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

/**
 * How the server authenticates.
 *
 * @since 0.1.0
 * @category models
 */
export interface AuthConfig {
  readonly principals: ReadonlyArray<Principal>
  /** Workspace ids accepted in `resource=api://databricks/workspaces/{id}/zerobusDirectWriteApi`. */
  readonly workspaceIds: ReadonlyArray<string>
  readonly tokenTtl: Duration.Duration
  /** HMAC key; derived from the principals' secrets when absent. */
  readonly signingKey: Redacted.Redacted<string> | undefined
}

/**
 * A token request: the `Authorization` header and the form fields.
 *
 * @since 0.1.0
 * @category models
 */
export interface TokenRequest {
  readonly authorization: string | undefined
  readonly form: ReadonlyMap<string, string>
}

/**
 * The auth service.
 *
 * @since 0.1.0
 * @category services
 */
export class Auth extends Context.Service<Auth, {
  /** Handles a token request (`POST /oidc/v1/token`). */
  readonly issueToken: (request: TokenRequest) => Effect.Effect<TokenResponse, AuthError>
  /** Checks an `authorization` value (`Bearer <token>`) and returns the token's claims. */
  readonly authenticate: (authorization: string | undefined) => Effect.Effect<Claims, AuthError>
  /** Checks that claims allow writing `table` (three parts). */
  readonly authorizeWrite: (claims: Claims, table: string) => Effect.Effect<void, AuthError>
}>()("effect-zerobus/local/Auth") {}

const tokenPrefix = "zbl1"

const GrantSchema = Schema.Struct({
  t: Schema.Literals(["CATALOG", "SCHEMA", "TABLE"]),
  p: Schema.String,
  v: Schema.Array(Schema.String)
})
const ClaimsSchema = Schema.Struct({
  sub: Schema.String,
  g: Schema.Array(GrantSchema),
  iat: Schema.Number,
  exp: Schema.Number
})
const decodeClaims = Schema.decodeUnknownResult(Schema.fromJsonString(ClaimsSchema))

const AuthorizationDetail = Schema.Struct({
  type: Schema.Literal("unity_catalog_privileges"),
  object_type: Schema.Literals(["CATALOG", "SCHEMA", "TABLE"]),
  object_full_path: Schema.NonEmptyString,
  privileges: Schema.Array(Schema.String),
  operations: Schema.optional(Schema.Array(Schema.String))
})
const decodeDetails = Schema.decodeUnknownResult(Schema.fromJsonString(Schema.Array(AuthorizationDetail)))

const fail = (reason: AuthError["reason"]) => Effect.fail(new AuthError({ reason }))

const splitPath = (path: string): Array<string> => path.split(".").map((part) => part.toLowerCase())

const partsFor: Record<ObjectType, number> = { CATALOG: 1, SCHEMA: 2, TABLE: 3 }

/** Whether a grant path (with `*` parts) covers an object path. */
const covers = (pattern: string, path: string): boolean => {
  const p = splitPath(pattern)
  const o = splitPath(path)
  return p.length === o.length && p.every((part, i) => part === "*" || part === o[i])
}

/** Whether `grants` give one of `privileges` (or ALL PRIVILEGES) on the object. */
const holds = (
  grants: ReadonlyArray<Grant>,
  objectType: ObjectType,
  path: string,
  privileges: ReadonlyArray<string>
): boolean =>
  grants.some((grant) =>
    grant.objectType === objectType && covers(grant.path, path) &&
    grant.privileges.some((held) => held === "ALL PRIVILEGES" || privileges.includes(held))
  )

/**
 * The first grant `claims` lack to use `table` (`catalog.schema.table`) with one of
 * `tablePrivileges`: USE CATALOG on its catalog, USE SCHEMA on its schema, then the table privilege
 * (named by the first of them). Undefined when nothing is missing.
 *
 * @since 0.1.0
 * @category authorization
 */
export const missingGrant = (
  claims: Claims,
  table: string,
  tablePrivileges: readonly [string, ...Array<string>]
): string | undefined => {
  const [catalog = "", schema = ""] = table.split(".")
  if (!holds(claims.grants, "CATALOG", catalog, ["USE CATALOG"])) return `USE CATALOG on catalog ${catalog}`
  if (!holds(claims.grants, "SCHEMA", `${catalog}.${schema}`, ["USE SCHEMA"])) {
    return `USE SCHEMA on schema ${catalog}.${schema}`
  }
  if (!holds(claims.grants, "TABLE", table, tablePrivileges)) return `${tablePrivileges[0]} on table ${table}`
  return undefined
}

/**
 * The grants a principal holds, from its table patterns.
 *
 * @since 0.1.0
 * @category grants
 */
export const principalGrants = (principal: Principal): ReadonlyArray<Grant> =>
  principal.tables.flatMap((pattern): Array<Grant> => {
    const [catalog, schema] = pattern.split(".")
    return [
      { objectType: "CATALOG", path: `${catalog}`, privileges: ["USE CATALOG"] },
      { objectType: "SCHEMA", path: `${catalog}.${schema}`, privileges: ["USE SCHEMA"] },
      { objectType: "TABLE", path: pattern, privileges: ["SELECT", "MODIFY"] }
    ]
  })

/**
 * Whether `name` is a valid three-part table name (non-empty parts of letters, digits and `_`,
 * or `-`).
 *
 * @since 0.1.0
 * @category grants
 */
export const isTableName = (name: string): boolean => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(name)

/**
 * Whether `pattern` is a valid table pattern (three parts, each a name or `*`).
 *
 * @since 0.1.0
 * @category grants
 */
export const isTablePattern = (pattern: string): boolean =>
  /^(\*|[A-Za-z0-9_-]+)\.(\*|[A-Za-z0-9_-]+)\.(\*|[A-Za-z0-9_-]+)$/.test(pattern)

const digest = (value: string): Buffer => Crypto.createHash("sha256").update(value).digest()

const sameSecret = (a: string, b: string): boolean => Crypto.timingSafeEqual(digest(a), digest(b))

/**
 * The HMAC key: the explicit one, or one derived from every principal's id and secret.
 *
 * @since 0.1.0
 * @category tokens
 */
export const signingKey = (config: AuthConfig): Buffer =>
  config.signingKey !== undefined
    ? digest(`effect-zerobus/local/key\n${Redacted.value(config.signingKey)}`)
    : digest(
      [
        "effect-zerobus/local/principals",
        ...config.principals
          .map((p) => `${p.clientId}\n${Redacted.value(p.clientSecret)}`)
          .toSorted()
      ].join("\n\n")
    )

const base64url = (buffer: Buffer | string): string => Buffer.from(buffer).toString("base64url")

/**
 * Signs claims into a token.
 *
 * @since 0.1.0
 * @category tokens
 */
export const sign = (key: Buffer, claims: Claims): string => {
  const payload = base64url(JSON.stringify({
    sub: claims.principal,
    g: claims.grants.map((grant) => ({ t: grant.objectType, p: grant.path, v: grant.privileges })),
    iat: claims.issuedAt,
    exp: claims.expiresAt
  }))
  const mac = Crypto.createHmac("sha256", key).update(`${tokenPrefix}.${payload}`).digest()
  return `${tokenPrefix}.${payload}.${base64url(mac)}`
}

/**
 * Checks a token's signature and returns its claims (expiry not checked).
 *
 * @since 0.1.0
 * @category tokens
 */
export const verify = (key: Buffer, token: string): Result.Result<Claims, string> => {
  const [prefix, payload, signature, ...rest] = token.split(".")
  if (prefix !== tokenPrefix || payload === undefined || signature === undefined || rest.length > 0) {
    return Result.fail("the token is not a Zerobus Local token")
  }
  const expected = Crypto.createHmac("sha256", key).update(`${tokenPrefix}.${payload}`).digest()
  const actual = Buffer.from(signature, "base64url")
  if (actual.length !== expected.length || !Crypto.timingSafeEqual(actual, expected)) {
    return Result.fail("the token signature is invalid (issued by another server or configuration)")
  }
  return Result.match(decodeClaims(Buffer.from(payload, "base64url").toString("utf8")), {
    onFailure: () => Result.fail("the token payload is malformed"),
    onSuccess: (claims) =>
      Result.succeed({
        principal: claims.sub,
        grants: claims.g.map((g): Grant => ({ objectType: g.t, path: g.p, privileges: g.v })),
        issuedAt: claims.iat,
        expiresAt: claims.exp
      })
  })
}

const parseBasic = (header: string): { readonly id: string; readonly secret: string } | undefined => {
  const encoded = /^Basic\s+(\S+)\s*$/i.exec(header)?.[1]
  if (encoded === undefined) return undefined
  const decoded = Buffer.from(encoded, "base64").toString("utf8")
  const colon = decoded.indexOf(":")
  if (colon < 0) return undefined
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) }
}

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "))
  } catch {
    return value
  }
}

const authorizeWrite = (claims: Claims, table: string): Effect.Effect<void, AuthError> => {
  const missing = missingGrant(claims, table, ["MODIFY"])
  return missing === undefined
    ? Effect.void
    : fail(
      new PermissionDenied({
        message: `service principal ${claims.principal} lacks ${missing} in its token`
      })
    )
}

/**
 * Creates the service.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (config: AuthConfig): Auth["Service"] => {
  const key = signingKey(config)
  const principals = new Map(config.principals.map((p) => [p.clientId, p]))
  const resources = new Set(config.workspaceIds.map((id) => `api://databricks/workspaces/${id}/zerobusDirectWriteApi`))

  const clientOf = (request: TokenRequest): Effect.Effect<Principal, AuthError> => {
    let credentials: { readonly id: string; readonly secret: string } | undefined
    if (request.authorization !== undefined) {
      credentials = parseBasic(request.authorization)
      if (credentials === undefined) {
        return fail(new InvalidClient({ message: "Authorization must be HTTP Basic with client_id:client_secret" }))
      }
    } else {
      const id = request.form.get("client_id")
      const secret = request.form.get("client_secret")
      if (id !== undefined && secret !== undefined) credentials = { id, secret }
    }
    if (credentials === undefined) {
      return fail(new InvalidClient({ message: "Client authentication is required (HTTP Basic)" }))
    }
    for (const candidate of [credentials, { id: safeDecode(credentials.id), secret: safeDecode(credentials.secret) }]) {
      const principal = principals.get(candidate.id)
      if (principal !== undefined && sameSecret(candidate.secret, Redacted.value(principal.clientSecret))) {
        return Effect.succeed(principal)
      }
    }
    return fail(new InvalidClient({ message: "Client authentication failed" }))
  }

  const issueToken = Effect.fn("Auth.issueToken")(function*(request: TokenRequest) {
    const principal = yield* clientOf(request)
    const grantType = request.form.get("grant_type")
    if (grantType === undefined) {
      return yield* fail(new InvalidRequest({ error: "invalid_request", message: "grant_type is required" }))
    }
    if (grantType !== "client_credentials") {
      return yield* fail(
        new InvalidRequest({
          error: "unsupported_grant_type",
          message: `grant_type ${grantType} is not supported; use client_credentials`
        })
      )
    }
    const scope = request.form.get("scope")
    if (scope !== undefined && !scope.split(/\s+/).includes("all-apis")) {
      return yield* fail(
        new InvalidRequest({ error: "invalid_scope", message: `scope must be all-apis, got ${scope}` })
      )
    }
    const resource = request.form.get("resource")
    if (resource !== undefined && !resources.has(resource)) {
      return yield* fail(
        new InvalidRequest({
          error: "invalid_target",
          message: `resource ${resource} is not this workspace's Zerobus API (expected ${[...resources].join(" or ")})`
        })
      )
    }
    const own = principalGrants(principal)
    let grants = own
    const detailsJson = request.form.get("authorization_details")
    if (detailsJson !== undefined) {
      const details = decodeDetails(detailsJson)
      if (Result.isFailure(details)) {
        return yield* fail(
          new InvalidRequest({
            error: "invalid_request",
            message: `authorization_details is not a list of unity_catalog_privileges: ${details.failure.message}`
          })
        )
      }
      const scoped: Array<Grant> = []
      for (const detail of details.success) {
        if (splitPath(detail.object_full_path).length !== partsFor[detail.object_type]) {
          return yield* fail(
            new InvalidRequest({
              error: "invalid_request",
              message: `object_full_path ${detail.object_full_path} does not name a ${detail.object_type}`
            })
          )
        }
        const privileges = detail.privileges.filter((privilege) =>
          holds(own, detail.object_type, detail.object_full_path, [privilege])
        )
        if (privileges.length > 0) {
          scoped.push({ objectType: detail.object_type, path: detail.object_full_path, privileges })
        }
      }
      grants = scoped
    }
    const now = yield* Clock.currentTimeMillis
    const ttl = Duration.toMillis(config.tokenTtl)
    const token = sign(key, { principal: principal.clientId, grants, issuedAt: now, expiresAt: now + ttl })
    return { access_token: token, token_type: "Bearer" as const, expires_in: Math.floor(ttl / 1000), scope: "all-apis" }
  })

  const authenticate = (authorization: string | undefined): Effect.Effect<Claims, AuthError> => {
    if (authorization === undefined || authorization === "") {
      return fail(new Unauthenticated({ message: "missing authorization header (expected Bearer <token>)" }))
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]
    if (token === undefined) {
      return fail(new Unauthenticated({ message: "authorization header must be Bearer <token>" }))
    }
    const verified = verify(key, token)
    if (Result.isFailure(verified)) return fail(new Unauthenticated({ message: verified.failure }))
    const claims = verified.success
    if (!principals.has(claims.principal)) {
      return fail(new Unauthenticated({ message: `service principal ${claims.principal} is not known to this server` }))
    }
    return Effect.flatMap(Clock.currentTimeMillis, (now) =>
      now >= claims.expiresAt
        ? fail(
          new Unauthenticated({
            message: `the token expired ${Math.ceil((now - claims.expiresAt) / 1000)} s ago; fetch a new one`
          })
        )
        : Effect.succeed(claims))
  }

  return Auth.of({ issueToken, authenticate, authorizeWrite })
}

/**
 * The auth service for a configuration.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (config: AuthConfig): Layer.Layer<Auth> => Layer.succeed(Auth, make(config))
