import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as TypeText from "../../../src/internal/delta/TypeText.ts"

const reasonOf = (effect: Effect.Effect<unknown, { readonly reason: { readonly _tag: string } }>) =>
  Effect.flip(effect).pipe(Effect.map((e) => e.reason._tag))

// Spark-written schemaString (delta-io golden table style), all supported types.
const sparkSchema = JSON.stringify({
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "ts", type: "timestamp", nullable: true, metadata: {} },
    { name: "amount", type: "decimal(10,2)", nullable: true, metadata: { comment: "money" } },
    { name: "tags", type: { type: "array", elementType: "string", containsNull: true }, nullable: true, metadata: {} },
    {
      name: "attrs",
      type: { type: "map", keyType: "string", valueType: "integer", valueContainsNull: false },
      nullable: true,
      metadata: {}
    },
    {
      name: "loc",
      type: {
        type: "struct",
        fields: [{ name: "lat", type: "double", nullable: true, metadata: {} }, {
          name: "lon",
          type: "float",
          nullable: false,
          metadata: {}
        }]
      },
      nullable: true,
      metadata: {}
    },
    { name: "b", type: "byte", nullable: true, metadata: {} },
    { name: "s", type: "short", nullable: true, metadata: {} },
    { name: "i", type: "integer", nullable: true, metadata: {} },
    { name: "ok", type: "boolean", nullable: true, metadata: {} },
    { name: "payload", type: "binary", nullable: true, metadata: {} },
    { name: "day", type: "date", nullable: true, metadata: {} }
  ]
})

describe("DeltaType", () => {
  it.effect("parses a Spark-style schemaString and writes it back unchanged", () =>
    Effect.gen(function*() {
      const schema = yield* Delta.parseSchemaString(sparkSchema)
      assert.strictEqual(schema.fields.length, 12)
      assert.deepStrictEqual(schema.fields[0], Delta.field("id", Delta.long, false))
      assert.deepStrictEqual(schema.fields[2]!.type, Delta.decimal(10, 2))
      assert.deepStrictEqual(schema.fields[2]!.metadata, { comment: "money" })
      assert.deepStrictEqual(schema.fields[4]!.type, Delta.map(Delta.string, Delta.integer, false))
      assert.deepStrictEqual(
        schema.fields[5]!.type,
        Delta.struct([Delta.field("lat", Delta.double), Delta.field("lon", Delta.float, false)])
      )
      assert.deepStrictEqual(JSON.parse(Delta.toSchemaString(schema)), JSON.parse(sparkSchema))
    }))

  it.effect("plain 'decimal' is decimal(10,0); metadata defaults to {}", () =>
    Effect.gen(function*() {
      const schema = yield* Delta.parseSchemaString(
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"d\",\"type\":\"decimal\",\"nullable\":true}]}"
      )
      assert.deepStrictEqual(schema.fields[0], Delta.field("d", Delta.decimal(10, 0)))
    }))

  it.effect("rejects malformed JSON, unknown types, duplicate names and bad decimals", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* reasonOf(Delta.parseSchemaString("{")), "InvalidSchema")
      assert.strictEqual(
        yield* reasonOf(Delta.parseSchemaString("{\"type\":\"struct\",\"fields\":[{\"name\":1}]}")),
        "InvalidSchema"
      )
      const unknown = yield* Effect.flip(
        Delta.parseSchemaString(
          "{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"interval\",\"nullable\":true}]}"
        )
      )
      assert.strictEqual(unknown.reason._tag, "UnsupportedType")
      assert.include(unknown.message, "'x'")
      const dup = yield* Effect.flip(
        Delta.validate(Delta.struct([Delta.field("Id", Delta.long), Delta.field("id", Delta.string)]))
      )
      assert.include(dup.message, "duplicate field name 'id'")
      const nested = yield* Effect.flip(
        Delta.validate(Delta.struct([Delta.field("a", Delta.struct([Delta.field("d", Delta.decimal(40, 2))]))]))
      )
      assert.strictEqual(nested.reason._tag, "UnsupportedType")
      assert.include(nested.message, "'a.d'")
      assert.strictEqual(
        yield* reasonOf(Delta.validate(Delta.struct([Delta.field("a b", Delta.long)]))),
        "InvalidSchema"
      )
      assert.strictEqual(yield* reasonOf(Delta.validate(Delta.struct([]))), "InvalidSchema")
      assert.strictEqual(
        yield* reasonOf(Delta.validate(Delta.struct([Delta.field("m", Delta.map(Delta.binary, Delta.long))]))),
        "UnsupportedType"
      )
    }))

  it.effect("checkWritable refuses timestamp_ntz and variant, naming the column", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(
        Delta.checkWritable(Delta.struct([Delta.field("s", Delta.struct([Delta.field("t", Delta.timestampNtz)]))]))
      )
      assert.include(e.message, "'s.t'")
      assert.include(e.message, "timestampNtz")
    }))
})

describe("TypeText", () => {
  it.effect("parses UC type_text case-insensitively", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, Delta.DeltaType]> = [
        ["BIGINT", Delta.long],
        ["bigint", Delta.long],
        ["LONG", Delta.long],
        ["INT", Delta.integer],
        ["integer", Delta.integer],
        ["smallint", Delta.short],
        ["TINYINT", Delta.byte],
        ["Float", Delta.float],
        ["DOUBLE", Delta.double],
        ["STRING", Delta.string],
        ["VARCHAR(20)", Delta.string],
        ["BOOLEAN", Delta.boolean],
        ["BINARY", Delta.binary],
        ["DATE", Delta.date],
        ["TIMESTAMP", Delta.timestamp],
        ["TIMESTAMP_NTZ", Delta.timestampNtz],
        ["DECIMAL(10,2)", Delta.decimal(10, 2)],
        ["decimal( 38 , 0 )", Delta.decimal(38, 0)],
        ["DECIMAL", Delta.decimal(10, 0)],
        ["DECIMAL(5)", Delta.decimal(5, 0)],
        ["ARRAY<BIGINT>", Delta.array(Delta.long)],
        ["MAP<STRING,BIGINT>", Delta.map(Delta.string, Delta.long)],
        ["map<string, array<int>>", Delta.map(Delta.string, Delta.array(Delta.integer))],
        [
          "ARRAY<STRUCT<a:INT,b:STRING>>",
          Delta.array(Delta.struct([Delta.field("a", Delta.integer), Delta.field("b", Delta.string)]))
        ],
        [
          "struct<id: bigint NOT NULL COMMENT 'the, id', `odd name`:struct<x:double>>",
          Delta.struct([
            Delta.field("id", Delta.long, false),
            Delta.field("odd name", Delta.struct([Delta.field("x", Delta.double)]))
          ])
        ]
      ]
      for (const [text, expected] of cases) {
        assert.deepStrictEqual(yield* TypeText.parseTypeText(text), expected, text)
      }
    }))

  it.effect("names the column in errors", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(TypeText.parseTypeText("INTERVAL DAY", "span"))
      assert.strictEqual(unknown.reason._tag, "UnsupportedType")
      assert.include(unknown.message, "'span'")
      const syntax = yield* Effect.flip(TypeText.parseTypeText("ARRAY<INT", "xs"))
      assert.strictEqual(syntax.reason._tag, "InvalidSchema")
      assert.include(syntax.message, "column 'xs'")
      const trailing = yield* Effect.flip(TypeText.parseTypeText("INT INT", "n"))
      assert.include(trailing.message, "trailing")
    }))

  it.effect("reads UC columns into a table schema and renders type text back", () =>
    Effect.gen(function*() {
      const schema = yield* TypeText.schemaFromColumns([
        { name: "id", type_text: "bigint", nullable: false },
        { name: "items", type_text: "array<struct<sku:string,qty:int>>", nullable: true },
        { name: "price", type_text: "decimal(10,2)" }
      ])
      assert.deepStrictEqual(schema.fields.map((f) => [f.name, Delta.toTypeText(f.type), f.nullable]), [
        ["id", "bigint", false],
        ["items", "array<struct<sku:string,qty:int>>", true],
        ["price", "decimal(10,2)", true]
      ])
      const dup = yield* Effect.flip(TypeText.schemaFromColumns([
        { name: "a", type_text: "int" },
        { name: "A", type_text: "int" }
      ]))
      assert.strictEqual(dup.reason._tag, "InvalidSchema")
    }))
})
