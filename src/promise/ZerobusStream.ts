/**
 * An ingest stream of the Promise API, created by `ZerobusSdk.createStream`. Each stream owns a
 * `Scope` of the SDK's runtime: `close()` flushes, closes the stream and then its scope.
 *
 * Offsets are `bigint`s, as in the official SDK: logical, 0-based, one per `ingestRecordOffset`
 * or `ingestRecordsOffset` call, kept across automatic reconnections.
 *
 * @since 0.1.0
 */
import { Effect, Exit, type LogLevel, Option, References, Scope } from "effect"
import { asBuffer } from "../internal/protocol.ts"
import type { AnyRecord } from "../Table.ts"
import * as ZerobusErrorEffect from "../ZerobusError.ts"
import type { EncodedRecord, ZerobusStream as EffectStream } from "../ZerobusStream.ts"
import { type Payload, toRecord, toRecords } from "./records.ts"
import { fromFiber, run, same } from "./run.ts"
import { fromCause, invalidArgument, isZerobusError, ZerobusError } from "./ZerobusError.ts"

/**
 * Where an acknowledgement stands: still pending, acknowledged (with the record's offset) or
 * failed (with the error).
 *
 * @since 0.1.0
 * @category models
 */
export type AckStatus =
  | { readonly status: "pending" }
  | { readonly status: "acked"; readonly offset: bigint }
  | { readonly status: "failed"; readonly error: ZerobusError }

/**
 * The acknowledgement of one queued record (the Go SDK's `RecordAck`): its offset at once, a
 * Promise of the durability ack, and a non-blocking check.
 *
 * @since 0.1.0
 * @category models
 */
export interface AckHandle {
  /** The record's logical offset. */
  readonly offset: bigint
  /** Resolves with the offset once the record is durable; rejects if it cannot be. */
  readonly await: () => Promise<bigint>
  /** The current status, without waiting. */
  readonly tryGet: () => AckStatus
}

/** What a stream handle holds; shared with `ZerobusSdk` for `recreateStream`. */
export interface StreamInit {
  readonly inner: EffectStream<AnyRecord>
  readonly scope: Scope.Closeable
  /** The SDK's log level, for the finalizers that run when the scope closes. */
  readonly logLevel: LogLevel.LogLevel
  readonly onClosed: (stream: ZerobusStream) => void
}

/** Internals of every handle, for `ZerobusSdk.recreateStream`. */
export const handles = new WeakMap<ZerobusStream, StreamInit>()

const toBuffer = (record: EncodedRecord): Buffer =>
  typeof record === "string" ? Buffer.from(record, "utf8") : asBuffer(record)

/** A defect (a bug) seen through `tryGet`, reported as a non-retryable error. */
const unexpected = (defect: unknown): ZerobusError =>
  new ZerobusError(
    ZerobusErrorEffect.make(
      new ZerobusErrorEffect.InvalidState({
        message: `Unexpected failure: ${defect instanceof Error ? defect.message : String(defect)}`
      })
    )
  )

const toOffset = (offset: number): bigint => BigInt(offset)
const toOptionalOffset = (offset: Option.Option<number>): bigint | null =>
  Option.isSome(offset) ? BigInt(offset.value) : null

/**
 * An ingest stream. Create it with `ZerobusSdk.createStream`; close it with `close()` (in a
 * `finally`), or `await using`.
 *
 * @since 0.1.0
 * @category models
 */
export class ZerobusStream {
  readonly #inner: EffectStream<AnyRecord>
  readonly #scope: Scope.Closeable
  readonly #onClosed: (stream: ZerobusStream) => void
  readonly #logLevel: LogLevel.LogLevel
  #closing: Promise<void> | undefined = undefined
  #closeSettled = false

  /** Made by `ZerobusSdk`; not meant to be called directly. @since 0.1.0 */
  constructor(init: StreamInit) {
    this.#inner = init.inner
    this.#scope = init.scope
    this.#onClosed = init.onClosed
    this.#logLevel = init.logLevel
    handles.set(this, init)
  }

  /** The table this stream writes. @since 0.1.0 */
  get tableName(): string {
    return this.#inner.table.name
  }

  /**
   * Queues one record and resolves with its logical offset as soon as it is queued (waiting only
   * while `maxInflightRequests` requests are outstanding). Use `waitForOffset` or `flush` to wait
   * for durability.
   *
   * @since 0.1.0
   */
  ingestRecordOffset(payload: Payload): Promise<bigint> {
    const record = toRecord(payload)
    if (ZerobusErrorEffect.isZerobusError(record)) return Promise.reject(new ZerobusError(record))
    return run(this.#inner.ingest(record), toOffset)
  }

  /**
   * Queues records as one request (acknowledged together) and resolves with its logical offset;
   * `null` for an empty array, which sends nothing.
   *
   * @since 0.1.0
   */
  ingestRecordsOffset(payloads: Iterable<Payload>): Promise<bigint | null> {
    const records = toRecords(payloads)
    if (ZerobusErrorEffect.isZerobusError(records)) return Promise.reject(new ZerobusError(records))
    return run(this.#inner.ingestBatch(records), toOptionalOffset)
  }

  /**
   * Queues one record and resolves with an {@link AckHandle} once it is queued: its offset, a
   * Promise of its ack (`await()`) and a non-blocking `tryGet()`.
   *
   * @since 0.1.0
   */
  async ingestRecordAck(payload: Payload): Promise<AckHandle> {
    const offset = await this.ingestRecordOffset(payload)
    const fiber = Effect.runFork(this.#inner.waitForOffset(Number(offset)))
    let awaited: Promise<bigint> | undefined
    return {
      offset,
      await: () => awaited ??= fromFiber(fiber, () => offset),
      tryGet: (): AckStatus => {
        const exit = fiber.pollUnsafe()
        if (exit === undefined) return { status: "pending" }
        if (Exit.isSuccess(exit)) return { status: "acked", offset }
        const error = fromCause(exit.cause)
        return isZerobusError(error) ? { status: "failed", error } : { status: "failed", error: unexpected(error) }
      }
    }
  }

  /**
   * Queues one record and resolves with its offset once the server acknowledged it.
   *
   * @deprecated Use `ingestRecordOffset` (and `waitForOffset` or `flush` when needed).
   * @since 0.1.0
   */
  ingestRecord(payload: Payload): Promise<bigint> {
    const record = toRecord(payload)
    if (ZerobusErrorEffect.isZerobusError(record)) return Promise.reject(new ZerobusError(record))
    return run(this.#inner.ingestAndWait(record), toOffset)
  }

  /**
   * Queues records as one request and resolves with its offset once the server acknowledged it;
   * `null` for an empty array.
   *
   * @deprecated Use `ingestRecordsOffset` (and `waitForOffset` or `flush` when needed).
   * @since 0.1.0
   */
  ingestRecords(payloads: Iterable<Payload>): Promise<bigint | null> {
    const records = toRecords(payloads)
    if (ZerobusErrorEffect.isZerobusError(records)) return Promise.reject(new ZerobusError(records))
    const inner = this.#inner
    return run(
      Effect.flatMap(
        inner.ingestBatch(records),
        (offset): Effect.Effect<Option.Option<number>, ZerobusErrorEffect.ZerobusError> =>
          Option.isSome(offset) ? Effect.as(inner.waitForOffset(offset.value), offset) : Effect.succeed(offset)
      ),
      toOptionalOffset
    )
  }

  /**
   * Resolves once `offset` is acknowledged (bounded by `flushTimeoutMs`); rejects at once when the
   * stream fails.
   *
   * @since 0.1.0
   */
  waitForOffset(offset: bigint | number): Promise<void> {
    const n = Number(offset)
    if (!Number.isSafeInteger(n)) return Promise.reject(invalidArgument(`Offset ${String(offset)} is not an offset`))
    return run(this.#inner.waitForOffset(n), same)
  }

  /**
   * Resolves once every record queued before the call is acknowledged (bounded by
   * `flushTimeoutMs`).
   *
   * @since 0.1.0
   */
  flush(): Promise<void> {
    return run(this.#inner.flush, same)
  }

  /**
   * Flushes, then closes the stream and releases its resources. Rejects with the flush's error
   * when records were not acknowledged (read them with `getUnackedRecords`, or continue with
   * `ZerobusSdk.recreateStream`). Later calls resolve.
   *
   * @since 0.1.0
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      const release = Scope.close(this.#scope, Exit.void).pipe(
        Effect.provideService(References.MinimumLogLevel, this.#logLevel)
      )
      this.#closing = run(this.#inner.close, same).finally(async () => {
        await Effect.runPromise(release)
        this.#closeSettled = true
        this.#onClosed(this)
      })
      return this.#closing
    }
    return this.#closeSettled ? Promise.resolve() : this.#closing.catch(() => undefined)
  }

  /**
   * The records not acknowledged, oldest first, as bytes (JSON records as UTF-8). Only once the
   * stream is closed or failed; unlike the official SDK this keeps working after `close()`.
   *
   * @since 0.1.0
   */
  getUnackedRecords(): Promise<Array<Buffer>> {
    return run(this.#inner.unackedRecords, (records) => records.map(toBuffer))
  }

  /**
   * Like `getUnackedRecords`, grouped by request: one array per `ingestRecord*` call.
   *
   * @since 0.1.0
   */
  getUnackedBatches(): Promise<Array<Array<Buffer>>> {
    return run(this.#inner.unackedBatches, (batches) => batches.map((batch) => batch.map(toBuffer)))
  }

  /** `close()`, for `await using`. @since 0.1.0 */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
