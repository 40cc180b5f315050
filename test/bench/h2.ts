/**
 * Beyond grpc-js: a hand-framed gRPC client on `node:http2`. The requests are encoded and framed
 * (5-byte gRPC header each) before the clock starts, then written as ~64 KiB slices of many
 * messages per `write()`, with `'drain'` backpressure; acks are read by parsing response frames.
 * It shows what the wire and the server allow once grpc-js' per-message cost is gone.
 *
 * Variants: `h2-single` (one `ingest_record` per record), `h2-batch1000` (`ingest_record_batch`
 * of 1,000 records).
 */
import * as http2 from "node:http2"
import { AUTHORIZATION_HEADER, decodeResponse, METHOD_PATH, TABLE_NAME_HEADER } from "../../src/internal/protocol.ts"
import { encodeCreateStream } from "../../src/internal/wire.ts"
import { fetchToken } from "../support/oauth.ts"
import { benchDescriptor, totalBytes } from "./fixtures.ts"
import { type CaseInput, type Outcome, type Section, tableFor } from "./harness.ts"
import { encodeAll, perMessage } from "./raw.ts"

const frame = (message: Buffer): Buffer => {
  const out = Buffer.allocUnsafe(5 + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  message.copy(out, 5)
  return out
}

/** Bytes written per `write()`. */
const SLICE = 64 * 1024

/** Runs a hand-framed HTTP/2 case. */
export const run = async (input: CaseInput, section: Section): Promise<Outcome> => {
  const table = tableFor(input)
  const { server } = input
  const token = await fetchToken(server.workspaceUrl, { ...server, table })
  const encoded = encodeAll(input.format, input.records, perMessage(input.variant), true)
  const session = http2.connect(server.endpoint)
  session.on("error", () => {})
  try {
    const request = session.request({
      ":method": "POST",
      ":path": METHOD_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      [AUTHORIZATION_HEADER]: `Bearer ${token}`,
      [TABLE_NAME_HEADER]: table
    })
    request.on("error", () => {})

    // Response frames: the first is create_stream_response, then acks.
    let created = false
    let lastAck = -1
    let failure: Error | undefined
    let pending: Buffer = Buffer.alloc(0)
    let wake: (() => void) | undefined
    const notify = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    request.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 5) {
        const length = pending.readUInt32BE(1)
        if (pending.length < 5 + length) break
        const message = decodeResponse(pending.subarray(5, 5 + length))
        pending = pending.subarray(5 + length)
        if (message.payload.case === "createStreamResponse") created = true
        else if (message.payload.case === "ingestRecordResponse") {
          lastAck = Number(message.payload.value.durabilityAckUpToOffset)
        }
      }
      notify()
    })
    request.on("trailers", (trailers) => {
      const status = trailers["grpc-status"]
      if (status !== undefined && status !== "0") {
        failure = new Error(`call ended: ${String(status)} ${String(trailers["grpc-message"] ?? "")}`)
      }
      notify()
    })
    request.on("close", () => {
      failure ??= new Error("the call closed")
      notify()
    })
    const until = (done: () => boolean, what: string, timeoutMs = 120_000): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)
        const check = () => {
          if (done()) {
            clearTimeout(timer)
            resolve()
          } else if (failure !== undefined) {
            clearTimeout(timer)
            reject(failure)
          } else {
            wake = check
          }
        }
        check()
      })

    request.write(
      frame(encodeCreateStream(table, input.format, input.format === "proto" ? benchDescriptor : undefined))
    )
    await until(() => created, "create_stream_response", 15_000)

    await section.begin()
    await new Promise<void>((resolve) => {
      let m = 0
      const pump = () => {
        while (m < encoded.messages) {
          const start = encoded.offsets[m]!
          let next = m + 1
          while (next < encoded.messages && encoded.offsets[next + 1]! - start <= SLICE) next++
          const ok = request.write(encoded.slab.subarray(start, encoded.offsets[next]!))
          m = next
          if (!ok) {
            request.once("drain", pump)
            return
          }
        }
        resolve()
      }
      pump()
    })
    await until(() => lastAck >= encoded.messages - 1, `the ack of ${encoded.messages - 1}`)
    await section.end()
    request.end()
    await until(() => failure !== undefined, "the end of the call", 10_000).catch(() => {})
    return { records: input.records, bytes: totalBytes(input.format, input.records) }
  } finally {
    session.destroy()
  }
}
