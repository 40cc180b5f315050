/**
 * The workspace OAuth token endpoint, `POST /oidc/v1/token`, as Databricks serves it: HTTP Basic
 * client authentication, a form body with `grant_type=client_credentials`, optional `scope`,
 * `resource` and `authorization_details`. Answers `{access_token, token_type, expires_in, scope}`;
 * errors are `{"error": ..., "error_description": ...}` with 401 (bad client) or 400 (bad form).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as HttpRouter from "effect/http/HttpRouter"
import * as HttpServerRequest from "effect/http/HttpServerRequest"
import * as HttpServerResponse from "effect/http/HttpServerResponse"
import type * as Layer from "effect/Layer"
import { Auth, type AuthError } from "./Auth.ts"

/**
 * Path of the token endpoint.
 *
 * @since 0.1.0
 * @category constants
 */
export const tokenPath = "/oidc/v1/token"

const noStore = { "cache-control": "no-store", pragma: "no-cache" }

const errorResponse = (status: number, error: string, description: string, extra?: Record<string, string>) =>
  HttpServerResponse.jsonUnsafe({ error, error_description: description }, {
    status,
    headers: { ...noStore, ...extra }
  })

const fromAuthError = (error: AuthError) => {
  const reason = error.reason
  switch (reason._tag) {
    case "InvalidClient":
      return errorResponse(401, reason.error, reason.message, { "www-authenticate": `Basic realm="zerobus-local"` })
    case "InvalidRequest":
      return errorResponse(400, reason.error, reason.message)
    case "Unauthenticated":
    case "PermissionDenied":
      return errorResponse(400, "invalid_request", reason.message)
  }
}

const formOf = (body: string): Map<string, string> => {
  const form = new Map<string, string>()
  for (const [key, value] of new URLSearchParams(body)) if (!form.has(key)) form.set(key, value)
  return form
}

/**
 * Handles one token request.
 *
 * @since 0.1.0
 * @category handlers
 */
export const handleToken = Effect.gen(function*() {
  const auth = yield* Auth
  const request = yield* HttpServerRequest.HttpServerRequest
  const contentType = (request.headers["content-type"] ?? "").toLowerCase()
  if (!contentType.startsWith("application/x-www-form-urlencoded")) {
    return errorResponse(
      400,
      "invalid_request",
      `the body must be application/x-www-form-urlencoded, got ${contentType === "" ? "no content type" : contentType}`
    )
  }
  const body = yield* Effect.result(request.text)
  if (body._tag === "Failure") return errorResponse(400, "invalid_request", "the request body could not be read")
  const result = yield* Effect.result(
    auth.issueToken({ authorization: request.headers["authorization"], form: formOf(body.success) })
  )
  return result._tag === "Success"
    ? HttpServerResponse.jsonUnsafe(result.success, { headers: noStore })
    : fromAuthError(result.failure)
})

/**
 * The token route, for the workspace router.
 *
 * @since 0.1.0
 * @category routes
 */
export const routes: Layer.Layer<never, never, HttpRouter.HttpRouter | Auth> = HttpRouter.use((router) =>
  Effect.gen(function*() {
    const auth = yield* Auth
    yield* router.add("POST", tokenPath, handleToken.pipe(Effect.provideService(Auth, auth)))
  })
)
