/**
 * A raw Zerobus wire client for tests: grpc-js plus the generated messages, no SDK logic. It sends
 * exactly what a test asks and records everything the server answers, so tests can check the
 * server's behaviour message by message.
 *
 * API:
 * - `new RawClient(endpoint, { ca? })`: one channel (one HTTP/2 connection) to `http://host:port`
 *   or `https://host:port` (pass the CA/self-signed certificate PEM for TLS). `close()` closes it.
 * - `client.open({ token?, table?, metadata? })` → `RawCall`: starts an `EphemeralStream` call with
 *   `authorization: Bearer <token>` and `x-databricks-zerobus-table-name: <table>` (each omitted
 *   when undefined).
 * - `RawCall` writes: `createStream({ table, recordType?, descriptor? })`, `json(offset, record)`,
 *   `jsonBatch(offset, records)`, `proto(offset, bytes)`, `protoBatch(offset, records)`,
 *   `send(init)` (any `EphemeralStreamRequest`), `sendRaw(bytes)` (arbitrary bytes as a message),
 *   `halfClose()`, `cancel()`.
 * - `RawCall` reads: `headers` (resolves when response headers arrive), `next(ms)` (next event:
 *   `{ _tag: "Message", message }` or `{ _tag: "Status", code, details }`; rejects on timeout),
 *   `streamId(ms)` (expects `create_stream_response` next), `waitForAck(offset, ms)`,
 *   `status(ms)` (waits for the final status), `acks()` (ack offsets received so far),
 *   `messages` and `events` (everything so far).
 * - `openStream(client, { token, table, recordType?, descriptor? })`: open + create_stream + wait
 *   for the stream id.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf"
import * as grpc from "@grpc/grpc-js"
import {
  AUTHORIZATION_HEADER,
  decodeResponse,
  encodeRequest,
  type EphemeralStreamRequest,
  EphemeralStreamRequestSchema,
  type EphemeralStreamResponse,
  METHOD_PATH,
  RecordType,
  TABLE_NAME_HEADER
} from "../../src/internal/protocol.ts"

/** The final status of a call. */
export interface RawStatus {
  readonly _tag: "Status"
  readonly code: number
  readonly details: string
}

/** Something the server sent: a message, or the final status (always last). */
export type RawEvent =
  | { readonly _tag: "Message"; readonly message: EphemeralStreamResponse }
  | RawStatus

type Outgoing = EphemeralStreamRequest | Buffer

const serialize = (value: Outgoing): Buffer => Buffer.isBuffer(value) ? value : encodeRequest(value)

/** Address (`host:port`) of an `http(s)://host:port` endpoint. */
export const addressOf = (endpoint: string): string => endpoint.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "")

/** One `EphemeralStream` call. */
export class RawCall {
  readonly events: Array<RawEvent> = []
  readonly messages: Array<EphemeralStreamResponse> = []
  readonly headers: Promise<grpc.Metadata>
  private waiters: Array<() => void> = []
  private cursor = 0
  private ackOffsets: Array<number> = []

  constructor(readonly call: grpc.ClientDuplexStream<Outgoing, EphemeralStreamResponse>) {
    this.headers = new Promise((resolve) => call.once("metadata", resolve))
    call.on("data", (message: EphemeralStreamResponse) => {
      this.messages.push(message)
      if (message.payload.case === "ingestRecordResponse") {
        this.ackOffsets.push(Number(message.payload.value.durabilityAckUpToOffset))
      }
      this.push({ _tag: "Message", message })
    })
    call.on("status", (status: grpc.StatusObject) => {
      this.push({ _tag: "Status", code: status.code, details: status.details })
    })
    call.on("error", () => {})
  }

  private push(event: RawEvent): void {
    this.events.push(event)
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  private changed(timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${describe(this.events)}`))
      }, timeoutMs)
      const wake = () => {
        clearTimeout(timer)
        resolve()
      }
      this.waiters.push(wake)
    })
  }

  /** Writes any request. */
  send(init: MessageInitShape<typeof EphemeralStreamRequestSchema>): void {
    this.call.write(create(EphemeralStreamRequestSchema, init))
  }

  /** Writes arbitrary bytes as one gRPC message. */
  sendRaw(bytes: Buffer): void {
    this.call.write(bytes)
  }

  /** Writes `create_stream` (JSON by default). */
  createStream(options: {
    readonly table: string
    readonly recordType?: RecordType | undefined
    readonly descriptor?: Uint8Array | undefined
  }): void {
    this.send({
      payload: {
        case: "createStream",
        value: {
          tableName: options.table,
          recordType: options.recordType ?? RecordType.JSON,
          ...(options.descriptor === undefined ? {} : { descriptorProto: options.descriptor })
        }
      }
    })
  }

  json(offset: number, record: string): void {
    this.send({
      payload: {
        case: "ingestRecord",
        value: { offsetId: BigInt(offset), record: { case: "jsonRecord", value: record } }
      }
    })
  }

  jsonBatch(offset: number, records: ReadonlyArray<string>): void {
    this.send({
      payload: {
        case: "ingestRecordBatch",
        value: { offsetId: BigInt(offset), batch: { case: "jsonBatch", value: { records: [...records] } } }
      }
    })
  }

  proto(offset: number, record: Uint8Array): void {
    this.send({
      payload: {
        case: "ingestRecord",
        value: { offsetId: BigInt(offset), record: { case: "protoEncodedRecord", value: record } }
      }
    })
  }

  protoBatch(offset: number, records: ReadonlyArray<Uint8Array>): void {
    this.send({
      payload: {
        case: "ingestRecordBatch",
        value: { offsetId: BigInt(offset), batch: { case: "protoEncodedBatch", value: { records: [...records] } } }
      }
    })
  }

  halfClose(): void {
    this.call.end()
  }

  cancel(): void {
    this.call.cancel()
  }

  /** The next event not returned yet. */
  async next(timeoutMs = 5000): Promise<RawEvent> {
    const deadline = Date.now() + timeoutMs
    while (this.cursor >= this.events.length) {
      await this.changed(Math.max(1, deadline - Date.now()), "the next event")
    }
    return this.events[this.cursor++]!
  }

  /** Expects `create_stream_response` as the next event and returns its stream id. */
  async streamId(timeoutMs = 5000): Promise<string> {
    const event = await this.next(timeoutMs)
    if (event._tag !== "Message" || event.message.payload.case !== "createStreamResponse") {
      throw new Error(`expected create_stream_response, got ${describe([event])}`)
    }
    return event.message.payload.value.streamId
  }

  /** Ack offsets received so far, in order. */
  acks(): Array<number> {
    return [...this.ackOffsets]
  }

  /** Resolves once an ack covers `offset`; rejects if the call ends first. */
  async waitForAck(offset: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while ((this.ackOffsets.at(-1) ?? -1) < offset) {
      const end = this.finalStatus()
      if (end !== undefined) throw new Error(`call ended before ack ${offset}: ${describe(this.events)}`)
      await this.changed(Math.max(1, deadline - Date.now()), `ack ${offset}`)
    }
  }

  /** The final status, if the call ended. */
  finalStatus(): RawStatus | undefined {
    const last = this.events.at(-1)
    return last?._tag === "Status" ? last : undefined
  }

  /** Waits for the final status. */
  async status(timeoutMs = 5000): Promise<RawStatus> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const end = this.finalStatus()
      if (end !== undefined) return end
      await this.changed(Math.max(1, deadline - Date.now()), "the final status")
    }
  }
}

/** Short text of the last events, for failure messages. */
export const describe = (events: ReadonlyArray<RawEvent>): string =>
  events.length === 0 ?
    "nothing" :
    (events.length > 20 ? `${events.length - 20} events, then ` : "") + events.slice(-20).map((event) =>
      event._tag === "Status"
        ? `status ${event.code} ${JSON.stringify(event.details)}`
        : event.message.payload.case === "ingestRecordResponse"
        ? `ack ${event.message.payload.value.durabilityAckUpToOffset ?? "(none)"}`
        : event.message.payload.case ?? "empty message"
    ).join(", ")

/** A channel to one server. */
export class RawClient {
  readonly client: grpc.Client

  constructor(endpoint: string, options: { readonly ca?: Buffer | undefined } = {}) {
    const credentials = endpoint.startsWith("https://")
      ? grpc.credentials.createSsl(options.ca ?? null)
      : grpc.credentials.createInsecure()
    this.client = new grpc.Client(addressOf(endpoint), credentials, {
      "grpc.max_send_message_length": -1,
      "grpc.max_receive_message_length": -1,
      // TLS test certificates name localhost; avoid using an IP address as the TLS server name.
      ...(endpoint.startsWith("https://") ? { "grpc.ssl_target_name_override": "localhost" } : {})
    })
  }

  /** Starts a call with the given metadata. */
  open(options: {
    readonly token?: string | undefined
    readonly table?: string | undefined
    readonly metadata?: Readonly<Record<string, string>> | undefined
  } = {}): RawCall {
    const metadata = new grpc.Metadata()
    if (options.token !== undefined) metadata.set(AUTHORIZATION_HEADER, `Bearer ${options.token}`)
    if (options.table !== undefined) metadata.set(TABLE_NAME_HEADER, options.table)
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value)
    return new RawCall(
      this.client.makeBidiStreamRequest<Outgoing, EphemeralStreamResponse>(
        METHOD_PATH,
        serialize,
        decodeResponse,
        metadata
      )
    )
  }

  close(): void {
    this.client.close()
  }
}

/** Opens a call, sends `create_stream` and waits for the stream id. */
export const openStream = async (client: RawClient, options: {
  readonly token: string
  readonly table: string
  readonly recordType?: RecordType | undefined
  readonly descriptor?: Uint8Array | undefined
}): Promise<{ readonly call: RawCall; readonly streamId: string }> => {
  const call = client.open({ token: options.token, table: options.table })
  call.createStream(options)
  return { call, streamId: await call.streamId() }
}
