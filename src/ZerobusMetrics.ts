/**
 * Metrics emitted by ingest streams, each with a `table` attribute. Export them with any Effect
 * metrics exporter (for example `effect/observability`'s OTLP layers) or read them with
 * `Metric.value`.
 *
 * @since 0.1.0
 */
import { Metric } from "effect"

/**
 * Records accepted by `ingest`/`ingestBatch`/the sink (queued for sending).
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordsIngested = Metric.counter("zerobus_records_ingested_total", {
  description: "Records accepted by ingest calls",
  incremental: true
})

/**
 * Records acknowledged as durable by the server.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recordsAcked = Metric.counter("zerobus_records_acked_total", {
  description: "Records acknowledged as durable",
  incremental: true
})

/**
 * gRPC messages sent (one message carries one or many records), replays included.
 *
 * @since 0.1.0
 * @category metrics
 */
export const messagesSent = Metric.counter("zerobus_messages_sent_total", {
  description: "Record messages written to the wire, replays included",
  incremental: true
})

/**
 * Requests (one per `ingest`/`ingestBatch` call) queued or waiting for their ack.
 *
 * @since 0.1.0
 * @category metrics
 */
export const requestsInFlight = Metric.gauge("zerobus_requests_in_flight", {
  description: "Requests queued or unacknowledged"
})

/**
 * Milliseconds from writing a message to its acknowledgement: quantiles 0.5, 0.9 and 0.99 over the
 * last minute (at most 10,000 observations).
 *
 * @since 0.1.0
 * @category metrics
 */
export const ackLatency = Metric.summary("zerobus_ack_latency_ms", {
  description: "Milliseconds from sending a message to its durability ack",
  maxAge: "1 minute",
  maxSize: 10_000,
  quantiles: [0.5, 0.9, 0.99]
})

/**
 * Reconnections after a retryable failure.
 *
 * @since 0.1.0
 * @category metrics
 */
export const recoveries = Metric.counter("zerobus_stream_recoveries_total", {
  description: "Reconnections after a retryable stream failure",
  incremental: true
})

/**
 * Moves to a new server stream after a CloseStreamSignal.
 *
 * @since 0.1.0
 * @category metrics
 */
export const rotations = Metric.counter("zerobus_stream_rotations_total", {
  description: "Graceful moves to a new stream after the server's CloseStreamSignal",
  incremental: true
})

/**
 * Streams that failed for good (non-retryable error, recovery off or exhausted).
 *
 * @since 0.1.0
 * @category metrics
 */
export const failures = Metric.counter("zerobus_stream_failures_total", {
  description: "Streams that failed without recovering",
  incremental: true
})
