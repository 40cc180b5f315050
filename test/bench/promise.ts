/**
 * Our client through its Promise API (`effect-zerobus/promise`, shaped like the official SDK),
 * with exactly the official cases' calls (see `official.ts`): `ZerobusSdk` with OAuth through the
 * server's OIDC endpoint, default options except the record type, the same records.
 *
 * Variants: `promise-c1000` (`ingestRecordOffset`, 1,000 calls in flight), `promise-seq`
 * (awaiting each call), `promise-ack` (`waitForOffset` after each call), `promise-batch1000`
 * (`ingestRecordsOffset` of 1,000 records); each ends with `flush`.
 */
import { RecordType, ZerobusSdk } from "../../src/promise/index.ts"
import { benchDescriptor, jsonRecords, protoBuffers, totalBytes } from "./fixtures.ts"
import { type CaseInput, type Outcome, type Section, tableFor } from "./harness.ts"
import { work } from "./official.ts"

/** Runs one of the Promise API cases. */
export const run = async (input: CaseInput, section: Section): Promise<Outcome> => {
  const { server } = input
  const sdk = new ZerobusSdk(server.endpoint, server.workspaceUrl)
  try {
    const tableName = tableFor(input)
    const stream = await sdk.createStream(
      input.format === "json" ? { tableName } : { tableName, descriptorProto: benchDescriptor },
      server.clientId,
      server.clientSecret,
      { recordType: input.format === "json" ? RecordType.Json : RecordType.Proto }
    )
    await section.begin()
    await work(input.variant, stream, input.format === "json" ? jsonRecords : protoBuffers, input.records)
    await section.end()
    await stream.close()
    return { records: input.records, bytes: totalBytes(input.format, input.records) }
  } finally {
    await sdk.close()
  }
}
