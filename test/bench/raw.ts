/**
 * The ceilings: a raw grpc-js client with no SDK logic. Every request is encoded before the clock
 * starts (into one slab, written as views, so a million pre-encoded messages are not a million
 * live objects), then written pipelined on one call with `'drain'` backpressure; the clock stops at
 * the ack of the last message.
 *
 * Variants: `grpc-single` (one `ingest_record` per record), `grpc-batch100` / `grpc-batch1000`
 * (`ingest_record_batch` of 100 / 1,000 records), `grpc-ackwait` (one `ingest_record` at a time,
 * waiting for its ack before the next: the ceiling of awaiting each ack).
 *
 * `grpc-encode1000` is not a ceiling but a reference point between the ceiling and our client: the
 * same raw client, but each batch(1000) message is built inside the clock from the records, as our
 * client builds it (each record checked by the table's `encode`, as `ingestBatch` does, then
 * `encodeMessage` into a pooled buffer given back in the write callback). What it adds to
 * `grpc-batch1000` is the cost of encoding; what our `batch1000` adds to it is the stream's own
 * machinery (Effect calls, ledger, offsets, acks, retries' bookkeeping).
 */
import * as grpc from "@grpc/grpc-js"
import {
  AUTHORIZATION_HEADER,
  decodeResponse,
  type EphemeralStreamResponse,
  METHOD_PATH,
  TABLE_NAME_HEADER
} from "../../src/internal/protocol.ts"
import {
  BufferPool,
  encodeCreateStream,
  encodeIngest,
  encodeMessage,
  entryEstimate,
  isPayload,
  type Payload
} from "../../src/internal/wire.ts"
import * as Table from "../../src/Table.ts"
import { fetchToken } from "../support/oauth.ts"
import { benchDescriptor, DISTINCT, type Format, jsonRecords, protoRecords, totalBytes } from "./fixtures.ts"
import { type CaseInput, type Outcome, type Section, tableFor } from "./harness.ts"

/** Requests encoded back to back: message `i` is `slab[offsets[i] .. offsets[i + 1])`. */
export interface Encoded {
  readonly slab: Buffer
  readonly offsets: Float64Array
  readonly messages: number
}

/** Records per request of a variant. */
export const perMessage = (variant: string): number => {
  switch (variant) {
    case "grpc-single":
    case "grpc-ackwait":
    case "h2-single":
      return 1
    case "grpc-batch100":
      return 100
    case "grpc-batch1000":
    case "grpc-encode1000":
    case "h2-batch1000":
      return 1000
    default:
      throw new Error(`unknown variant ${variant}`)
  }
}

/**
 * Encodes `records` records of `format` as requests of `per` records, offsets from 0; `framed`
 * prefixes each with its 5-byte gRPC frame header (for the hand-framed HTTP/2 client).
 */
export const encodeAll = (format: Format, records: number, per: number, framed = false): Encoded => {
  const fixtures: ReadonlyArray<Payload> = format === "json" ? jsonRecords : protoRecords
  const messages = Math.ceil(records / per)
  // Upper bound: payloads, 6 bytes of framing per record, 24 per message.
  const slab = Buffer.allocUnsafe(totalBytes(format, records) + records * 6 + messages * 29)
  const offsets = new Float64Array(messages + 1)
  let position = 0
  let record = 0
  for (let m = 0; m < messages; m++) {
    const count = Math.min(per, records - record)
    const payloads: Array<Payload> = []
    for (let i = 0; i < count; i++) payloads.push(fixtures[(record + i) % DISTINCT]!)
    record += count
    const buffer = encodeIngest(m, format, payloads)
    if (framed) {
      slab[position] = 0 // not compressed
      slab.writeUInt32BE(buffer.length, position + 1)
      position += 5
    }
    buffer.copy(slab, position)
    position += buffer.length
    offsets[m + 1] = position
  }
  return { slab, offsets, messages }
}

/** One open `EphemeralStream` call and the acks it has received. */
class Call {
  lastAck = -1
  private failure: Error | undefined
  private waiter: (() => void) | undefined

  constructor(readonly stream: grpc.ClientDuplexStream<Buffer, EphemeralStreamResponse>) {
    stream.on("data", (message: EphemeralStreamResponse) => {
      if (message.payload.case === "ingestRecordResponse") {
        this.lastAck = Number(message.payload.value.durabilityAckUpToOffset)
      }
      this.wake()
    })
    stream.on("status", (status: grpc.StatusObject) => {
      if (status.code !== grpc.status.OK) this.failure = new Error(`call ended: ${status.code} ${status.details}`)
      this.wake()
    })
    stream.on("error", () => {})
  }

  private wake(): void {
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.()
  }

  /** Resolves once `offset` is acknowledged (or the first response arrived, for -1). */
  waitFor(offset: number, timeoutMs = 120_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ack for ${offset} after ${timeoutMs} ms`)), timeoutMs)
      const check = () => {
        if (this.failure !== undefined) {
          clearTimeout(timer)
          reject(this.failure)
        } else if (this.lastAck >= offset) {
          clearTimeout(timer)
          resolve()
        } else {
          this.waiter = check
        }
      }
      check()
    })
  }

  /** Waits for `create_stream_response`. */
  created(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no create_stream_response")), timeoutMs)
      const onData = (message: EphemeralStreamResponse) => {
        if (message.payload.case === "createStreamResponse") {
          clearTimeout(timer)
          this.stream.off("data", onData)
          resolve()
        }
      }
      this.stream.on("data", onData)
      this.stream.once("status", (status: grpc.StatusObject) => {
        clearTimeout(timer)
        reject(new Error(`stream creation failed: ${status.code} ${status.details}`))
      })
    })
  }

  /** Half-closes and waits for the final status. */
  finish(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs)
      this.stream.once("status", () => {
        clearTimeout(timer)
        resolve()
      })
      this.stream.end()
    })
  }
}

/** Writes messages `0 .. messages - 1` with `'drain'` backpressure; resolves after the last write. */
const writeAll = (call: Call, encoded: Encoded): Promise<void> =>
  new Promise((resolve) => {
    let next = 0
    const pump = () => {
      while (next < encoded.messages) {
        const view = encoded.slab.subarray(encoded.offsets[next]!, encoded.offsets[next + 1]!)
        next++
        if (!call.stream.write(view)) {
          call.stream.once("drain", pump)
          return
        }
      }
      resolve()
    }
    pump()
  })

/**
 * Encodes and writes `records` records (the fixtures, cycled) as batch(`per`) messages of `table`,
 * message by message, with `'drain'` backpressure; resolves with the message count after the last
 * write.
 */
const encodeAndWriteAll = <A>(
  call: Call,
  table: Table.Table<A>,
  fixtures: ReadonlyArray<A>,
  records: number,
  per: number
): Promise<number> =>
  new Promise((resolve, reject) => {
    const pool = new BufferPool()
    const messages = Math.ceil(records / per)
    let next = 0
    const pump = () => {
      while (next < messages) {
        const first = next * per
        const count = Math.min(per, records - first)
        const payloads: Array<Payload> = []
        let room = 0
        for (let i = 0; i < count; i++) {
          const payload = table.encode(fixtures[(first + i) % DISTINCT]!)
          if (!isPayload(payload)) {
            return reject(new Error(`record ${first + i} did not encode: ${payload.message}`))
          }
          payloads.push(payload)
          room += entryEstimate(payload)
        }
        const encoded = encodeMessage(pool, next, table.recordType, payloads, count, room)
        next++
        if (!call.stream.write(encoded.message, () => pool.release(encoded.buffer))) {
          call.stream.once("drain", pump)
          return
        }
      }
      resolve(messages)
    }
    pump()
  })

/** Runs a ceiling case. */
export const run = async (input: CaseInput, section: Section): Promise<Outcome> => {
  const table = tableFor(input)
  const { server } = input
  const token = await fetchToken(server.workspaceUrl, { ...server, table })
  const encodesInClock = input.variant === "grpc-encode1000"
  const encoded = encodesInClock
    ? undefined
    : encodeAll(input.format, input.records, perMessage(input.variant))
  const client = new grpc.Client(server.endpoint.replace(/^http:\/\//, ""), grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1
  })
  try {
    const metadata = new grpc.Metadata()
    metadata.set(AUTHORIZATION_HEADER, `Bearer ${token}`)
    metadata.set(TABLE_NAME_HEADER, table)
    const call = new Call(
      client.makeBidiStreamRequest<Buffer, EphemeralStreamResponse>(
        METHOD_PATH,
        (buffer: Buffer) => buffer,
        decodeResponse,
        metadata
      )
    )
    const created = call.created()
    call.stream.write(
      encodeCreateStream(table, input.format, input.format === "proto" ? benchDescriptor : undefined)
    )
    await created

    await section.begin()
    if (encoded === undefined) {
      const per = perMessage(input.variant)
      const messages = input.format === "json"
        ? await encodeAndWriteAll(call, Table.json(table), jsonRecords, input.records, per)
        : await encodeAndWriteAll(call, Table.proto(table, benchDescriptor), protoRecords, input.records, per)
      await call.waitFor(messages - 1)
    } else if (input.variant === "grpc-ackwait") {
      for (let m = 0; m < encoded.messages; m++) {
        call.stream.write(encoded.slab.subarray(encoded.offsets[m]!, encoded.offsets[m + 1]!))
        await call.waitFor(m)
      }
    } else {
      await writeAll(call, encoded)
      await call.waitFor(encoded.messages - 1)
    }
    await section.end()
    await call.finish()
    return { records: input.records, bytes: totalBytes(input.format, input.records) }
  } finally {
    client.close()
  }
}
