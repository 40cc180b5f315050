/**
 * Benchmark records: 1,000 distinct JSON records of about 200 bytes and 1,000 distinct protobuf
 * records of about 100 bytes, cycled to any count (so a run of millions of records holds only the
 * fixtures in memory). The protobuf message is described by `benchDescriptor` (proto2, no
 * imports), so Zerobus Local accepts it and could decode every record.
 *
 * ```proto
 * message table_bench {
 *   required int64 id = 1;
 *   optional string name = 2;
 *   optional double amount = 3;
 *   optional int64 ts = 4;
 *   optional bool active = 5;
 *   repeated string tags = 6;
 *   optional string region = 7;
 * }
 * ```
 */
import { create, createFileRegistry, toBinary } from "@bufbuild/protobuf"
import {
  DescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"

/** Distinct records of each kind. */
export const DISTINCT = 1000

/** The record formats benchmarked. */
export type Format = "json" | "proto"

const { INT64, STRING, DOUBLE, BOOL } = FieldDescriptorProto_Type
const { OPTIONAL, REQUIRED, REPEATED } = FieldDescriptorProto_Label

const descriptor = create(DescriptorProtoSchema, {
  name: "table_bench",
  field: [
    { name: "id", number: 1, label: REQUIRED, type: INT64 },
    { name: "name", number: 2, label: OPTIONAL, type: STRING },
    { name: "amount", number: 3, label: OPTIONAL, type: DOUBLE },
    { name: "ts", number: 4, label: OPTIONAL, type: INT64 },
    { name: "active", number: 5, label: OPTIONAL, type: BOOL },
    { name: "tags", number: 6, label: REPEATED, type: STRING },
    { name: "region", number: 7, label: OPTIONAL, type: STRING }
  ]
})

/** The serialized `DescriptorProto` of `table_bench`, sent in `create_stream`. */
export const benchDescriptor: Uint8Array = toBinary(DescriptorProtoSchema, descriptor)

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, { name: "bench.proto", syntax: "proto2", messageType: [descriptor] }),
  () => undefined
)
const message = registry.getMessage("table_bench")
if (message === undefined) throw new Error("the bench descriptor did not register")

const regions = ["eu-west-1", "us-east-2", "ap-south-1", "us-west-2"]

/** The i-th JSON record (about 200 bytes). */
const jsonRecord = (i: number): string =>
  JSON.stringify({
    id: 1_700_000_000 + i,
    name: `customer-${i.toString().padStart(6, "0")}@example-company.com`,
    amount: Math.round(i * 137.25) / 100,
    currency: "EUR",
    ts: new Date(1_767_225_600_000 + i * 1000).toISOString(),
    active: i % 2 === 0,
    region: regions[i % regions.length],
    tags: ["alpha", "beta", `t${i % 7}`],
    note: "bench"
  })

/** The i-th protobuf record (about 100 bytes). */
const protoRecord = (i: number): Uint8Array =>
  toBinary(
    message,
    create(message, {
      id: 1_700_000_000_000n + BigInt(i),
      name: `customer-${i.toString().padStart(6, "0")}@example-company.com`,
      amount: i * 1.25 + 0.01,
      ts: 1_767_225_600_000_000n + BigInt(i) * 1_000_000n,
      active: i % 2 === 0,
      tags: ["alpha", "beta", "gamma", `t${i % 7}`],
      region: regions[i % regions.length]
    })
  )

/** Distinct JSON records (strings, as sent on the wire). */
export const jsonRecords: ReadonlyArray<string> = Array.from({ length: DISTINCT }, (_, i) => jsonRecord(i))

/** Distinct protobuf records (bytes). */
export const protoRecords: ReadonlyArray<Uint8Array> = Array.from({ length: DISTINCT }, (_, i) => protoRecord(i))

/** Distinct protobuf records as Buffers (what the official client takes). */
export const protoBuffers: ReadonlyArray<Buffer> = protoRecords.map((bytes) => Buffer.from(bytes))

/** Exact payload bytes of records `0 .. count - 1` of `format` (records cycle). */
export const totalBytes = (format: Format, count: number): number => {
  const sizes = format === "json"
    ? jsonRecords.map((record) => Buffer.byteLength(record, "utf8"))
    : protoRecords.map((record) => record.byteLength)
  let whole = 0
  for (const size of sizes) whole += size
  let bytes = Math.floor(count / DISTINCT) * whole
  for (let i = 0; i < count % DISTINCT; i++) bytes += sizes[i]!
  return bytes
}
