/**
 * `effect-zerobus/promise`: the Promise API, shaped like the official Databricks Zerobus
 * TypeScript SDK (`@databricks/zerobus-ingest-sdk`) and built on the Effect client. No native
 * code. Moving over is mostly one import:
 *
 * ```ts
 * import { RecordType, ZerobusSdk } from "effect-zerobus/promise"
 * ```
 *
 * Differences from the official SDK are listed in `docs/migration.md`.
 *
 * @since 0.1.0
 */

/**
 * The descriptor helper of the official SDK's `utils/descriptor`.
 *
 * @since 0.1.0
 */
export { type LoadDescriptorOptions, loadDescriptorProto } from "./descriptor.ts"

/**
 * Option and argument shapes: `RecordType`, `TableProperties`, `StreamConfigurationOptions`,
 * `ZerobusSdkOptions`, `HeadersProvider`.
 *
 * @since 0.1.0
 */
export {
  type HeaderList,
  type HeadersProvider,
  RecordType,
  type StreamConfigurationOptions,
  type TableProperties,
  type ZerobusSdkOptions
} from "./options.ts"

/**
 * Record values (`Buffer`, string, protobuf message object or plain object).
 *
 * @since 0.1.0
 */
export { type Payload } from "./records.ts"

/**
 * The SDK.
 *
 * @since 0.1.0
 */
export { ZerobusSdk } from "./ZerobusSdk.ts"

/**
 * Ingest streams and ack handles.
 *
 * @since 0.1.0
 */
export { type AckHandle, type AckStatus, ZerobusStream } from "./ZerobusStream.ts"

/**
 * The error every method throws.
 *
 * @since 0.1.0
 */
export { isZerobusError, ZerobusError, type ZerobusErrorCode } from "./ZerobusError.ts"
