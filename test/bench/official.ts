/**
 * The official TypeScript client 1.3.0 (its Rust core, loaded through the optional dev peer
 * `zerobus-official-sdk-peer`) against the same server: OAuth through the server's OIDC endpoint,
 * default options except the record type. Same records as our client (JSON strings, protobuf
 * Buffers). The clock runs from the first record to the end of `flush`.
 *
 * Variants:
 * - `official-c1000`: `ingestRecordOffset` with a sliding window of 1,000 calls in flight (call
 *   `i` is awaited before call `i + 1000` starts), then `flush`;
 * - `official-seq`: `await ingestRecordOffset(record)` per record, then `flush`;
 * - `official-ack`: `await waitForOffset(await ingestRecordOffset(record))` per record;
 * - `official-batch1000`: `await ingestRecordsOffset(records)` of 1,000 records, then `flush`.
 */
import { official } from "../support/official.ts"
import { benchDescriptor, DISTINCT, jsonRecords, protoBuffers, totalBytes } from "./fixtures.ts"
import { type CaseInput, type Outcome, type Section, tableFor } from "./harness.ts"

/** What the official client and our Promise API share. */
export interface PromiseStream {
  readonly ingestRecordOffset: (payload: string | Buffer) => Promise<bigint>
  readonly ingestRecordsOffset: (payloads: ReadonlyArray<string | Buffer>) => Promise<bigint | null>
  readonly waitForOffset: (offset: bigint) => Promise<void>
  readonly flush: () => Promise<void>
}

/**
 * The measured work of a Promise-shaped client; `variant` ends with `c1000`, `seq`, `ack` or
 * `batch1000`.
 */
export const work = async (
  variant: string,
  stream: PromiseStream,
  records: ReadonlyArray<string | Buffer>,
  count: number
): Promise<void> => {
  const record = (i: number) => records[i % DISTINCT]!
  switch (variant.replace(/^[a-z]+-/, "")) {
    case "c1000": {
      const window = 1000
      const inflight: Array<Promise<bigint>> = []
      for (let i = 0; i < count; i++) {
        if (i >= window) await inflight[i % window]
        inflight[i % window] = stream.ingestRecordOffset(record(i))
      }
      await Promise.all(inflight)
      await stream.flush()
      return
    }
    case "seq": {
      for (let i = 0; i < count; i++) await stream.ingestRecordOffset(record(i))
      await stream.flush()
      return
    }
    case "ack": {
      for (let i = 0; i < count; i++) await stream.waitForOffset(await stream.ingestRecordOffset(record(i)))
      return
    }
    case "batch1000": {
      const batch = records.slice(0, 1000)
      let sent = 0
      while (sent < count) {
        const take = Math.min(1000, count - sent)
        await stream.ingestRecordsOffset(take === 1000 ? batch : records.slice(0, take))
        sent += take
      }
      await stream.flush()
      return
    }
    default:
      throw new Error(`unknown variant ${variant}`)
  }
}

/** Runs one of the official client's cases, or says why it cannot. */
export const run = async (input: CaseInput, section: Section): Promise<Outcome | { readonly skipped: string }> => {
  if (official === undefined) {
    return {
      skipped: "the official SDK's native core is not installed for this platform " +
        "(optional dev peer zerobus-official-sdk-peer -> @databricks/zerobus-ingest-sdk-linux-x64-gnu)"
    }
  }
  const { server } = input
  const sdk = new official.ZerobusSdk(server.endpoint, server.workspaceUrl)
  const tableName = tableFor(input)
  const stream = await sdk.createStream(
    input.format === "json"
      ? { tableName }
      : { tableName, descriptorProto: Buffer.from(benchDescriptor).toString("base64") },
    server.clientId,
    server.clientSecret,
    { recordType: input.format === "json" ? official.RecordType.Json : official.RecordType.Proto }
  )
  await section.begin()
  await work(input.variant, stream, input.format === "json" ? jsonRecords : protoBuffers, input.records)
  await section.end()
  await stream.close()
  return { records: input.records, bytes: totalBytes(input.format, input.records) }
}
