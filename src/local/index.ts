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
 * Record checks shared by storage backends: format-level, and against a table schema.
 *
 * @since 0.1.0
 */
export * as RecordDecoder from "./RecordDecoder.ts"

/**
 * Table declarations: a table schema from a column list, UC columns, a Delta schema JSON, a
 * protobuf descriptor, a FileDescriptorSet or a `.proto` file.
 *
 * @since 0.1.0
 */
export * as TableSchema from "./TableSchema.ts"

/**
 * The Delta Lake type model (`StructType`, `field`, `long`, ... and `schemaString` JSON).
 *
 * @since 0.1.0
 */
export * as DeltaType from "../internal/delta/DeltaType.ts"

/**
 * Durable storage: the server's `Storage` on Delta Lake tables (WAL, Parquet, `_delta_log`).
 *
 * @since 0.1.0
 */
export * as DeltaStorage from "./delta/DeltaStorage.ts"

/**
 * The data directory of the Delta storage: tables by three-part name, `LOCK`.
 *
 * @since 0.1.0
 */
export * as DeltaStore from "./delta/DeltaStore.ts"

/**
 * One Delta table being written: WAL, materializer, recovery.
 *
 * @since 0.1.0
 */
export * as DeltaTable from "./delta/DeltaTable.ts"

/**
 * The error of the Delta storage.
 *
 * @since 0.1.0
 */
export * as DeltaError from "./delta/DeltaError.ts"

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

/**
 * The Unity Catalog tables endpoint of the workspace HTTP server.
 *
 * @since 0.1.0
 */
export * as UnityCatalog from "./UnityCatalog.ts"
