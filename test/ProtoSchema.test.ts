import {
  create,
  createFileRegistry,
  type DescMessage,
  fromBinary,
  isFieldSet,
  type MessageInitShape,
  toBinary
} from "@bufbuild/protobuf"
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema
} from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Result, Schema } from "effect"
import * as Delta from "../src/internal/delta/DeltaType.ts"
import * as ProtoRecord from "../src/internal/delta/ProtoRecord.ts"
import * as DeltaProto from "../src/internal/delta/ProtoSchema.ts"
import * as ProtoSchema from "../src/ProtoSchema.ts"

/** protobuf-es' view of a descriptor: the DescriptorProto alone in a proto2 file without package. */
const messageOf = (descriptor: DescriptorProto): DescMessage => {
  const file = create(FileDescriptorProtoSchema, { name: "record.proto", syntax: "proto2", messageType: [descriptor] })
  const message = createFileRegistry(file, () => undefined).getMessage(descriptor.name)
  if (message === undefined) throw new Error(`${descriptor.name} did not register`)
  return message
}

/** Decodes with protobuf-es; fields read by name (unset proto2 fields read their defaults). */
const decode = (message: DescMessage, bytes: Uint8Array): Readonly<Record<string, unknown>> =>
  fromBinary(message, bytes)

/** What UTF-8 encoding keeps of a string: lone surrogates become U+FFFD. */
const wellFormed = (s: string): string =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")

const fieldOf = (descriptor: DescriptorProto, name: string) => {
  const field = descriptor.field.find((f) => f.name === name)
  if (field === undefined) throw new Error(`no field ${name}`)
  return field
}

const nestedOf = (descriptor: DescriptorProto, name: string): DescriptorProto => {
  const nested = descriptor.nestedType.find((m) => m.name === name)
  if (nested === undefined) throw new Error(`no nested type ${name}`)
  return nested
}

/** The mapping failure of a schema. */
const unsupported = (schema: Schema.Top, options?: ProtoSchema.MakeOptions) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(ProtoSchema.make(schema, options))
    assert.isTrue(ProtoSchema.isProtoSchemaError(error))
    assert.isFalse(error.isRetryable)
    const reason = error.reason
    if (reason._tag !== "UnsupportedSchema") throw new Error(`unexpected reason ${reason._tag}`)
    return reason
  })

const expectUnsupported = (schema: Schema.Top, path: string, fragment: string, options?: ProtoSchema.MakeOptions) =>
  Effect.gen(function*() {
    const reason = yield* unsupported(schema, options)
    assert.strictEqual(reason.path, path)
    assert.include(reason.message, fragment)
  })

const MS_PER_DAY = 86_400_000

class Point extends Schema.Class<Point>("Point")({ x: Schema.Number, y: Schema.Number }) {}

const Everything = Schema.Struct({
  str: Schema.String,
  bool: Schema.Boolean,
  dbl: Schema.Number,
  flt: ProtoSchema.float,
  i32: ProtoSchema.int32,
  u32: ProtoSchema.uint32,
  s32: ProtoSchema.sint32,
  f32: ProtoSchema.fixed32,
  sf32: ProtoSchema.sfixed32,
  i64: ProtoSchema.int64,
  u64: ProtoSchema.uint64,
  s64: ProtoSchema.sint64,
  f64: ProtoSchema.fixed64,
  sf64: ProtoSchema.sfixed64,
  i64n: Schema.Int.pipe(ProtoSchema.scalar("int64")),
  u64n: Schema.Int.pipe(ProtoSchema.scalar("uint64")),
  s64n: Schema.Int.pipe(ProtoSchema.scalar("sint64")),
  f64n: Schema.Int.pipe(ProtoSchema.scalar("fixed64")),
  sf64n: Schema.Int.pipe(ProtoSchema.scalar("sfixed64")),
  big: Schema.BigInt.check(Schema.isBetweenBigInt({ minimum: -(2n ** 63n), maximum: 2n ** 63n - 1n })),
  ts: Schema.Date,
  day: ProtoSchema.date,
  utc: Schema.DateTimeUtc,
  utcDay: Schema.DateTimeUtc.pipe(ProtoSchema.epochDays),
  bytes: Schema.Uint8Array,
  color: Schema.Literals(["red", "green"]),
  level: Schema.Literals([1, 2, 3]).pipe(ProtoSchema.scalar("int32")),
  ints: Schema.Array(ProtoSchema.int32),
  doubles: Schema.Array(Schema.Number),
  bools: Schema.Array(Schema.Boolean),
  longs: Schema.Array(ProtoSchema.sint64),
  strs: Schema.Array(Schema.String),
  blobs: Schema.Array(Schema.Uint8Array),
  dates: Schema.Array(Schema.Date),
  nested: Schema.Struct({ a: Schema.String, deeper: Schema.Struct({ b: ProtoSchema.int32 }) }),
  points: Schema.Array(Point),
  attrs: Schema.Record(Schema.String, Schema.String),
  weights: Schema.Record(Schema.String, ProtoSchema.float),
  places: Schema.Record(Schema.String, Point),
  optStr: Schema.optional(Schema.String),
  optKey: Schema.optionalKey(ProtoSchema.int32),
  nullNum: Schema.NullOr(Schema.Number),
  undefBool: Schema.UndefinedOr(Schema.Boolean),
  nullish: Schema.NullishOr(Schema.Date),
  optNested: Schema.optional(Schema.Struct({ c: Schema.String })),
  optList: Schema.optional(Schema.Array(Schema.String))
})
type Everything = typeof Everything.Type

const everythingCodec = ProtoSchema.makeUnsafe(Everything, { messageName: "table_everything" })
const everythingMessage = messageOf(everythingCodec.descriptor)

const micros = (d: Date): bigint => BigInt(d.getTime()) * 1000n
const days = (ms: number): number => Math.floor(ms / MS_PER_DAY)

const point = (p: Point) => ({ x: p.x, y: p.y })

/** The same record as protobuf-es message init, converted by hand per the documented mapping. */
const toInit = (v: Everything): MessageInitShape<DescMessage> => {
  return {
    str: v.str,
    bool: v.bool,
    dbl: v.dbl,
    flt: v.flt,
    i32: v.i32,
    u32: v.u32,
    s32: v.s32,
    f32: v.f32,
    sf32: v.sf32,
    i64: v.i64,
    u64: v.u64,
    s64: v.s64,
    f64: v.f64,
    sf64: v.sf64,
    i64n: BigInt(v.i64n),
    u64n: BigInt(v.u64n),
    s64n: BigInt(v.s64n),
    f64n: BigInt(v.f64n),
    sf64n: BigInt(v.sf64n),
    big: v.big,
    ts: micros(v.ts),
    day: days(v.day.getTime()),
    utc: BigInt(DateTime.toEpochMillis(v.utc)) * 1000n,
    utcDay: days(DateTime.toEpochMillis(v.utcDay)),
    bytes: v.bytes,
    color: v.color,
    level: v.level,
    ints: [...v.ints],
    doubles: [...v.doubles],
    bools: [...v.bools],
    longs: v.longs.map(BigInt),
    strs: [...v.strs],
    blobs: [...v.blobs],
    dates: v.dates.map(micros),
    nested: { a: v.nested.a, deeper: { b: v.nested.deeper.b } },
    points: v.points.map(point),
    attrs: { ...v.attrs },
    weights: { ...v.weights },
    places: Object.fromEntries(Object.entries(v.places).map(([k, p]) => [k, point(p)])),
    ...(v.optStr === undefined ? {} : { optStr: v.optStr }),
    ...(v.optKey === undefined ? {} : { optKey: v.optKey }),
    ...(v.nullNum === null ? {} : { nullNum: v.nullNum }),
    ...(v.undefBool === undefined ? {} : { undefBool: v.undefBool }),
    ...(v.nullish === null || v.nullish === undefined ? {} : { nullish: micros(v.nullish) }),
    ...(v.optNested === undefined ? {} : { optNested: { c: v.optNested.c } }),
    optList: v.optList === undefined ? [] : [...v.optList]
  }
}

const sample: Everything = {
  str: "héllo 😀",
  bool: true,
  dbl: -1.25,
  flt: 3.5,
  i32: -7,
  u32: 4294967295,
  s32: -2147483648,
  f32: 123456,
  sf32: -123456,
  i64: -(2n ** 63n),
  u64: 2n ** 64n - 1n,
  s64: 2n ** 63n - 1n,
  f64: 2n ** 64n - 1n,
  sf64: -(2n ** 63n),
  i64n: Number.MIN_SAFE_INTEGER,
  u64n: Number.MAX_SAFE_INTEGER,
  s64n: -1,
  f64n: 2 ** 40,
  sf64n: -(2 ** 40),
  big: 12345678901234567890n - 2n ** 64n,
  ts: new Date("2024-05-06T07:08:09.123Z"),
  day: new Date("2024-05-06T23:59:59.999Z"),
  utc: DateTime.makeUnsafe("1969-12-31T23:59:59.999Z"),
  utcDay: DateTime.makeUnsafe("1969-12-31T12:00:00Z"),
  bytes: new Uint8Array([0, 1, 255]),
  color: "green",
  level: 2,
  ints: [0, -1, 300, 2147483647],
  doubles: [0.5, -0, Number.NaN, Infinity],
  bools: [true, false, true],
  longs: [0n, -1n, 2n ** 62n],
  strs: ["", "a", "ü"],
  blobs: [new Uint8Array(0), new Uint8Array([7])],
  dates: [new Date(0), new Date(-1)],
  nested: { a: "in", deeper: { b: -1 } },
  points: [new Point({ x: 1, y: 2 }), new Point({ x: -0.5, y: 1e300 })],
  attrs: { k: "v", "": "empty key", "1": "numeric-looking key" },
  weights: { w: 0.25 },
  places: { home: new Point({ x: 3, y: 4 }) },
  optStr: "present",
  nullNum: null,
  undefBool: undefined,
  nullish: null,
  optList: ["x"]
}

describe("ProtoSchema descriptors", () => {
  it("maps every supported type to its proto2 field", () => {
    const d = everythingCodec.descriptor
    assert.strictEqual(everythingCodec.messageName, "table_everything")
    assert.strictEqual(d.name, "table_everything")
    const expectType = (name: string, type: Type, label: Label = Label.REQUIRED) => {
      const field = fieldOf(d, name)
      assert.strictEqual(field.type, type, `type of ${name}`)
      assert.strictEqual(field.label, label, `label of ${name}`)
    }
    expectType("str", Type.STRING)
    expectType("bool", Type.BOOL)
    expectType("dbl", Type.DOUBLE)
    expectType("flt", Type.FLOAT)
    expectType("i32", Type.INT32)
    expectType("u32", Type.UINT32)
    expectType("s32", Type.SINT32)
    expectType("f32", Type.FIXED32)
    expectType("sf32", Type.SFIXED32)
    expectType("i64", Type.INT64)
    expectType("u64", Type.UINT64)
    expectType("s64", Type.SINT64)
    expectType("f64", Type.FIXED64)
    expectType("sf64", Type.SFIXED64)
    expectType("i64n", Type.INT64)
    expectType("sf64n", Type.SFIXED64)
    expectType("big", Type.INT64)
    expectType("ts", Type.INT64)
    expectType("day", Type.INT32)
    expectType("utc", Type.INT64)
    expectType("utcDay", Type.INT32)
    expectType("bytes", Type.BYTES)
    expectType("color", Type.STRING)
    expectType("level", Type.INT32)
    expectType("ints", Type.INT32, Label.REPEATED)
    expectType("strs", Type.STRING, Label.REPEATED)
    expectType("nested", Type.MESSAGE)
    expectType("points", Type.MESSAGE, Label.REPEATED)
    expectType("attrs", Type.MESSAGE, Label.REPEATED)
    expectType("optStr", Type.STRING, Label.OPTIONAL)
    expectType("optKey", Type.INT32, Label.OPTIONAL)
    expectType("nullNum", Type.DOUBLE, Label.OPTIONAL)
    expectType("undefBool", Type.BOOL, Label.OPTIONAL)
    expectType("nullish", Type.INT64, Label.OPTIONAL)
    expectType("optNested", Type.MESSAGE, Label.OPTIONAL)
    expectType("optList", Type.STRING, Label.REPEATED)
    // declaration order from 1
    assert.deepStrictEqual(d.field.map((f) => f.number), d.field.map((_, i) => i + 1))
    // packed: numbers and booleans only
    for (const name of ["ints", "doubles", "bools", "longs", "dates"]) {
      assert.isTrue(fieldOf(d, name).options?.packed, `${name} is packed`)
    }
    for (const name of ["strs", "blobs", "points", "attrs"]) {
      assert.isUndefined(fieldOf(d, name).options, `${name} is not packed`)
    }
  })

  it("declares nested messages and map entries inside the root, with fully-qualified type names", () => {
    const d = everythingCodec.descriptor
    assert.strictEqual(fieldOf(d, "nested").typeName, ".table_everything.Nested")
    assert.strictEqual(fieldOf(nestedOf(d, "Nested"), "deeper").typeName, ".table_everything.Nested.Deeper")
    assert.strictEqual(fieldOf(d, "points").typeName, ".table_everything.Points")
    assert.deepStrictEqual(nestedOf(d, "Points").field.map((f) => f.name), ["x", "y"])
    const entry = nestedOf(d, "AttrsEntry")
    assert.isTrue(entry.options?.mapEntry)
    assert.deepStrictEqual(entry.field.map((f) => [f.name, f.number, f.label, f.type]), [
      ["key", 1, Label.OPTIONAL, Type.STRING],
      ["value", 2, Label.OPTIONAL, Type.STRING]
    ])
    assert.strictEqual(fieldOf(d, "attrs").typeName, ".table_everything.AttrsEntry")
    // a map of messages: the entry refers to the value message declared next to it
    assert.strictEqual(fieldOf(nestedOf(d, "PlacesEntry"), "value").typeName, ".table_everything.Places")
    // protobuf-es sees real map fields
    const attrs = everythingMessage.fields.find((f) => f.name === "attrs")
    assert.strictEqual(attrs?.fieldKind, "map")
    // the serialized descriptor is the descriptor
    assert.deepStrictEqual(
      toBinary(DescriptorProtoSchema, fromBinary(DescriptorProtoSchema, everythingCodec.descriptorBytes)),
      everythingCodec.descriptorBytes
    )
    assert.isTrue(ProtoSchema.isProtoDescriptor(everythingCodec))
  })

  it("names the message after the schema identifier, else Record", () => {
    assert.strictEqual(ProtoSchema.makeUnsafe(Point).messageName, "Point")
    assert.strictEqual(
      ProtoSchema.makeUnsafe(Schema.Struct({ a: Schema.String }).annotate({ identifier: "my-table.v2" })).messageName,
      "my_table_v2"
    )
    assert.strictEqual(
      ProtoSchema.makeUnsafe(Schema.Struct({ a: Schema.String }).annotate({ identifier: "2fast" })).messageName,
      "_2fast"
    )
    assert.strictEqual(ProtoSchema.makeUnsafe(Schema.Struct({ a: Schema.String })).messageName, "Record")
  })

  it("numbers fields in declaration order, honours explicit numbers and skips 19000-19999", () => {
    const d = ProtoSchema.makeUnsafe(Schema.Struct({
      a: Schema.String,
      b: Schema.String.pipe(ProtoSchema.fieldNumber(2)),
      c: Schema.optional(Schema.String).pipe(ProtoSchema.fieldNumber(20)),
      d: Schema.String,
      e: Schema.String.pipe(ProtoSchema.fieldNumber(19000 - 1))
    })).descriptor
    assert.deepStrictEqual(d.field.map((f) => [f.name, f.number]), [["a", 1], ["b", 2], ["c", 20], ["d", 3], [
      "e",
      18999
    ]])
    assert.strictEqual(fieldOf(d, "c").label, Label.OPTIONAL)
    const fields = Object.fromEntries(Array.from({ length: 19001 }, (_, i) => [`f${i + 1}`, Schema.Boolean]))
    const wide = ProtoSchema.makeUnsafe(Schema.Struct(fields)).descriptor
    assert.strictEqual(fieldOf(wide, "f18999").number, 18999)
    assert.strictEqual(fieldOf(wide, "f19000").number, 20000)
    assert.strictEqual(fieldOf(wide, "f19001").number, 20001)
  })

  it("derives messages from Schema.Class, nested classes and suspended (non-recursive) schemas", () => {
    class Address extends Schema.Class<Address>("Address")({ city: Schema.String }) {}
    class Customer extends Schema.Class<Customer>("Customer")({
      name: Schema.String,
      address: Address,
      previous: Schema.suspend(() => Schema.Array(Address))
    }) {}
    const codec = ProtoSchema.makeUnsafe(Customer)
    assert.strictEqual(codec.messageName, "Customer")
    assert.strictEqual(fieldOf(codec.descriptor, "address").typeName, ".Customer.Address")
    assert.strictEqual(fieldOf(codec.descriptor, "previous").typeName, ".Customer.Previous")
    const value = new Customer({
      name: "n",
      address: new Address({ city: "c" }),
      previous: [new Address({ city: "p" })]
    })
    const decoded = decode(messageOf(codec.descriptor), codec.encodeSync(value))
    assert.deepStrictEqual(decoded["address"], { $typeName: "Customer.Address", city: "c" })
    // a class schema checks for instances of the class
    assert.isTrue(Result.isFailure(codec.encodeResult({ name: "n", address: { city: "c" }, previous: [] })))
  })

  it("keeps nested message names unique", () => {
    const d = ProtoSchema.makeUnsafe(Schema.Struct({
      ship_to: Schema.Struct({ a: Schema.String }),
      shipTo: Schema.Struct({ b: Schema.String }),
      ShipTo_: Schema.Struct({ c: Schema.String }),
      tags_entry: Schema.Struct({ d: Schema.String }),
      tags: Schema.Record(Schema.String, Schema.String)
    })).descriptor
    assert.deepStrictEqual(d.nestedType.map((m) => m.name).toSorted(), [
      "ShipTo",
      "ShipTo2",
      "ShipTo3",
      "TagsEntry",
      "TagsEntry2"
    ])
    assert.strictEqual(fieldOf(d, "tags").typeName, ".Record.TagsEntry")
    assert.strictEqual(fieldOf(d, "tags_entry").typeName, ".Record.TagsEntry2")
    messageOf(d)
  })

  it("maps other spellings of the same types", () => {
    enum Color {
      Red = "red",
      Green = "green"
    }
    enum Level {
      Low = 1,
      High = 2
    }
    const codec = ProtoSchema.makeUnsafe(Schema.Struct({
      template: Schema.TemplateLiteral(["id-", Schema.Number]),
      color: Schema.Enum(Color),
      level: Schema.Enum(Level),
      either: Schema.Union([Schema.String, Schema.Literal("x")]),
      nonEmpty: Schema.NonEmptyArray(ProtoSchema.int32),
      zoned: Schema.DateTimeZoned,
      parsed: Schema.DateFromString,
      bigLiteral: Schema.Literal(5n)
    }))
    const d = codec.descriptor
    assert.deepStrictEqual(d.field.map((f) => [f.name, f.type, f.label]), [
      ["template", Type.STRING, Label.REQUIRED],
      ["color", Type.STRING, Label.REQUIRED],
      ["level", Type.DOUBLE, Label.REQUIRED],
      ["either", Type.STRING, Label.REQUIRED],
      ["nonEmpty", Type.INT32, Label.REPEATED],
      ["zoned", Type.INT64, Label.REQUIRED],
      ["parsed", Type.INT64, Label.REQUIRED],
      ["bigLiteral", Type.INT64, Label.REQUIRED]
    ])
    const zoned = DateTime.makeZonedUnsafe(new Date("2024-01-01T00:00:00Z"), { timeZone: "Europe/Paris" })
    const decoded = decode(
      messageOf(d),
      codec.encodeSync({
        template: "id-7",
        color: Color.Green,
        level: Level.High,
        either: "x",
        nonEmpty: [1, 2],
        zoned,
        parsed: new Date(1500),
        bigLiteral: 5n
      })
    )
    assert.deepStrictEqual(
      [
        decoded["template"],
        decoded["color"],
        decoded["level"],
        decoded["nonEmpty"],
        decoded["zoned"],
        decoded["parsed"]
      ],
      ["id-7", "green", 2, [1, 2], 1704067200000000n, 1500000n]
    )
  })

  it("writes repeated scalars unpacked with packed: false", () => {
    const codec = ProtoSchema.makeUnsafe(Schema.Struct({ xs: Schema.Array(ProtoSchema.int32) }), { packed: false })
    assert.isUndefined(fieldOf(codec.descriptor, "xs").options)
    const bytes = codec.encodeSync({ xs: [1, 2] })
    assert.deepStrictEqual([...bytes], [0x08, 1, 0x08, 2])
    const message = messageOf(codec.descriptor)
    assert.deepStrictEqual(toBinary(message, create(message, { xs: [1, 2] })), bytes)
  })
})

describe("ProtoSchema encoding", () => {
  it.effect("encodes every mapped type as protobuf-es does, and protobuf-es decodes the same values", () =>
    Effect.gen(function*() {
      const bytes = yield* everythingCodec.encode(sample)
      const expected = create(everythingMessage, toInit(sample))
      assert.deepStrictEqual(bytes, toBinary(everythingMessage, expected))
      const message = fromBinary(everythingMessage, bytes)
      assert.deepStrictEqual(toBinary(everythingMessage, message), bytes)
      const decoded: Readonly<Record<string, unknown>> = message
      assert.strictEqual(decoded["str"], "héllo 😀")
      assert.strictEqual(decoded["i32"], -7)
      assert.strictEqual(decoded["u32"], 4294967295)
      assert.strictEqual(decoded["i64"], -(2n ** 63n))
      assert.strictEqual(decoded["u64"], 2n ** 64n - 1n)
      assert.strictEqual(decoded["f64"], 2n ** 64n - 1n)
      assert.strictEqual(decoded["i64n"], BigInt(Number.MIN_SAFE_INTEGER))
      assert.strictEqual(decoded["ts"], 1714979289123000n)
      assert.strictEqual(decoded["day"], 19849)
      assert.strictEqual(decoded["utc"], -1000n)
      assert.strictEqual(decoded["utcDay"], -1)
      assert.deepStrictEqual(decoded["dates"], [0n, -1000n])
      assert.deepStrictEqual(decoded["attrs"], { k: "v", "": "empty key", "1": "numeric-looking key" })
      assert.deepStrictEqual(decoded["longs"], [0n, -1n, 2n ** 62n])
      const doubles = decoded["doubles"]
      assert.isTrue(Array.isArray(doubles) && Number.isNaN(doubles[2]))
      const isSet = (name: string) => everythingMessage.fields.some((f) => f.name === name && isFieldSet(message, f))
      assert.isFalse(isSet("nullNum"))
      assert.isFalse(isSet("undefBool"))
      assert.isFalse(isSet("optKey"))
      assert.isTrue(isSet("optStr"))
    }))

  it.effect.prop(
    "matches protobuf-es byte for byte on generated records",
    [Everything],
    ([value]) =>
      Effect.gen(function*() {
        const bytes = yield* everythingCodec.encode(value)
        assert.deepStrictEqual(bytes, toBinary(everythingMessage, create(everythingMessage, toInit(value))))
        const decoded = decode(everythingMessage, bytes)
        assert.strictEqual(decoded["str"], wellFormed(value.str))
        assert.strictEqual(decoded["i64"], value.i64)
        assert.strictEqual(decoded["u64n"], BigInt(value.u64n))
        assert.strictEqual(decoded["ts"], micros(value.ts))
        assert.strictEqual(decoded["day"], days(value.day.getTime()))
        assert.deepStrictEqual(decoded["ints"], value.ints)
        assert.deepStrictEqual(decoded["strs"], value.strs.map((s) => wellFormed(s)))
        const points = decoded["points"]
        assert.isTrue(Array.isArray(points) && points.length === value.points.length)
      }),
    { arbitrary: { runs: 200 } }
  )

  it("encodes edge values: empty strings, zeros, negative int32, extremes, NaN and infinities, unicode", () => {
    const Edge = Schema.Struct({
      s: Schema.String,
      i: ProtoSchema.int32,
      d: Schema.Number,
      f: ProtoSchema.float,
      l: ProtoSchema.int64,
      b: Schema.Uint8Array,
      xs: Schema.Array(Schema.Number)
    })
    const codec = ProtoSchema.makeUnsafe(Edge)
    const message = messageOf(codec.descriptor)
    const cases: Array<typeof Edge.Type> = [
      { s: "", i: 0, d: 0, f: 0, l: 0n, b: new Uint8Array(0), xs: [] },
      { s: "x", i: -1, d: -0, f: -0, l: -1n, b: new Uint8Array(1), xs: [0] },
      { s: "\u0000", i: -2147483648, d: Number.NaN, f: Number.NaN, l: -(2n ** 63n), b: new Uint8Array(300), xs: [] },
      { s: "😀\ud800", i: 2147483647, d: Infinity, f: -Infinity, l: 2n ** 63n - 1n, b: new Uint8Array(2), xs: [1] },
      {
        s: "ᚠᛇᚻ".repeat(50),
        i: 1,
        d: Number.MIN_VALUE,
        f: 3.4028234663852886e38,
        l: 1n,
        b: new Uint8Array(1),
        xs: Array.from({ length: 20 }, () => Number.MAX_VALUE)
      }
    ]
    for (const value of cases) {
      const bytes = codec.encodeSync(value)
      assert.deepStrictEqual(bytes, toBinary(message, create(message, value)))
      const decoded = decode(message, bytes)
      assert.strictEqual(decoded["s"], wellFormed(value.s))
      assert.strictEqual(decoded["i"], value.i)
      assert.isTrue(Object.is(decoded["d"], value.d))
      assert.isTrue(Object.is(decoded["f"], Math.fround(value.f)))
      assert.strictEqual(decoded["l"], value.l)
      assert.deepStrictEqual(decoded["b"], value.b)
    }
    // a negative int32 is a 10-byte varint: tag, 10 bytes
    const negative = ProtoSchema.makeUnsafe(Schema.Struct({ i: ProtoSchema.int32 })).encodeSync({ i: -1 })
    assert.deepStrictEqual([...negative], [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
  })

  it("omits absent optionals and writes present zero values (proto2 presence)", () => {
    const codec = ProtoSchema.makeUnsafe(Schema.Struct({
      a: Schema.optional(Schema.String),
      b: Schema.NullOr(ProtoSchema.int32),
      c: Schema.optionalKey(Schema.Boolean),
      d: Schema.UndefinedOr(Schema.Number),
      e: Schema.optional(Schema.Array(Schema.String))
    }))
    const message = messageOf(codec.descriptor)
    assert.deepStrictEqual([...codec.encodeSync({ b: null, d: undefined })], [])
    const zeros = codec.encodeSync({ a: "", b: 0, c: false, d: 0, e: [] })
    assert.deepStrictEqual([...zeros], [0x0a, 0x00, 0x10, 0x00, 0x18, 0x00, 0x21, 0, 0, 0, 0, 0, 0, 0, 0])
    const decoded = decode(message, zeros)
    assert.deepStrictEqual(
      message.fields.map((f) => decoded[f.localName]),
      ["", 0, false, 0, []]
    )
  })

  it("encodes long strings, big nested messages and deep nesting", () => {
    let inner: Schema.Top = Schema.Struct({ leaf: Schema.String })
    for (let i = 0; i < 60; i++) inner = Schema.Struct({ level: ProtoSchema.int32, child: inner })
    const deep = ProtoSchema.makeUnsafe(inner)
    let value: unknown = { leaf: "x".repeat(200) }
    for (let i = 0; i < 60; i++) value = { level: i, child: value }
    const message = messageOf(deep.descriptor)
    const bytes = deep.encodeSync(value)
    assert.deepStrictEqual(bytes, toBinary(message, fromBinary(message, bytes)))
    let decoded: unknown = fromBinary(message, bytes)
    for (let i = 59; i >= 0; i--) {
      if (typeof decoded !== "object" || decoded === null || !("child" in decoded) || !("level" in decoded)) {
        throw new Error("bad nesting")
      }
      assert.strictEqual(decoded.level, i)
      decoded = decoded.child
    }
    assert.deepStrictEqual(decoded, { $typeName: expectedLeafName(60), leaf: "x".repeat(200) })

    const Big = Schema.Struct({ text: Schema.String, items: Schema.Array(Schema.Struct({ s: Schema.String })) })
    const big = ProtoSchema.makeUnsafe(Big)
    const bigValue = {
      text: "€".repeat(100_000),
      items: Array.from({ length: 500 }, (_, i) => ({ s: `${i}`.repeat(50) }))
    }
    const bigMessage = messageOf(big.descriptor)
    assert.deepStrictEqual(big.encodeSync(bigValue), toBinary(bigMessage, create(bigMessage, bigValue)))
    // the writer gave back its grown buffer: a following small record is still right
    assert.deepStrictEqual(
      big.encodeSync({ text: "s", items: [] }),
      toBinary(bigMessage, create(bigMessage, { text: "s", items: [] }))
    )
  })

  it("encodes maps with integer and boolean keys", () => {
    const codec = ProtoSchema.makeUnsafe(Schema.Struct({
      byId: Schema.ReadonlyMap(ProtoSchema.int64, Schema.String),
      bySmall: Schema.ReadonlyMap(ProtoSchema.sint32, Schema.Boolean),
      flags: Schema.ReadonlyMap(Schema.Boolean, ProtoSchema.int32),
      names: Schema.ReadonlyMap(Schema.String, Schema.Struct({ n: Schema.String })),
      counts: Schema.Record(ProtoSchema.int32, Schema.Number)
    }))
    const d = codec.descriptor
    assert.strictEqual(fieldOf(nestedOf(d, "ByIdEntry"), "key").type, Type.INT64)
    assert.strictEqual(fieldOf(nestedOf(d, "BySmallEntry"), "key").type, Type.SINT32)
    assert.strictEqual(fieldOf(nestedOf(d, "FlagsEntry"), "key").type, Type.BOOL)
    assert.strictEqual(fieldOf(nestedOf(d, "CountsEntry"), "key").type, Type.INT32)
    const message = messageOf(d)
    const value = {
      byId: new Map([[-5n, "minus five"], [2n ** 62n, "big"]]),
      bySmall: new Map([[-1, true], [7, false]]),
      flags: new Map([[true, 1], [false, -1]]),
      names: new Map([["a", { n: "A" }]]),
      counts: { "3": 0.5, "-4": 1.5 }
    }
    const decoded = decode(message, codec.encodeSync(value))
    assert.deepStrictEqual(decoded["byId"], { "-5": "minus five", [String(2n ** 62n)]: "big" })
    assert.deepStrictEqual(decoded["bySmall"], { "-1": true, "7": false })
    assert.deepStrictEqual(decoded["flags"], { true: 1, false: -1 })
    assert.deepStrictEqual(decoded["names"], { a: { $typeName: "Record.Names", n: "A" } })
    assert.deepStrictEqual(decoded["counts"], { "3": 0.5, "-4": 1.5 })
  })

  it.effect("fails with the Schema's error before encoding invalid values", () =>
    Effect.gen(function*() {
      const codec = ProtoSchema.makeUnsafe(Schema.Struct({
        id: ProtoSchema.int64,
        n: ProtoSchema.int32,
        u: Schema.Int.pipe(ProtoSchema.scalar("uint64")),
        f: ProtoSchema.float,
        name: Schema.String.check(Schema.isMinLength(1))
      }))
      const valid = { id: 1n, n: 1, u: 1, f: 1, name: "x" }
      const cases: Array<readonly [unknown, string]> = [
        [{ ...valid, n: 1.5 }, `["n"]`],
        [{ ...valid, n: 2 ** 31 }, `["n"]`],
        [{ ...valid, id: 2n ** 63n }, `["id"]`],
        [{ ...valid, u: -1 }, `["u"]`],
        [{ ...valid, u: 2 ** 53 }, `["u"]`],
        [{ ...valid, f: 1e39 }, `["f"]`],
        [{ ...valid, name: "" }, `["name"]`],
        [{ ...valid, name: 5 }, `["name"]`],
        [{ id: 1n }, `["n"]`]
      ]
      for (const [input, path] of cases) {
        // @ts-expect-error invalid on purpose
        const error = yield* Effect.flip(codec.encode(input))
        assert.strictEqual(error._tag, "SchemaError")
        assert.include(error.message, path)
        // @ts-expect-error invalid on purpose
        const result = codec.encodeResult(input)
        assert.isTrue(Result.isFailure(result))
        // @ts-expect-error invalid on purpose
        assert.throws(() => codec.encodeSync(input), Schema.SchemaError)
      }
      assert.include(
        (yield* Effect.flip(codec.encode({ ...valid, n: 1.5 }))).message,
        "Expected an integer in the int32 range"
      )
      assert.deepStrictEqual(
        yield* codec.encode({ ...valid, f: Infinity }),
        codec.encodeSync({ ...valid, f: Infinity })
      )
    }))

  it.effect("fails with a SchemaError for a bigint outside int64 when the Schema has no range check", () =>
    Effect.gen(function*() {
      const codec = ProtoSchema.makeUnsafe(Schema.Struct({
        items: Schema.Array(Schema.Struct({ n: Schema.BigInt }))
      }))
      const ok = yield* codec.encode({ items: [{ n: 2n ** 63n - 1n }, { n: -(2n ** 63n) }] })
      assert.isTrue(ok.length > 0)
      const error = yield* Effect.flip(codec.encode({ items: [{ n: 1n }, { n: 2n ** 63n }] }))
      assert.strictEqual(error._tag, "SchemaError")
      assert.include(error.message, "items[].n: 9223372036854775808 is outside the int64 range")
      const batch = yield* Effect.flip(codec.encodeMany([{ items: [] }, { items: [{ n: -(2n ** 64n) }] }]))
      assert.include(batch.message, "is outside the int64 range")
      assert.include(batch.message, "[1]")
      // the codec still works afterwards
      assert.deepStrictEqual([...codec.encodeSync({ items: [{ n: 1n }] })], [0x0a, 0x02, 0x08, 0x01])
    }))

  it.effect("encodes batches: the same bytes as one by one, independent of later calls", () =>
    Effect.gen(function*() {
      const Row = Schema.Struct({ id: ProtoSchema.int32, name: Schema.String })
      const codec = ProtoSchema.makeUnsafe(Row)
      const rows = Array.from({ length: 100 }, (_, i) => ({ id: i - 50, name: "n".repeat(i * 3) }))
      const batch = yield* codec.encodeMany(rows)
      const single = rows.map(codec.encodeSync)
      assert.deepStrictEqual(batch, single)
      const snapshot = batch.map((b) => [...b])
      yield* codec.encodeMany(rows.map((r) => ({ ...r, name: "overwritten?" })))
      codec.encodeSync({ id: 1, name: "z".repeat(5000) })
      assert.deepStrictEqual(batch.map((b) => [...b]), snapshot)
      assert.deepStrictEqual(yield* codec.encodeMany([]), [])
      assert.deepStrictEqual(yield* codec.encodeMany(new Set(rows.slice(0, 2))), single.slice(0, 2))
      const error = yield* Effect.flip(codec.encodeMany([{ id: 1, name: "ok" }, { id: 0.5, name: "x" }]))
      assert.include(error.message, `[1]["id"]`)
    }))

  it("returns records that later encodes never overwrite", () => {
    const codec = ProtoSchema.makeUnsafe(Schema.Struct({ s: Schema.String }))
    const first = codec.encodeSync({ s: "first" })
    const copy = [...first]
    const records = Array.from({ length: 2000 }, (_, i) => codec.encodeSync({ s: `other ${i}`.repeat(i % 10) }))
    assert.deepStrictEqual([...first], copy)
    // small records are disjoint views of shared slabs
    const byBuffer = new Map<ArrayBufferLike, Array<Uint8Array>>()
    for (const record of [first, ...records]) {
      byBuffer.set(record.buffer, [...(byBuffer.get(record.buffer) ?? []), record])
    }
    assert.isTrue(byBuffer.size > 1 && byBuffer.size < 100)
    for (const views of byBuffer.values()) {
      const sorted = views.toSorted((a, b) => a.byteOffset - b.byteOffset)
      sorted.forEach((view, i) => {
        const next = sorted[i + 1]
        if (next !== undefined) assert.isAtMost(view.byteOffset + view.byteLength, next.byteOffset)
      })
    }
    // big records own their buffer
    const big = codec.encodeSync({ s: "x".repeat(20_000) })
    assert.strictEqual(big.byteOffset, 0)
    assert.strictEqual(big.buffer.byteLength, big.byteLength)
  })

  it.effect("is lazy: encode runs when the effect runs", () =>
    Effect.gen(function*() {
      const codec = ProtoSchema.makeUnsafe(Schema.Struct({ xs: Schema.Array(Schema.String) }))
      const value = { xs: ["a"] }
      const effect = codec.encode(value)
      value.xs.push("b")
      assert.deepStrictEqual(yield* effect, codec.encodeSync({ xs: ["a", "b"] }))
    }))
})

const expectedLeafName = (depth: number): string =>
  ["Record", ...Array.from({ length: depth }, () => "Child")].join(".")

describe("ProtoSchema mapping errors", () => {
  it.effect("rejects schemas that are not structs", () =>
    Effect.gen(function*() {
      yield* expectUnsupported(Schema.String, "", "the root schema must be a struct")
      yield* expectUnsupported(Schema.Record(Schema.String, Schema.String), "", "the root schema must be a struct")
      yield* expectUnsupported(Schema.Array(Point), "", "the root schema must be a struct")
      yield* expectUnsupported(Schema.Union([Point, Point]), "", "the root schema must be a struct")
      const error = yield* Effect.flip(ProtoSchema.make(Schema.Number))
      assert.strictEqual(
        error.message,
        "UnsupportedSchema: the root schema must be a struct (Schema.Struct or Schema.Class), not a number"
      )
    }))

  it.effect("names the field and the reason", () =>
    Effect.gen(function*() {
      const S = Schema.Struct
      yield* expectUnsupported(
        S({ a: Schema.String, u: Schema.Union([Schema.String, Schema.Number]) }),
        "u",
        "unions of different types are not supported (string | number)"
      )
      yield* expectUnsupported(
        S({ u: Schema.Union([Point, S({ z: Schema.String })]) }),
        "u",
        "unions of different types"
      )
      yield* expectUnsupported(S({ t: Schema.Tuple([Schema.String, Schema.Number]) }), "t", "tuples are not supported")
      yield* expectUnsupported(S({ xs: Schema.Array(Schema.Array(Schema.String)) }), "xs[]", "nested arrays")
      yield* expectUnsupported(
        S({ xs: Schema.Array(Schema.NullOr(Schema.String)) }),
        "xs[]",
        "array elements cannot be null"
      )
      yield* expectUnsupported(
        S({ xs: Schema.Array(Schema.Record(Schema.String, Schema.String)) }),
        "xs[]",
        "arrays of maps"
      )
      yield* expectUnsupported(
        S({ m: Schema.Record(Schema.String, Schema.Array(Schema.String)) }),
        "m{value}",
        "map values cannot be arrays"
      )
      yield* expectUnsupported(
        S({ m: Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.String)) }),
        "m{value}",
        "nested maps"
      )
      yield* expectUnsupported(
        S({ m: Schema.Record(Schema.String, Schema.NullOr(Schema.String)) }),
        "m{value}",
        "map values cannot be null"
      )
      yield* expectUnsupported(
        S({ m: Schema.Record(Schema.Number, Schema.String) }),
        "m{key}",
        "number map keys need an integer type"
      )
      yield* expectUnsupported(
        S({ m: Schema.ReadonlyMap(Schema.Uint8Array, Schema.String) }),
        "m{key}",
        "map keys must be strings, booleans or integers"
      )
      yield* expectUnsupported(
        S({ m: Schema.ReadonlyMap(Point, Schema.String) }),
        "m{key}",
        "map keys must be strings, booleans or integers"
      )
      yield* expectUnsupported(S({ m: Schema.ReadonlyMap(Schema.Date, Schema.String) }), "m{key}", "map keys")
      yield* expectUnsupported(S({ "user-name": Schema.String }), "user-name", "is not a protobuf field name")
      yield* expectUnsupported(S({ "1st": Schema.String }), "1st", "is not a protobuf field name")
      yield* expectUnsupported(S({ [Symbol.for("k")]: Schema.String }), "Symbol(k)", "symbol keys")
      yield* expectUnsupported(S({ x: Schema.Unknown }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.Any }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.Symbol }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.ObjectKeyword }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.Never }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.URL }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.Option(Schema.String) }), "x", "no protobuf mapping")
      yield* expectUnsupported(S({ x: Schema.Null }), "x", "cannot be only null")
      yield* expectUnsupported(S({ x: Schema.Undefined }), "x", "cannot be only undefined")
      yield* expectUnsupported(S({ x: Schema.NullOr(Schema.Undefined) }), "x", "cannot be only null or undefined")
      enum Mixed {
        A = "a",
        B = 1
      }
      yield* expectUnsupported(S({ x: Schema.Enum(Mixed) }), "x", "enums mixing string and number values")
      yield* expectUnsupported(
        S({ x: Schema.StructWithRest(S({ a: Schema.String }), [Schema.Record(Schema.String, Schema.String)]) }),
        "x",
        "records mixed with fields"
      )
      yield* expectUnsupported(
        S({ outer: S({ inner: S({ bad: Schema.Array(Schema.Tuple([])) }) }) }),
        "outer.inner.bad[]",
        "tuples"
      )
      yield* expectUnsupported(
        S({ items: Schema.Array(S({ m: Schema.Record(Schema.String, S({ t: Schema.Tuple([]) })) })) }),
        "items[].m{value}.t",
        "tuples"
      )
    }))

  it.effect("rejects annotations on the wrong types", () =>
    Effect.gen(function*() {
      yield* expectUnsupported(
        // @ts-expect-error int32 takes numbers only
        Schema.Struct({ x: Schema.BigInt.pipe(ProtoSchema.scalar("int32")) }),
        "x",
        "bigint values can only be written as 64-bit integers"
      )
      yield* expectUnsupported(
        // @ts-expect-error scalar takes number schemas
        Schema.Struct({ x: Schema.String.pipe(ProtoSchema.scalar("int64")) }),
        "x",
        `ProtoSchema.scalar("int64") applies to number or bigint schemas, not string`
      )
      yield* expectUnsupported(
        // @ts-expect-error epochDays takes dates
        Schema.Struct({ x: Schema.Number.pipe(ProtoSchema.epochDays) }),
        "x",
        "ProtoSchema.epochDays applies to Date or DateTime schemas, not number"
      )
    }))

  it.effect("rejects invalid field numbers and message names", () =>
    Effect.gen(function*() {
      for (const n of [0, -1, 1.5, 19000, 19999, 536870912]) {
        yield* expectUnsupported(
          Schema.Struct({ a: Schema.String.pipe(ProtoSchema.fieldNumber(n)) }),
          "a",
          `field number ${n} is invalid`
        )
      }
      yield* expectUnsupported(
        Schema.Struct({
          a: Schema.String.pipe(ProtoSchema.fieldNumber(3)),
          b: Schema.String.pipe(ProtoSchema.fieldNumber(3))
        }),
        "b",
        "field number 3 is already used by a"
      )
      yield* expectUnsupported(
        Schema.Struct({ a: Schema.String }),
        "",
        `message name "orders.v1" is not a protobuf identifier`,
        { messageName: "orders.v1" }
      )
      yield* expectUnsupported(
        Schema.Struct({
          a_b: Schema.Record(Schema.String, Schema.String),
          aB: Schema.Record(Schema.String, Schema.String)
        }),
        "aB",
        "two map fields need the entry type name ABEntry"
      )
    }))

  it.effect("rejects recursive schemas and nesting deeper than 100", () =>
    Effect.gen(function*() {
      interface Tree {
        readonly children: ReadonlyArray<Tree>
      }
      const Tree: Schema.Codec<Tree> = Schema.Struct({ children: Schema.Array(Schema.suspend(() => Tree)) })
      const reason = yield* unsupported(Tree)
      assert.include(reason.message, "deeper than 100")
      let deep: Schema.Top = Schema.Struct({ leaf: Schema.String })
      for (let i = 0; i < 100; i++) deep = Schema.Struct({ c: deep })
      assert.include((yield* unsupported(deep)).message, "deeper than 100")
    }))

  it("makeUnsafe throws the ProtoSchemaError", () => {
    assert.throws(
      () => ProtoSchema.makeUnsafe(Schema.Struct({ x: Schema.Unknown })),
      ProtoSchema.ProtoSchemaError,
      "x: "
    )
  })
})

describe("ProtoSchema records in Zerobus Local", () => {
  // the descriptor and records as Zerobus Local reads them: descriptor checked against the table,
  // records decoded into rows
  const Order = Schema.Struct({
    id: ProtoSchema.int64,
    name: Schema.String,
    price: Schema.NullOr(Schema.Number),
    qty: ProtoSchema.int32,
    ratio: Schema.optional(ProtoSchema.float),
    placed_at: Schema.Date,
    ship_date: Schema.optional(ProtoSchema.date),
    paid: Schema.optional(Schema.Boolean),
    payload: Schema.optional(Schema.Uint8Array),
    tags: Schema.Array(Schema.String),
    scores: Schema.Array(ProtoSchema.int32),
    address: Schema.optional(Schema.Struct({ city: Schema.String, zip: Schema.NullOr(Schema.String) })),
    attrs: Schema.Record(Schema.String, Schema.String),
    note: Schema.optional(Schema.String)
  })
  const table = Delta.struct([
    Delta.field("id", Delta.long, false),
    Delta.field("name", Delta.string, false),
    Delta.field("price", Delta.double),
    Delta.field("qty", Delta.integer, false),
    Delta.field("ratio", Delta.float),
    Delta.field("placed_at", Delta.timestamp, false),
    Delta.field("ship_date", Delta.date),
    Delta.field("paid", Delta.boolean),
    Delta.field("payload", Delta.binary),
    Delta.field("tags", Delta.array(Delta.string, false)),
    Delta.field("scores", Delta.array(Delta.integer, false)),
    Delta.field("address", Delta.struct([Delta.field("city", Delta.string), Delta.field("zip", Delta.string)])),
    Delta.field("attrs", Delta.map(Delta.string, Delta.string)),
    Delta.field("note", Delta.string)
  ])

  it.effect("validates the descriptor against the table and decodes every record into the expected row", () =>
    Effect.gen(function*() {
      const codec = yield* ProtoSchema.make(Order, { messageName: "table_orders" })
      const message = yield* DeltaProto.resolveDescriptor(codec.descriptorBytes)
      const decoder = yield* ProtoRecord.makeDecoder(message, table)
      const full = {
        id: 9007199254740993n,
        name: "Zoë",
        price: 12.5,
        qty: -3,
        ratio: 0.5,
        placed_at: new Date("2024-05-06T07:08:09.123Z"),
        ship_date: new Date("2024-05-10T00:00:00Z"),
        paid: true,
        payload: new Uint8Array([1, 2]),
        tags: ["a", "b"],
        scores: [1, -1],
        address: { city: "Lyon", zip: null },
        attrs: { k: "v" },
        note: "n"
      }
      const sparse = { id: 1n, name: "", price: null, qty: 0, placed_at: new Date(-1), tags: [], scores: [], attrs: {} }
      const [fullBytes, sparseBytes] = yield* codec.encodeMany([full, sparse])
      assert.deepStrictEqual(Result.getOrThrow(decoder(fullBytes ?? new Uint8Array(0))), {
        id: 9007199254740993n,
        name: "Zoë",
        price: 12.5,
        qty: -3,
        ratio: 0.5,
        placed_at: 1714979289123000n,
        ship_date: 19853,
        paid: true,
        payload: new Uint8Array([1, 2]),
        tags: ["a", "b"],
        scores: [1, -1],
        address: { city: "Lyon", zip: null },
        attrs: new Map([["k", "v"]]),
        note: "n"
      })
      assert.deepStrictEqual(Result.getOrThrow(decoder(sparseBytes ?? new Uint8Array(0))), {
        id: 1n,
        name: "",
        price: null,
        qty: 0,
        ratio: null,
        placed_at: -1000n,
        ship_date: null,
        paid: null,
        payload: null,
        tags: [],
        scores: [],
        address: null,
        attrs: new Map(),
        note: null
      })
    }))

  it.effect("derives the Delta types of the mapping table when a table is created from the descriptor", () =>
    Effect.gen(function*() {
      const codec = yield* ProtoSchema.make(Order)
      const schema = yield* DeltaProto.schemaFromDescriptor(yield* DeltaProto.resolveDescriptor(codec.descriptorBytes))
      assert.deepStrictEqual(
        schema.fields.map((f) => [f.name, Delta.toTypeText(f.type), f.nullable]),
        [
          ["id", "bigint", false],
          ["name", "string", false],
          ["price", "double", true],
          ["qty", "int", false],
          ["ratio", "float", true],
          // a TIMESTAMP or DATE column is only known from an existing table: alone, int64 and int32
          ["placed_at", "bigint", false],
          ["ship_date", "int", true],
          ["paid", "boolean", true],
          ["payload", "binary", true],
          ["tags", "array<string>", true],
          ["scores", "array<int>", true],
          ["address", "struct<city:string not null,zip:string>", true],
          ["attrs", "map<string,string>", true],
          ["note", "string", true]
        ]
      )
    }))

  it.effect("is refused for a table whose column types do not match", () =>
    Effect.gen(function*() {
      const codec = yield* ProtoSchema.make(Schema.Struct({ id: Schema.Number }))
      const message = yield* DeltaProto.resolveDescriptor(codec.descriptorBytes)
      const error = yield* Effect.flip(ProtoRecord.makeDecoder(message, Delta.struct([Delta.field("id", Delta.long)])))
      assert.include(error.message, "id")
    }))
})
