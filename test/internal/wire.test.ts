import { create, toBinary } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { EphemeralStreamRequestSchema } from "../../src/internal/protocol.ts"
import { BufferPool, encodeIngest, encodeMessage, entryEstimate, type Payload } from "../../src/internal/wire.ts"
import { prng } from "../support/prng.ts"

const reference = (offset: number, format: "json" | "proto", payloads: ReadonlyArray<Payload>): Uint8Array => {
  const offsetId = BigInt(offset)
  if (payloads.length === 1) {
    const record = payloads[0]!
    return toBinary(
      EphemeralStreamRequestSchema,
      create(EphemeralStreamRequestSchema, {
        payload: {
          case: "ingestRecord",
          value: {
            offsetId,
            record: typeof record === "string"
              ? { case: "jsonRecord", value: record }
              : { case: "protoEncodedRecord", value: record }
          }
        }
      })
    )
  }
  return toBinary(
    EphemeralStreamRequestSchema,
    create(EphemeralStreamRequestSchema, {
      payload: {
        case: "ingestRecordBatch",
        value: {
          offsetId,
          batch: format === "json"
            ? { case: "jsonBatch", value: { records: payloads.filter((p) => typeof p === "string") } }
            : { case: "protoEncodedBatch", value: { records: payloads.filter((p) => typeof p !== "string") } }
        }
      }
    })
  )
}

const encode = (offset: number, format: "json" | "proto", payloads: ReadonlyArray<Payload>) =>
  encodeIngest(offset, format, payloads)

describe("wire encoding", () => {
  it("matches protobuf-es for single records and batches, JSON and proto", () => {
    const next = prng(42)
    const alphabet = ["a", "é", "\u{1F600}", "\"", "\\", "z", "\u0000", "中"]
    for (let round = 0; round < 300; round++) {
      const count = 1 + Math.floor(next() * 40)
      const offset = Math.floor(next() * 2 ** (1 + Math.floor(next() * 40)))
      const json = next() < 0.5
      const payloads: Array<Payload> = []
      for (let i = 0; i < count; i++) {
        const size = Math.floor(next() * (next() < 0.1 ? 20_000 : 200))
        if (json) {
          let s = "{\"k\":\""
          for (let j = 0; j < size; j++) s += alphabet[Math.floor(next() * alphabet.length)]
          payloads.push(`${s}"}`)
        } else {
          const bytes = new Uint8Array(size)
          for (let j = 0; j < size; j++) bytes[j] = Math.floor(next() * 256)
          payloads.push(bytes)
        }
      }
      const format = json ? "json" : "proto"
      assert.deepStrictEqual(
        new Uint8Array(encode(offset, format, payloads)),
        reference(offset, format, payloads),
        `round ${round}`
      )
    }
  })

  it("matches protobuf-es at every string length where the length prefix changes size", () => {
    const kinds = ["a", "é", "中", "\u{1F600}"]
    for (const kind of kinds) {
      for (const units of [0, 1, 42, 43, 44, 127, 128, 129, 5461, 5462, 16383, 16384, 16385, 60_000]) {
        const text = kind.repeat(Math.ceil(units / kind.length)).slice(0, units)
        for (const payloads of [[text], [text, "x"], ["x", text, text]]) {
          assert.deepStrictEqual(
            new Uint8Array(encode(units, "json", payloads)),
            reference(units, "json", payloads),
            `${JSON.stringify(kind)} × ${units}`
          )
        }
      }
    }
  })

  it("encodes empty records and offset 0", () => {
    assert.deepStrictEqual(new Uint8Array(encode(0, "json", [""])), reference(0, "json", [""]))
    assert.deepStrictEqual(
      new Uint8Array(encode(0, "proto", [new Uint8Array(0), new Uint8Array(0)])),
      reference(0, "proto", [new Uint8Array(0), new Uint8Array(0)])
    )
  })
})

describe("pooled messages", () => {
  it("messages built in reused buffers match protobuf-es, multi-byte strings included", () => {
    const pool = new BufferPool()
    const heavy = "中".repeat(30_000) // 3 bytes per unit: overflows the first estimate
    const cases: ReadonlyArray<ReadonlyArray<Payload>> = [
      Array.from({ length: 1000 }, (_, i) => `{"i":${i},"pad":"${"x".repeat(200)}"}`),
      ["{\"one\":1}"],
      [heavy, "x", heavy],
      Array.from({ length: 500 }, (_, i) => "é".repeat(i))
    ]
    for (let round = 0; round < 3; round++) {
      for (const [k, payloads] of cases.entries()) {
        const room = payloads.reduce((n, p) => n + entryEstimate(p), 0)
        const encoded = encodeMessage(pool, round * 1000 + k, "json", payloads, payloads.length, room)
        assert.deepStrictEqual(new Uint8Array(encoded.message), reference(round * 1000 + k, "json", payloads))
        pool.release(encoded.buffer)
      }
    }
  })
})
