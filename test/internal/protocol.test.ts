import { create } from "@bufbuild/protobuf"
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Protocol from "../../src/internal/protocol.ts"
import { prng } from "../support/prng.ts"

const root = path.resolve(import.meta.dirname, "../..")

describe("wire protocol", () => {
  it("committed generated code matches `npm run proto`", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "zerobus-proto-"))
    try {
      execFileSync(path.join(root, "node_modules/.bin/buf"), ["generate", "-o", out], {
        cwd: root,
        env: { ...process.env, PATH: `${path.join(root, "node_modules/.bin")}:${process.env.PATH}` }
      })
      const committed = path.join(root, "src/internal/gen")
      const generated = path.join(out, "src/internal/gen")
      assert.deepStrictEqual(fs.readdirSync(generated).toSorted(), fs.readdirSync(committed).toSorted())
      for (const file of fs.readdirSync(generated)) {
        assert.strictEqual(
          fs.readFileSync(path.join(generated, file), "utf8"),
          fs.readFileSync(path.join(committed, file), "utf8"),
          `${file} is stale: run npm run proto`
        )
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  })

  it("uses the service's method path and field numbers", () => {
    assert.strictEqual(Protocol.METHOD_PATH, "/databricks.zerobus.Zerobus/EphemeralStream")
    const bytes = Protocol.encodeRequest(create(Protocol.EphemeralStreamRequestSchema, {
      payload: {
        case: "createStream",
        value: { tableName: "c.s.t", recordType: Protocol.RecordType.JSON }
      }
    }))
    // field 1 (create_stream, length-delimited) { field 1 "c.s.t", field 4 varint 2 }
    assert.deepStrictEqual([...bytes], [0x0a, 0x09, 0x0a, 0x05, 0x63, 0x2e, 0x73, 0x2e, 0x74, 0x20, 0x02])
    const batch = Protocol.encodeRequest(create(Protocol.EphemeralStreamRequestSchema, {
      payload: {
        case: "ingestRecordBatch",
        value: { offsetId: 7n, batch: { case: "jsonBatch", value: { records: ["{}", "{}"] } } }
      }
    }))
    // field 3 { field 1 varint 7, field 3 { field 1 "{}", field 1 "{}" } }
    assert.deepStrictEqual([...batch], [
      0x1a,
      0x0c,
      0x08,
      0x07,
      0x1a,
      0x08,
      0x0a,
      0x02,
      0x7b,
      0x7d,
      0x0a,
      0x02,
      0x7b,
      0x7d
    ])
    const decoded = Protocol.decodeRequest(batch)
    assert.strictEqual(decoded.payload.case, "ingestRecordBatch")
  })
})

describe("server request decoding", () => {
  it("reads record requests like protobuf-es, with or without materializing the records", () => {
    const next = prng(7)
    for (let round = 0; round < 200; round++) {
      const json = next() < 0.5
      const count = 1 + Math.floor(next() * 20)
      const offsetId = BigInt(Math.floor(next() * 2 ** 40))
      const strings = Array.from({ length: count }, (_, i) => `{"i":${i},"s":"${"é".repeat(i)}"}`)
      const bytes = strings.map((s) => new TextEncoder().encode(s))
      const batch = count > 1 || next() < 0.3
      const message = create(Protocol.EphemeralStreamRequestSchema, {
        payload: batch
          ? {
            case: "ingestRecordBatch",
            value: {
              offsetId,
              batch: json
                ? { case: "jsonBatch", value: { records: strings } }
                : { case: "protoEncodedBatch", value: { records: bytes } }
            }
          }
          : {
            case: "ingestRecord",
            value: {
              offsetId,
              record: json
                ? { case: "jsonRecord", value: strings[0]! }
                : { case: "protoEncodedRecord", value: bytes[0]! }
            }
          }
      })
      const encoded = Protocol.encodeRequest(message)
      const full = Protocol.decodeServerRequest(encoded, true)
      const counted = Protocol.decodeServerRequest(encoded, false)
      const expected = {
        case: "ingest" as const,
        batch,
        offsetSet: true,
        offsetId,
        kind: json ? "json" as const : "proto" as const,
        count: batch ? count : 1
      }
      assert.deepStrictEqual({ ...full, records: undefined }, { ...expected, records: undefined })
      assert.deepStrictEqual(
        full.case === "ingest" ? full.records : [],
        json ? strings.slice(0, expected.count) : bytes.slice(0, expected.count)
      )
      assert.deepStrictEqual({ ...counted, records: undefined }, { ...expected, records: undefined })
      assert.deepStrictEqual(counted.case === "ingest" ? counted.records : undefined, [])
    }
  })

  it("reads create_stream with protobuf-es, reports missing fields, refuses malformed bytes", () => {
    const created = Protocol.decodeServerRequest(
      Protocol.encodeRequest(create(Protocol.EphemeralStreamRequestSchema, {
        payload: { case: "createStream", value: { tableName: "c.s.t", recordType: Protocol.RecordType.JSON } }
      })),
      true
    )
    assert.strictEqual(created.case === "createStream" ? created.value.tableName : "", "c.s.t")
    assert.deepStrictEqual(Protocol.decodeServerRequest(new Uint8Array(0), true), { case: undefined })
    const noOffset = Protocol.decodeServerRequest(new Uint8Array([0x12, 0x00]), true)
    assert.deepStrictEqual(noOffset, {
      case: "ingest",
      batch: false,
      offsetSet: false,
      offsetId: 0n,
      kind: undefined,
      count: 0,
      records: []
    })
    assert.throws(() => Protocol.decodeServerRequest(new Uint8Array([0x1a, 0x05, 0x08]), true))
    assert.throws(() => Protocol.decodeServerRequest(new Uint8Array([0x1a, 0x03, 0x08, 0x01, 0x1a]), true))
  })
})
