/**
 * An ingest stream to one table. Records are queued by `ingest`/`ingestBatch` (which return their
 * logical offset as soon as the request is queued, waiting only while the in-flight window is
 * full), sent over a gRPC `EphemeralStream`, and acknowledged cumulatively by the server once
 * durable. Offsets are 0-based, one per call, and survive reconnections.
 *
 * Streams are created by `Zerobus.createStream` in a `Scope`; closing the scope flushes and
 * closes the stream.
 *
 * @since 0.1.0
 */
import type { Effect, Option, Sink, Stream } from "effect"
import { Predicate } from "effect"
import type { Payload } from "./internal/wire.ts"
import type { StreamOptions } from "./StreamOptions.ts"
import type { Table } from "./Table.ts"
import type { ZerobusError } from "./ZerobusError.ts"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~effect-zerobus/ZerobusStream" as const

/**
 * Where a stream is in its life:
 * - `open`: connected, sending;
 * - `recovering`: reconnecting after a retryable failure (ingest keeps queueing);
 * - `paused`: the server announced the end of its stream; waiting for acks before moving on;
 * - `closing`: `close` is flushing;
 * - `closed`: closed by `close` (or its scope);
 * - `failed`: failed for good; see `unackedRecords` and `Zerobus.recreateStream`.
 *
 * @since 0.1.0
 * @category models
 */
export type StreamState = "open" | "recovering" | "paused" | "closing" | "closed" | "failed"

/**
 * An encoded record as sent on the wire: a JSON string or protobuf bytes.
 *
 * @since 0.1.0
 * @category models
 */
export type EncodedRecord = Payload

/**
 * An ingest stream accepting records of type `A`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ZerobusStream<in A> {
  readonly [TypeId]: typeof TypeId
  /** The table this stream writes. */
  readonly table: Table<A>
  /** The resolved options. */
  readonly options: StreamOptions
  /** The server's id of the current underlying stream (changes on reconnection). */
  readonly streamId: Effect.Effect<string>
  /** The current state. */
  readonly state: Effect.Effect<StreamState>
  /**
   * Queues one record and returns its logical offset. Waits while `maxInflightRequests` requests
   * are queued or unacknowledged. Fails with `InvalidArgument` for a record that cannot be sent
   * (wrong kind, not encodable, too large) and with `StreamClosed` after close or failure.
   */
  readonly ingest: (record: A) => Effect.Effect<number, ZerobusError>
  /**
   * Queues several records as one request (one logical offset, acknowledged together) and returns
   * its offset; `Option.none()` for an empty batch, which sends nothing. Every record is checked
   * before any is queued.
   */
  readonly ingestBatch: (records: Iterable<A>) => Effect.Effect<Option.Option<number>, ZerobusError>
  /** Queues one record and waits for its durability ack; returns its offset. */
  readonly ingestAndWait: (record: A) => Effect.Effect<number, ZerobusError>
  /**
   * Waits until `offset` is acknowledged (bounded by `flushTimeout`); fails at once with the
   * stream's error if it fails.
   */
  readonly waitForOffset: (offset: number) => Effect.Effect<void, ZerobusError>
  /**
   * Waits until every request queued before the call is acknowledged (bounded by `flushTimeout`).
   */
  readonly flush: Effect.Effect<void, ZerobusError>
  /**
   * Flushes, then ends the stream. Fails with the flush's error (or the stream's failure) when
   * some records were not acknowledged; the same result on every call.
   */
  readonly close: Effect.Effect<void, ZerobusError>
  /**
   * Records not acknowledged, oldest first, as encoded on the wire. Only on a closed or failed
   * stream (`InvalidState` otherwise).
   */
  readonly unackedRecords: Effect.Effect<ReadonlyArray<EncodedRecord>, ZerobusError>
  /** Like `unackedRecords`, grouped by request (a single record is a batch of one). */
  readonly unackedBatches: Effect.Effect<ReadonlyArray<ReadonlyArray<EncodedRecord>>, ZerobusError>
  /**
   * Every acknowledged logical offset, in order, from subscription on; ends when the stream closes
   * and fails with the stream's error. The buffer is unbounded: consume it.
   */
  readonly acks: Stream.Stream<number, ZerobusError>
  /**
   * A sink ingesting a stream of records (each record its own request; many share a gRPC message)
   * that completes once every record is acknowledged.
   */
  readonly sink: Sink.Sink<void, A, never, ZerobusError>
}

/**
 * Whether a value is a stream.
 *
 * @since 0.1.0
 * @category guards
 */
export const isZerobusStream = (u: unknown): u is ZerobusStream<never> => Predicate.hasProperty(u, TypeId)
