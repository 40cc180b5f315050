import {
  create,
  createFileRegistry,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  toBinary,
  toJson
} from "@bufbuild/protobuf"
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  timestampFromDate
} from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Predicate } from "effect"
import { Base64 } from "effect/encoding"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { registryFromDescriptor, selfContained } from "../../../src/internal/proto/descriptors.ts"
import {
  EphemeralStreamRequestSchema,
  EphemeralStreamResponseSchema,
  RecordType
} from "../../../src/internal/protocol.ts"
import * as ProtoSchema from "../../../src/ProtoSchema.ts"

const root = path.resolve(import.meta.dirname, "../../..")

/** Builds the fixtures with buf (as `protoc --include_imports --descriptor_set_out` would). */
const buildFixtures = (): Uint8Array => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proto-fixtures-"))
  try {
    fs.cpSync(path.join(import.meta.dirname, "fixtures"), path.join(dir, "src"), { recursive: true })
    const out = path.join(dir, "set.binpb")
    execFileSync(path.join(root, "node_modules/.bin/buf"), ["build", path.join(dir, "src"), "-o", out], {
      cwd: dir,
      timeout: 60_000
    })
    return new Uint8Array(fs.readFileSync(out))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The descriptor alone in a proto2 file without package: how a Zerobus server sees it. */
const standalone = (descriptor: DescriptorProto): DescMessage => {
  const file = create(FileDescriptorProtoSchema, { name: "stream.proto", syntax: "proto2", messageType: [descriptor] })
  const message = createFileRegistry(file, () => undefined).getMessage(descriptor.name)
  if (message === undefined) throw new Error(`${descriptor.name} did not register`)
  return message
}

const nestedNames = (d: DescriptorProto): Array<string> => [...d.nestedType, ...d.enumType].map((t) => t.name)

const fieldTypeName = (d: DescriptorProto, name: string): string | undefined =>
  d.field.find((f) => f.name === name)?.typeName

const getMessage = (registry: FileRegistry, name: string): DescMessage => {
  const message = registry.getMessage(name)
  if (message === undefined) throw new Error(`no message ${name}`)
  return message
}

describe("self-contained descriptors from protobuf-es messages", () => {
  it("inlines sibling messages, enums and imported well-known types of generated code", () => {
    const d = selfContained(EphemeralStreamResponseSchema)
    assert.strictEqual(d.name, "EphemeralStreamResponse")
    assert.includeMembers(nestedNames(d), [
      "CreateIngestStreamResponse",
      "IngestRecordResponse",
      "CloseStreamSignal",
      "Duration"
    ])
    assert.strictEqual(fieldTypeName(d, "close_stream_signal"), ".EphemeralStreamResponse.CloseStreamSignal")
    const signal = d.nestedType.find((m) => m.name === "CloseStreamSignal")
    assert.strictEqual(fieldTypeName(signal ?? d, "duration"), ".EphemeralStreamResponse.Duration")
    // the original is untouched
    assert.strictEqual(
      EphemeralStreamResponseSchema.proto.field[0]?.typeName,
      ".databricks.zerobus.CreateIngestStreamResponse"
    )
    // same bytes, same values
    const message = standalone(d)
    const original = create(EphemeralStreamResponseSchema, {
      payload: { case: "closeStreamSignal", value: { duration: { seconds: 12n, nanos: 5 } } }
    })
    const bytes = toBinary(EphemeralStreamResponseSchema, original)
    const decoded = fromBinary(message, bytes)
    assert.deepStrictEqual(toBinary(message, decoded), bytes)
    // an inlined well-known type is a plain message: its JSON form is its fields
    assert.deepStrictEqual(toJson(message, decoded), { closeStreamSignal: { duration: { seconds: "12", nanos: 5 } } })
    assert.deepStrictEqual(toJson(EphemeralStreamResponseSchema, original), {
      closeStreamSignal: { duration: "12.000000005s" }
    })
  })

  it("inlines a top-level enum of the file", () => {
    const d = selfContained(EphemeralStreamRequestSchema, "Request")
    assert.strictEqual(d.name, "Request")
    assert.include(nestedNames(d), "RecordType")
    const message = standalone(d)
    const original = create(EphemeralStreamRequestSchema, {
      payload: {
        case: "createStream",
        value: { tableName: "c.s.t", recordType: RecordType.PROTO, descriptorProto: new Uint8Array([1, 2]) }
      }
    })
    const bytes = toBinary(EphemeralStreamRequestSchema, original)
    assert.deepStrictEqual(toJson(message, fromBinary(message, bytes)), toJson(EphemeralStreamRequestSchema, original))
  })

  it("is what ProtoSchema.descriptorFromMessage returns", () => {
    const descriptor = ProtoSchema.descriptorFromMessage(EphemeralStreamResponseSchema, { messageName: "table_x" })
    assert.strictEqual(descriptor.messageName, "table_x")
    assert.deepStrictEqual(
      descriptor.descriptorBytes,
      toBinary(DescriptorProtoSchema, selfContained(EphemeralStreamResponseSchema, "table_x"))
    )
    assert.isTrue(ProtoSchema.isProtoDescriptor(descriptor))
  })
})

describe("descriptors from a FileDescriptorSet", () => {
  const setBytes = buildFixtures()
  const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, setBytes))
  const orders = getMessage(registry, "shop.orders.table_Orders")

  const sampleOrder = () =>
    create(orders, {
      id: -42n,
      customer: "Zoë",
      items: [
        { sku: "A-1", quantity: 2, price: { units: 5n, nanos: 500, currency: 1 } },
        { sku: "B-2" }
      ],
      total: { units: 11n, currency: 2 },
      fees: { shipping: { units: 3n } },
      status: 2,
      placedAt: timestampFromDate(new Date("2024-01-02T03:04:05.678Z")),
      audit: { by: "ops", previous: 1 },
      legacyTotal: { amount: 1.25 },
      codes: [1, -1, 300]
    })

  it.effect("cuts out a message with every type it uses declared inside it", () =>
    Effect.gen(function*() {
      const descriptor = yield* ProtoSchema.descriptorFromFileDescriptorSet(setBytes, "shop.orders.table_Orders")
      const d = descriptor.descriptor
      assert.strictEqual(descriptor.messageName, "table_Orders")
      assert.sameMembers(nestedNames(d), [
        "LineItem",
        "FeesEntry",
        "Status",
        "Money",
        "Timestamp",
        "Audit",
        "Money2",
        "Currency"
      ])
      assert.strictEqual(fieldTypeName(d, "items"), ".table_Orders.LineItem")
      assert.strictEqual(fieldTypeName(d, "total"), ".table_Orders.Money")
      assert.strictEqual(fieldTypeName(d, "legacy_total"), ".table_Orders.Money2")
      assert.strictEqual(fieldTypeName(d, "placed_at"), ".table_Orders.Timestamp")
      const audit = d.nestedType.find((m) => m.name === "Audit")
      assert.strictEqual(fieldTypeName(audit ?? d, "previous"), ".table_Orders.Status")
      const money = d.nestedType.find((m) => m.name === "Money")
      assert.strictEqual(fieldTypeName(money ?? d, "currency"), ".table_Orders.Currency")
      // decodes what the original schema encodes, to the same values
      const message = standalone(d)
      const original = sampleOrder()
      const bytes = toBinary(orders, original)
      const decoded = fromBinary(message, bytes)
      assert.deepStrictEqual(toBinary(message, decoded), bytes)
      const json = toJson(orders, original)
      if (!Predicate.isObject(json) || Array.isArray(json)) throw new Error("not an object")
      assert.deepStrictEqual(toJson(message, decoded), {
        ...json,
        placedAt: { seconds: "1704164645", nanos: 678000000 }
      })
      assert.deepStrictEqual(fromBinary(DescriptorProtoSchema, descriptor.descriptorBytes), d)
    }))

  it.effect("finds a message by a unique simple name or suffix", () =>
    Effect.gen(function*() {
      const audit = yield* ProtoSchema.descriptorFromFileDescriptorSet(setBytes, "Audit")
      assert.strictEqual(audit.messageName, "Audit")
      const money = yield* ProtoSchema.descriptorFromFileDescriptorSet(setBytes, "common.Money")
      assert.strictEqual(money.messageName, "Money")
      const dotted = yield* ProtoSchema.descriptorFromFileDescriptorSet(setBytes, ".legacy.table_Orders")
      assert.deepStrictEqual(dotted.descriptor.field.map((f) => f.name), ["id"])
    }))

  it.effect("fails with MessageNotFound for unknown or ambiguous names", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(ProtoSchema.descriptorFromFileDescriptorSet(setBytes, "Nope"))
      assert.strictEqual(unknown.reason._tag, "MessageNotFound")
      if (unknown.reason._tag !== "MessageNotFound") return
      assert.strictEqual(unknown.reason.messageName, "Nope")
      assert.include(unknown.message, `no message "Nope"`)
      assert.include(unknown.reason.candidates, "shop.orders.table_Orders")
      assert.isFalse(unknown.isRetryable)
      const ambiguous = yield* Effect.flip(ProtoSchema.descriptorFromFileDescriptorSet(setBytes, "table_Orders"))
      assert.strictEqual(ambiguous.reason._tag, "MessageNotFound")
      if (ambiguous.reason._tag !== "MessageNotFound") return
      assert.include(ambiguous.message, "ambiguous")
      assert.sameMembers([...ambiguous.reason.candidates], ["shop.orders.table_Orders", "legacy.table_Orders"])
    }))

  it.effect("fails with InvalidDescriptor for bytes that are not a usable FileDescriptorSet", () =>
    Effect.gen(function*() {
      const garbage = yield* Effect.flip(
        ProtoSchema.descriptorFromFileDescriptorSet(new Uint8Array([0xff, 0xff, 0xff]), "x")
      )
      assert.strictEqual(garbage.reason._tag, "InvalidDescriptor")
      assert.include(garbage.message, "not a serialized FileDescriptorSet")
      const empty = yield* Effect.flip(ProtoSchema.descriptorFromFileDescriptorSet(new Uint8Array(0), "x"))
      assert.include(empty.message, "has no files")
      // a set without its imports (protoc without --include_imports) does not resolve
      const set = fromBinary(FileDescriptorSetSchema, setBytes)
      const withoutImports = create(FileDescriptorSetSchema, {
        file: set.file.filter((f) => f.name === "shop/orders/orders.proto")
      })
      const unresolved = yield* Effect.flip(
        ProtoSchema.descriptorFromFileDescriptorSet(toBinary(FileDescriptorSetSchema, withoutImports), "table_Orders")
      )
      assert.strictEqual(unresolved.reason._tag, "InvalidDescriptor")
      assert.include(unresolved.message, "does not resolve")
    }))

  it("reads a lone DescriptorProto cut out by protoc, inferring its package from the type names", () => {
    const set = fromBinary(FileDescriptorSetSchema, setBytes)
    const legacyFile = set.file.find((f) => f.name === "legacy/orders.proto")
    const legacy = legacyFile?.messageType[0]
    if (legacy === undefined) throw new Error("fixture missing")
    // no type names: no package needed
    assert.strictEqual(registryFromDescriptor(legacy).message.typeName, "table_Orders")
    // a message with only nested references keeps protoc's package
    const nestedOnly = create(DescriptorProtoSchema, {
      name: "table_T",
      field: [{ name: "x", number: 1, label: 1, type: 11, typeName: ".pkg.v1.table_T.X" }],
      nestedType: [{ name: "X", field: [{ name: "y", number: 1, label: 1, type: 9 }] }]
    })
    const { message } = registryFromDescriptor(toBinary(DescriptorProtoSchema, nestedOnly))
    assert.strictEqual(message.typeName, "pkg.v1.table_T")
    assert.strictEqual(message.fields[0]?.message?.typeName, "pkg.v1.table_T.X")
  })

  it.effect("rejects a lone DescriptorProto that refers to types outside it", () =>
    Effect.gen(function*() {
      const set = fromBinary(FileDescriptorSetSchema, setBytes)
      const raw = set.file.find((f) => f.name === "shop/orders/orders.proto")?.messageType[0]
      if (raw === undefined) throw new Error("fixture missing")
      const error = yield* Effect.flip(ProtoSchema.descriptorFromBytes(toBinary(DescriptorProtoSchema, raw)))
      assert.strictEqual(error.reason._tag, "InvalidDescriptor")
      assert.include(error.message, "is not declared inside table_Orders")
    }))
})

describe("ProtoSchema.descriptorFromBytes", () => {
  it.effect("accepts self-contained DescriptorProto bytes or their base64, keeping the bytes", () =>
    Effect.gen(function*() {
      const bytes = toBinary(DescriptorProtoSchema, selfContained(EphemeralStreamResponseSchema))
      const fromBytes = yield* ProtoSchema.descriptorFromBytes(bytes)
      assert.strictEqual(fromBytes.messageName, "EphemeralStreamResponse")
      assert.strictEqual(fromBytes.descriptorBytes, bytes)
      const fromBase64 = yield* ProtoSchema.descriptorFromBytes(Base64.encode(bytes))
      assert.deepStrictEqual(fromBase64.descriptorBytes, bytes)
      assert.deepStrictEqual(
        fromBase64.descriptor.field.map((f) => f.name),
        fromBytes.descriptor.field.map((f) => f.name)
      )
    }))

  it.effect("fails with InvalidDescriptor for bad input", () =>
    Effect.gen(function*() {
      const notBase64 = yield* Effect.flip(ProtoSchema.descriptorFromBytes("%%%"))
      assert.strictEqual(notBase64.reason._tag, "InvalidDescriptor")
      const garbage = yield* Effect.flip(ProtoSchema.descriptorFromBytes(new Uint8Array([0x0a, 0xff])))
      assert.include(garbage.message, "not a serialized DescriptorProto")
      const nameless = yield* Effect.flip(ProtoSchema.descriptorFromBytes(new Uint8Array(0)))
      assert.include(nameless.message, "has no name")
      const dangling = create(DescriptorProtoSchema, {
        name: "T",
        field: [{ name: "x", number: 1, label: 1, type: 11, typeName: ".T.Missing" }]
      })
      const unresolved = yield* Effect.flip(ProtoSchema.descriptorFromBytes(toBinary(DescriptorProtoSchema, dangling)))
      assert.include(unresolved.message, "not self-contained")
    }))
})
