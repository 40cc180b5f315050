/**
 * A protobuf record type for tests, written by hand (no code generation):
 *
 * ```proto
 * package orders;
 * message table_Orders {
 *   required int64 id = 1;
 *   optional string name = 2;
 *   optional Location loc = 3;
 *   message Location { optional double lat = 1; optional double lon = 2; }
 * }
 * ```
 *
 * - `ordersDescriptor`: the serialized `DescriptorProto` a client sends in `create_stream`.
 * - `encodeOrder({ id?, name?, lat?, lon? })`: record bytes, encoded field by field with the wire
 *   writer (omit `id` to produce a record that misses a required field).
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire"
import { DescriptorProtoSchema, FieldDescriptorProto_Label, FieldDescriptorProto_Type } from "@bufbuild/protobuf/wkt"

/** The `DescriptorProto` of `orders.table_Orders`, serialized. */
export const ordersDescriptor: Uint8Array = toBinary(
  DescriptorProtoSchema,
  create(DescriptorProtoSchema, {
    name: "table_Orders",
    field: [
      { name: "id", number: 1, label: FieldDescriptorProto_Label.REQUIRED, type: FieldDescriptorProto_Type.INT64 },
      { name: "name", number: 2, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.STRING },
      {
        name: "loc",
        number: 3,
        label: FieldDescriptorProto_Label.OPTIONAL,
        type: FieldDescriptorProto_Type.MESSAGE,
        typeName: ".orders.table_Orders.Location"
      }
    ],
    nestedType: [{
      name: "Location",
      field: [
        { name: "lat", number: 1, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.DOUBLE },
        { name: "lon", number: 2, label: FieldDescriptorProto_Label.OPTIONAL, type: FieldDescriptorProto_Type.DOUBLE }
      ]
    }]
  })
)

/** Encodes one `table_Orders` record. */
export const encodeOrder = (order: {
  readonly id?: bigint | undefined
  readonly name?: string | undefined
  readonly lat?: number | undefined
  readonly lon?: number | undefined
}): Uint8Array => {
  const writer = new BinaryWriter()
  if (order.id !== undefined) writer.tag(1, WireType.Varint).int64(order.id)
  if (order.name !== undefined) writer.tag(2, WireType.LengthDelimited).string(order.name)
  if (order.lat !== undefined || order.lon !== undefined) {
    const loc = new BinaryWriter()
    if (order.lat !== undefined) loc.tag(1, WireType.Bit64).double(order.lat)
    if (order.lon !== undefined) loc.tag(2, WireType.Bit64).double(order.lon)
    writer.tag(3, WireType.LengthDelimited).bytes(loc.finish())
  }
  return writer.finish()
}
