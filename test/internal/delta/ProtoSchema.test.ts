import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf"
import { reflect } from "@bufbuild/protobuf/reflect"
import {
  DescriptorProtoSchema,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type FieldDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as ProtoRecord from "../../../src/internal/delta/ProtoRecord.ts"
import * as ProtoSchema from "../../../src/internal/delta/ProtoSchema.ts"
import * as TypeText from "../../../src/internal/delta/TypeText.ts"

// The happy-path case of Databricks' generator test suite, and the text it expects.
const generatorColumns = [
  { name: "id", type_text: "INT", nullable: false },
  { name: "name", type_text: "STRING", nullable: true },
  { name: "data", type_text: "BINARY", nullable: false },
  { name: "props", type_text: "MAP<STRING, STRING>", nullable: false },
  { name: "scores", type_text: "ARRAY<DOUBLE>", nullable: false },
  { name: "address", type_text: "STRUCT<street:STRING, city:STRING>", nullable: true }
]
const generatorText =
  "syntax = \"proto2\";\n\npackage test;\n\nmessage table_TestMessage {\n\trequired int32 id = 1;\n" +
  "\toptional string name = 2;\n\trequired bytes data = 3;\n\tmap<string, string> props = 4;\n" +
  "\trepeated double scores = 5;\n\tmessage Address {\n\t\toptional string street = 1;\n\t\toptional string city = 2;\n" +
  "\t}\n\n\toptional Address address = 6;\n}\n"

const allTypes = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("b", Delta.byte),
  Delta.field("s", Delta.short),
  Delta.field("i", Delta.integer),
  Delta.field("f", Delta.float),
  Delta.field("d", Delta.double),
  Delta.field("ok", Delta.boolean),
  Delta.field("name", Delta.string),
  Delta.field("payload", Delta.binary),
  Delta.field("day", Delta.date),
  Delta.field("ts", Delta.timestamp),
  Delta.field("tags", Delta.array(Delta.string)),
  Delta.field("attrs", Delta.map(Delta.string, Delta.long)),
  Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double), Delta.field("lon", Delta.double)])),
  Delta.field(
    "line_items",
    Delta.array(Delta.struct([Delta.field("sku", Delta.string), Delta.field("qty", Delta.integer, false)]))
  ),
  Delta.field("by_key", Delta.map(Delta.long, Delta.struct([Delta.field("v", Delta.string)])))
])

const roundTrip = (schema: Delta.StructType) =>
  Effect.gen(function*() {
    const out = yield* ProtoSchema.toProto(schema, { messageName: "table_events", packageName: "events" })
    return yield* ProtoSchema.resolveDescriptor(toBinary(DescriptorProtoSchema, out.descriptor))
  })

describe("ProtoSchema.toProto", () => {
  it.effect("produces exactly the text of Databricks' generator", () =>
    Effect.gen(function*() {
      const schema = yield* TypeText.schemaFromColumns(generatorColumns)
      const out = yield* ProtoSchema.toProto(schema, { messageName: "table_TestMessage", packageName: "test" })
      assert.strictEqual(out.text, generatorText)
      const fields = out.descriptor.field.map((f) => [f.name, f.number, f.label, f.type, f.typeName])
      const L = FieldDescriptorProto_Label
      const T = FieldDescriptorProto_Type
      assert.deepStrictEqual(fields, [
        ["id", 1, L.REQUIRED, T.INT32, ""],
        ["name", 2, L.OPTIONAL, T.STRING, ""],
        ["data", 3, L.REQUIRED, T.BYTES, ""],
        ["props", 4, L.REPEATED, T.MESSAGE, ".test.table_TestMessage.PropsEntry"],
        ["scores", 5, L.REPEATED, T.DOUBLE, ""],
        ["address", 6, L.OPTIONAL, T.MESSAGE, ".test.table_TestMessage.Address"]
      ])
      assert.deepStrictEqual(out.descriptor.nestedType.map((n) => [n.name, n.options?.mapEntry ?? false]), [
        ["PropsEntry", true],
        ["Address", false]
      ])
    }))

  it.effect("maps DATE to int32, TIMESTAMP to int64, nests structs in arrays and maps", () =>
    Effect.gen(function*() {
      const out = yield* ProtoSchema.toProto(allTypes, { messageName: "table_events" })
      assert.include(out.text, "\toptional int32 day = 10;\n")
      assert.include(out.text, "\toptional int64 ts = 11;\n")
      assert.include(out.text, "\trepeated LineItems line_items = 15;\n")
      assert.include(out.text, "\t\toptional int32 qty = 2;\n") // struct fields are always optional
      assert.include(out.text, "\tmap<int64, ByKey> by_key = 16;\n")
      assert.include(out.text, "\toptional int32 b = 2;\n")
    }))

  it.effect("skips field numbers 19000-19999", () =>
    Effect.gen(function*() {
      const wide = Delta.struct(Array.from({ length: 19001 }, (_, i) => Delta.field(`c${i}`, Delta.integer)))
      const out = yield* ProtoSchema.toProto(wide, { messageName: "wide" })
      assert.deepStrictEqual(out.descriptor.field.slice(18997).map((f) => f.number), [18998, 18999, 20000, 20001])
    }))

  it.effect("fails on unsupported types naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Delta.StructField, string]> = [
        [Delta.field("amount", Delta.decimal(10, 2)), "amount"],
        [Delta.field("grid", Delta.array(Delta.array(Delta.integer))), "grid"],
        [Delta.field("ms", Delta.array(Delta.map(Delta.string, Delta.string))), "ms"],
        [Delta.field("mm", Delta.map(Delta.string, Delta.map(Delta.string, Delta.string))), "mm"],
        [Delta.field("fk", Delta.map(Delta.double, Delta.string)), "fk"],
        [Delta.field("s", Delta.struct([Delta.field("d", Delta.decimal(5, 1))])), "s.d"],
        [Delta.field("message", Delta.string), "message"],
        [Delta.field("9lives", Delta.string), "9lives"]
      ]
      for (const [field, name] of cases) {
        const e = yield* Effect.flip(ProtoSchema.toProto(Delta.struct([field]), { messageName: "m" }))
        assert.strictEqual(e.reason._tag, "UnsupportedType")
        assert.include(e.message, `field '${name}'`)
      }
    }))
})

describe("ProtoSchema descriptors", () => {
  it.effect("round-trips a generated descriptor into a table schema", () =>
    Effect.gen(function*() {
      const message = yield* roundTrip(allTypes)
      const schema = yield* ProtoSchema.schemaFromDescriptor(message)
      assert.deepStrictEqual(schema.fields.map((f) => [f.name, Delta.toTypeText(f.type), f.nullable]), [
        ["id", "bigint", false],
        ["b", "int", true],
        ["s", "int", true],
        ["i", "int", true],
        ["f", "float", true],
        ["d", "double", true],
        ["ok", "boolean", true],
        ["name", "string", true],
        ["payload", "binary", true],
        ["day", "int", true],
        ["ts", "bigint", true],
        ["tags", "array<string>", true],
        ["attrs", "map<string,bigint>", true],
        ["loc", "struct<lat:double,lon:double>", true],
        ["line_items", "array<struct<sku:string,qty:int>>", true],
        ["by_key", "map<bigint,struct<v:string>>", true]
      ])
    }))

  it.effect("resolves type names under any package and rejects external references", () =>
    Effect.gen(function*() {
      const descriptor = create(DescriptorProtoSchema, {
        name: "Order",
        field: [
          { name: "id", number: 1, label: 2, type: FieldDescriptorProto_Type.INT64 },
          {
            name: "status",
            number: 2,
            label: 1,
            type: FieldDescriptorProto_Type.ENUM,
            typeName: ".shop.v1.Order.Status"
          },
          { name: "customer", number: 3, label: 1, type: FieldDescriptorProto_Type.MESSAGE, typeName: "Order.Customer" }
        ],
        nestedType: [{ name: "Customer", field: [{ name: "email", number: 1, label: 1, type: 9 }] }],
        enumType: [{ name: "Status", value: [{ name: "NEW", number: 0 }, { name: "PAID", number: 1 }] }]
      })
      const message = yield* ProtoSchema.resolveDescriptor(toBinary(DescriptorProtoSchema, descriptor))
      const schema = yield* ProtoSchema.schemaFromDescriptor(message)
      assert.strictEqual(
        Delta.toTypeText(schema),
        "struct<id:bigint not null,status:string,customer:struct<email:string>>"
      )

      const external = create(DescriptorProtoSchema, {
        name: "E",
        field: [{ name: "at", number: 1, label: 1, type: 11, typeName: ".google.protobuf.Duration" }]
      })
      const e = yield* Effect.flip(ProtoSchema.resolveDescriptor(external))
      assert.strictEqual(e.reason._tag, "InvalidSchema")
      assert.include(e.message, "'at'")
      assert.include(e.message, "self-contained")
      const garbage = yield* Effect.flip(ProtoSchema.resolveDescriptor(new Uint8Array([0xff, 0xff, 0xff])))
      assert.strictEqual(garbage.reason._tag, "InvalidSchema")
    }))

  it.effect("maps google.protobuf.Timestamp and the wrapper types", () =>
    Effect.gen(function*() {
      const descriptor = create(DescriptorProtoSchema, {
        name: "Event",
        field: [
          { name: "at", number: 1, label: 1, type: 11, typeName: ".google.protobuf.Timestamp" },
          { name: "count", number: 2, label: 1, type: 11, typeName: ".google.protobuf.Int64Value" },
          { name: "note", number: 3, label: 1, type: 11, typeName: "google.protobuf.StringValue" },
          { name: "times", number: 4, label: 3, type: 11, typeName: ".google.protobuf.Timestamp" }
        ]
      })
      const message = yield* ProtoSchema.resolveDescriptor(toBinary(DescriptorProtoSchema, descriptor))
      const schema = yield* ProtoSchema.schemaFromDescriptor(message)
      assert.strictEqual(
        Delta.toTypeText(schema),
        "struct<at:timestamp,count:bigint,note:string,times:array<timestamp>>"
      )
      const decode = yield* ProtoRecord.makeDecoder(message, schema)
      const bytes = encode(message, {
        at: { seconds: 1704164645n, nanos: 123456789 },
        count: 42n,
        times: [{ seconds: -1n, nanos: 999_999_000 }]
      })
      assert.deepStrictEqual(Result.getOrThrow(decode(bytes)), {
        at: 1704164645123456n,
        count: 42n,
        note: null,
        times: [-1n]
      })
      // a Timestamp cannot feed a string column
      const e = yield* Effect.flip(ProtoRecord.makeDecoder(message, Delta.struct([Delta.field("at", Delta.string)])))
      assert.include(e.message, "field 'at': message Timestamp cannot be stored")
    }))

  it.effect("rejects recursive messages when creating a table", () =>
    Effect.gen(function*() {
      const descriptor = create(DescriptorProtoSchema, {
        name: "Node",
        field: [{ name: "next", number: 1, label: 1, type: 11, typeName: ".Node" }]
      })
      const message = yield* ProtoSchema.resolveDescriptor(descriptor)
      const e = yield* Effect.flip(ProtoSchema.schemaFromDescriptor(message))
      assert.strictEqual(e.reason._tag, "UnsupportedType")
      assert.include(e.message, "'next'")
    }))
})

const encode = (message: DescMessage, init: Record<string, unknown>): Uint8Array => {
  const r = reflect(message)
  const msg = create(message, init)
  return toBinary(r.desc, msg)
}

describe("ProtoRecord", () => {
  it.effect("decodes records of a generated descriptor into rows", () =>
    Effect.gen(function*() {
      const message = yield* roundTrip(allTypes)
      const decode = yield* ProtoRecord.makeDecoder(message, allTypes)
      const bytes = encode(message, {
        id: 42n,
        b: -5,
        s: 300,
        i: 7,
        f: 1.5,
        d: 2.25,
        ok: false,
        name: "x",
        payload: new Uint8Array([1, 2]),
        day: 19782,
        ts: 1704164645123456n,
        tags: ["a", "b"],
        attrs: { k: 5n },
        loc: { lat: 1 },
        lineItems: [{ sku: "A", qty: 2 }],
        byKey: { "7": { v: "seven" } }
      })
      const row = decode(bytes)
      assert.isTrue(Result.isSuccess(row))
      assert.deepStrictEqual(Result.getOrThrow(row), {
        id: 42n,
        b: -5,
        s: 300,
        i: 7,
        f: 1.5,
        d: 2.25,
        ok: false,
        name: "x",
        payload: new Uint8Array([1, 2]),
        day: 19782,
        ts: 1704164645123456n,
        tags: ["a", "b"],
        attrs: new Map([["k", 5n]]),
        loc: { lat: 1, lon: null },
        line_items: [{ sku: "A", qty: 2 }],
        by_key: new Map([[7n, { v: "seven" }]])
      })
      const sparse = Result.getOrThrow(decode(encode(message, { id: 1n })))
      assert.strictEqual(sparse["name"], null)
      assert.strictEqual(sparse["loc"], null)
      assert.deepStrictEqual(sparse["tags"], [])
      assert.deepStrictEqual(sparse["attrs"], new Map())
    }))

  it.effect("names the column of range errors and missing required fields", () =>
    Effect.gen(function*() {
      const message = yield* roundTrip(allTypes)
      const decode = yield* ProtoRecord.makeDecoder(message, allTypes)
      const range = decode(encode(message, { id: 1n, b: 200 }))
      assert.isTrue(Result.isFailure(range) && range.failure.message === "column 'b': 200 is out of range for byte")
      const nested = decode(encode(message, { id: 1n, lineItems: [{ sku: "A", qty: 1 }, { sku: "B" }] }))
      assert.isTrue(Result.isFailure(nested))
      assert.include(Result.isFailure(nested) ? nested.failure.message : "", "column 'line_items[1].qty'")
      const garbage = decode(new Uint8Array([0x0a, 0xff]))
      assert.isTrue(Result.isFailure(garbage) && garbage.failure.reason._tag === "InvalidRecord")
    }))

  it.effect("validates a descriptor against a table, naming the field", () =>
    Effect.gen(function*() {
      const table = Delta.struct([
        Delta.field("id", Delta.long, false),
        Delta.field("amount", Delta.decimal(10, 2)),
        Delta.field("kind", Delta.string),
        Delta.field("note", Delta.string)
      ])
      const good = yield* ProtoSchema.resolveDescriptor(create(DescriptorProtoSchema, {
        name: "T",
        field: [
          { name: "id", number: 1, label: 1, type: FieldDescriptorProto_Type.UINT32 },
          { name: "amount", number: 2, label: 1, type: FieldDescriptorProto_Type.STRING },
          { name: "kind", number: 3, label: 1, type: FieldDescriptorProto_Type.ENUM, typeName: ".T.Kind" }
        ],
        enumType: [{ name: "Kind", value: [{ name: "A", number: 0 }, { name: "B", number: 1 }] }]
      }))
      const decode = yield* ProtoRecord.makeDecoder(good, table)
      assert.deepStrictEqual(Result.getOrThrow(decode(encode(good, { id: 5, amount: "12.3", kind: 1 }))), {
        id: 5n,
        amount: 1230n,
        kind: "B",
        note: null
      })
      const missing = decode(encode(good, { amount: "1" }))
      assert.isTrue(Result.isFailure(missing) && missing.failure.message === "column 'id': missing required field")

      const id = { name: "id", number: 1, label: 1, type: FieldDescriptorProto_Type.INT64 }
      const cases: ReadonlyArray<readonly [Array<MessageInitShape<typeof FieldDescriptorProtoSchema>>, string]> = [
        [[{ ...id, type: FieldDescriptorProto_Type.STRING }], "field 'id': string cannot"],
        [[id, { name: "extra", number: 2, label: 1, type: FieldDescriptorProto_Type.STRING }], "field 'extra'"],
        [[{ name: "note", number: 1, label: 1, type: FieldDescriptorProto_Type.STRING }], "field 'id': NOT NULL"],
        [[id, { name: "kind", number: 2, label: 1, type: FieldDescriptorProto_Type.DOUBLE }], "field 'kind': double"]
      ]
      for (const [fields, expected] of cases) {
        const message = yield* ProtoSchema.resolveDescriptor(
          create(DescriptorProtoSchema, { name: "T", field: fields })
        )
        const e = yield* Effect.flip(ProtoRecord.makeDecoder(message, table))
        assert.strictEqual(e.reason._tag, "IncompatibleField")
        assert.include(e.message, expected)
      }
    }))
})
