/**
 * effect-zerobus: an Effect-native client for Databricks Zerobus Ingest.
 *
 * @since 0.1.0
 */

/**
 * Call metadata providers: OAuth client credentials (default), static headers, or any Effect.
 *
 * @since 0.1.0
 */
export * as HeadersProvider from "./HeadersProvider.ts"

/**
 * Typed protobuf records from Effect Schema; descriptors from protobuf-es and FileDescriptorSets.
 *
 * @since 0.1.0
 */
export * as ProtoSchema from "./ProtoSchema.ts"

/**
 * Stream options, their defaults and validation.
 *
 * @since 0.1.0
 */
export * as StreamOptions from "./StreamOptions.ts"

/**
 * Tables and record encodings (JSON, Effect Schema, protobuf).
 *
 * @since 0.1.0
 */
export * as Table from "./Table.ts"

/**
 * The client service, its layers, and `createStream` / `recreateStream`.
 *
 * @since 0.1.0
 */
export * as Zerobus from "./Zerobus.ts"

/**
 * The error type and its reasons.
 *
 * @since 0.1.0
 */
export * as ZerobusError from "./ZerobusError.ts"

/**
 * Metrics of ingest streams.
 *
 * @since 0.1.0
 */
export * as ZerobusMetrics from "./ZerobusMetrics.ts"

/**
 * The ingest stream interface.
 *
 * @since 0.1.0
 */
export * as ZerobusStream from "./ZerobusStream.ts"
