/**
 * The official Zerobus TypeScript SDK's native core (1.3.0), for conformance tests and benchmarks.
 * `official` is undefined on platforms without a prebuilt binary; guard suites with
 * `describe.runIf(official !== undefined)`.
 *
 * Typed subset used here: `new official.ZerobusSdk(endpoint, workspaceUrl)`,
 * `sdk.createStream({ tableName, descriptorProto? (base64) }, clientId, clientSecret, options)`,
 * `stream.ingestRecordOffset(payload)`, `stream.ingestRecordsOffset(payloads)`,
 * `stream.waitForOffset(offset)`, `stream.flush()`, `stream.close()`, `stream.getUnackedRecords()`.
 * JSON payloads are strings, protobuf payloads Buffers. `official.RecordType` is `{ Json: 0, Proto: 1 }`
 * (not the wire values).
 */
import { createRequire } from "node:module"

/** An official stream. */
export interface OfficialStream {
  readonly ingestRecordOffset: (payload: string | Buffer) => Promise<bigint>
  readonly ingestRecordsOffset: (payloads: ReadonlyArray<string | Buffer>) => Promise<bigint | null>
  readonly waitForOffset: (offset: bigint) => Promise<void>
  readonly flush: () => Promise<void>
  readonly close: () => Promise<void>
  readonly getUnackedRecords: () => Promise<Array<Buffer>>
}

/** Stream options the official SDK takes (milliseconds). */
export interface OfficialStreamOptions {
  readonly recordType?: number
  readonly recovery?: boolean
  readonly recoveryRetries?: number
  readonly recoveryBackoffMs?: number
  readonly recoveryTimeoutMs?: number
  readonly serverLackOfAckTimeoutMs?: number
  readonly flushTimeoutMs?: number
  readonly maxInflightRequests?: number
}

/** An official SDK instance. */
export interface OfficialSdk {
  readonly createStream: (
    table: { readonly tableName: string; readonly descriptorProto?: string },
    clientId: string,
    clientSecret: string,
    options?: OfficialStreamOptions
  ) => Promise<OfficialStream>
}

/** The native module. */
export interface OfficialModule {
  readonly RecordType: { readonly Json: number; readonly Proto: number }
  readonly ZerobusSdk: new(endpoint: string, workspaceUrl: string) => OfficialSdk
}

const load = (): OfficialModule | undefined => createRequire(import.meta.url)("zerobus-official-sdk-peer")

/** The official SDK's native module, or undefined where it is not built. */
export const official: OfficialModule | undefined = load()
