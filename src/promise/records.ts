/**
 * Record values as the official TypeScript SDK takes them: `Buffer`/`Uint8Array` are protobuf
 * bytes, a `string` is a JSON record, an object whose constructor has a static `encode` (protobufjs
 * messages) is encoded with `encode(obj).finish()`, and any other object is a JSON record
 * (serialized with `JSON.stringify`).
 *
 * @since 0.1.0
 */
import { Predicate } from "effect"
import type { AnyRecord } from "../Table.ts"
import * as ZerobusErrorEffect from "../ZerobusError.ts"

/**
 * A record: protobuf bytes, a JSON string, a protobufjs-style message or a plain object.
 *
 * @since 0.1.0
 * @category models
 */
export type Payload = Uint8Array | string | object

const unsupported = (what: string) =>
  ZerobusErrorEffect.invalidArgument(
    `A record must be a Buffer/Uint8Array, a string, a protobuf message object or a plain object, got ${what}`
  )

const encodeMessage = (value: object, encode: Function): AnyRecord | ZerobusErrorEffect.ZerobusError => {
  let writer: unknown
  try {
    writer = encode.call(value.constructor, value)
  } catch (error) {
    return ZerobusErrorEffect.invalidArgument(
      `The protobuf message could not be encoded: ${error instanceof Error ? error.message : String(error)}`
    )
  }
  if (!Predicate.hasProperty(writer, "finish") || !Predicate.isFunction(writer.finish)) {
    return ZerobusErrorEffect.invalidArgument("A protobuf message's encode() must return an object with finish()")
  }
  const bytes: unknown = writer.finish()
  return bytes instanceof Uint8Array
    ? bytes
    : ZerobusErrorEffect.invalidArgument("A protobuf message's encode().finish() must return bytes")
}

/**
 * Converts one record, or returns why it cannot be sent.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toRecord = (payload: unknown): AnyRecord | ZerobusErrorEffect.ZerobusError => {
  if (payload instanceof Uint8Array || Predicate.isString(payload)) return payload
  if (!Predicate.isObject(payload)) {
    return unsupported(payload === null ? "null" : Array.isArray(payload) ? "an array" : typeof payload)
  }
  const constructor: unknown = payload.constructor
  if (Predicate.isFunction(constructor) && Predicate.hasProperty(constructor, "encode")) {
    const encode = constructor.encode
    if (Predicate.isFunction(encode)) return encodeMessage(payload, encode)
  }
  return payload
}

/**
 * Converts records, stopping at the first one that cannot be sent (named by its index).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toRecords = (
  payloads: Iterable<unknown>
): ReadonlyArray<AnyRecord> | ZerobusErrorEffect.ZerobusError => {
  const records: Array<AnyRecord> = []
  for (const payload of payloads) {
    const record = toRecord(payload)
    if (ZerobusErrorEffect.isZerobusError(record)) {
      return ZerobusErrorEffect.invalidArgument(`Record ${records.length} of the batch: ${record.reason.message}`)
    }
    records.push(record)
  }
  return records
}
