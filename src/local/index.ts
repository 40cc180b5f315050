/**
 * Zerobus Local (`effect-zerobus/local`): a Zerobus-compatible gRPC server with a workspace HTTP
 * server (OAuth, admin API), fault injection, stats and pluggable storage.
 *
 * @since 0.1.0
 */

/**
 * The server: service, layers, Promise API.
 *
 * @since 0.1.0
 */
export * as ZerobusLocal from "./ZerobusLocal.ts"

/**
 * Options, defaults and workspace-id rules.
 *
 * @since 0.1.0
 */
export * as LocalConfig from "./LocalConfig.ts"

/**
 * Why a server could not start.
 *
 * @since 0.1.0
 */
export * as LocalError from "./LocalError.ts"

/**
 * Storage service and the in-memory and discarding implementations.
 *
 * @since 0.1.0
 */
export * as Storage from "./Storage.ts"

/**
 * Format-level record checks shared by storage backends.
 *
 * @since 0.1.0
 */
export * as RecordDecoder from "./RecordDecoder.ts"

/**
 * Fault injection scripts.
 *
 * @since 0.1.0
 */
export * as Faults from "./Faults.ts"

/**
 * Server counters.
 *
 * @since 0.1.0
 */
export * as Stats from "./Stats.ts"

/**
 * Service principals, tokens and grants.
 *
 * @since 0.1.0
 */
export * as Auth from "./Auth.ts"

/**
 * The workspace HTTP server and its routes.
 *
 * @since 0.1.0
 */
export * as Workspace from "./Workspace.ts"
