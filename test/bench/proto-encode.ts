/**
 * ProtoSchema's encoder against protobuf-es, on the same ~100-byte record (int64 id, string,
 * double, timestamp, bool, two short repeated fields), 1,000,000 records each:
 *
 *   node --conditions=zerobus-source --import tsx test/bench/proto-encode.ts [records] [--jit]
 *
 * `--jit` first enables effect's (unstable, opt-in) Schema JIT compiler, which speeds up the
 * validation step; it is an application's choice, never made by the library.
 *
 * - `ProtoSchema encodeResult`: what a stream does per record: Schema validation, then encoding.
 * - `ProtoSchema encodeMany`: the same in batches of 1,000 (one copy per batch).
 * - `ProtoSchema writer only`: the compiled writer without validation (what validation costs).
 * - `protobuf-es create+toBinary`: protobuf-es with a message built from ProtoSchema's descriptor,
 *   from init objects already in protobuf-es shape (bigint micros for the timestamp).
 * - `protobuf-es toBinary`: protobuf-es encoding messages created beforehand.
 *
 * Every variant's output is checked to be byte-identical first.
 */
import { create, createFileRegistry, toBinary } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt"

const jit = process.argv.includes("--jit")
// the JIT must be installed before any schema is built: load everything else afterwards
if (jit) await import("effect/schema/SchemaJITCompiler/enable")
const { Effect, Result, Schema } = await import("effect")
const { compile, MappingFailure } = await import("../../src/internal/proto/compile.ts")
const { Writer } = await import("../../src/internal/proto/writer.ts")
const ProtoSchema = await import("../../src/ProtoSchema.ts")

const total = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 1_000_000)
const distinct = 1000

const Event = Schema.Struct({
  id: ProtoSchema.int64,
  name: Schema.String,
  amount: Schema.Number,
  at: Schema.Date,
  active: Schema.Boolean,
  tags: Schema.Array(Schema.String),
  counts: Schema.Array(ProtoSchema.int32)
})
type Event = typeof Event.Type

const codec = ProtoSchema.makeUnsafe(Event, { messageName: "table_events" })
const file = create(FileDescriptorProtoSchema, {
  name: "bench.proto",
  syntax: "proto2",
  messageType: [codec.descriptor]
})
const message = createFileRegistry(file, () => undefined).getMessage("table_events")
if (message === undefined) throw new Error("descriptor did not register")

const events: Array<Event> = Array.from({ length: distinct }, (_, i) => ({
  id: 1_700_000_000_000n + BigInt(i),
  name: `customer-${i.toString().padStart(6, "0")}@example-company.com`,
  amount: i * 1.25 + 0.01,
  at: new Date(1_714_979_289_123 + i * 1000),
  active: i % 2 === 0,
  tags: ["alpha", "beta", "gamma", `t${i % 7}`],
  counts: [i % 100, 3, 250, i % 5]
}))
/** The i-th fixture, cycling. */
const cycle = <A>(items: ReadonlyArray<A>, i: number): A => {
  const item = items[i % items.length]
  if (item === undefined) throw new Error("empty fixture")
  return item
}
const inits = events.map((e) => ({ ...e, at: BigInt(e.at.getTime()) * 1000n }))
const messages = inits.map((init) => create(message, init))

const compiled = compile(Event.ast)
if (compiled instanceof MappingFailure) throw new Error(compiled.detail)
const writer = new Writer()
const writeOnly = (event: Event): Uint8Array => {
  compiled.write(writer, event)
  return writer.finish()
}
const encodeResult = (event: Event): Uint8Array => Result.getOrThrow(codec.encodeResult(event))

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])
for (let i = 0; i < distinct; i++) {
  const event = events[i]
  const init = inits[i]
  const created = messages[i]
  if (event === undefined || init === undefined || created === undefined) throw new Error("fixture")
  const expected = toBinary(message, create(message, init))
  if (!same(encodeResult(event), expected) || !same(writeOnly(event), expected)) {
    throw new Error(`ProtoSchema and protobuf-es disagree on record ${i}`)
  }
  if (!same(toBinary(message, created), expected)) throw new Error("protobuf-es is not deterministic")
}
const batchBytes = Effect.runSync(codec.encodeMany(events))
if (batchBytes.some((bytes, i) => !same(bytes, encodeResult(cycle(events, i))))) {
  throw new Error("encodeMany differs from encodeResult")
}
const recordBytes = encodeResult(cycle(events, 0)).length

interface Variant {
  readonly name: string
  /** Encodes `count` records starting at record `start`; returns the bytes produced. */
  readonly run: (count: number) => number
}

const variants: Array<Variant> = [
  {
    name: "ProtoSchema encodeResult",
    run: (count) => {
      let bytes = 0
      for (let i = 0; i < count; i++) bytes += encodeResult(cycle(events, i)).length
      return bytes
    }
  },
  {
    name: "ProtoSchema encodeMany (1,000 per batch)",
    run: (count) => {
      let bytes = 0
      for (let done = 0; done < count; done += distinct) {
        const batch = Effect.runSync(codec.encodeMany(events.slice(0, Math.min(distinct, count - done))))
        for (const record of batch) bytes += record.length
      }
      return bytes
    }
  },
  {
    name: "ProtoSchema writer only (no validation)",
    run: (count) => {
      let bytes = 0
      for (let i = 0; i < count; i++) bytes += writeOnly(cycle(events, i)).length
      return bytes
    }
  },
  {
    name: "protobuf-es create+toBinary",
    run: (count) => {
      let bytes = 0
      for (let i = 0; i < count; i++) bytes += toBinary(message, create(message, cycle(inits, i))).length
      return bytes
    }
  },
  {
    name: "protobuf-es toBinary (messages created beforehand)",
    run: (count) => {
      let bytes = 0
      for (let i = 0; i < count; i++) bytes += toBinary(message, cycle(messages, i)).length
      return bytes
    }
  }
]

console.log(
  `record: ${recordBytes} bytes; ${
    total.toLocaleString("en")
  } records per variant; node ${process.version}; Schema JIT ${jit ? "on" : "off"}`
)
const results = new Map<string, number>()
for (const variant of variants) {
  variant.run(Math.min(total, 100_000)) // warm-up
  const start = process.hrtime.bigint()
  const bytes = variant.run(total)
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const rate = total / seconds
  results.set(variant.name, rate)
  console.log(
    `${variant.name.padEnd(52)} ${Math.round(rate).toLocaleString("en").padStart(11)} records/s  ${
      (bytes / seconds / 1e6).toFixed(1).padStart(6)
    } MB/s  ${seconds.toFixed(2)} s`
  )
}
const ours = results.get("ProtoSchema encodeResult") ?? 0
const theirs = results.get("protobuf-es create+toBinary") ?? 1
console.log(`ratio ProtoSchema encodeResult / protobuf-es create+toBinary: ${(ours / theirs).toFixed(2)}x`)
