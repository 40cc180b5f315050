/**
 * docs/effect-patterns.md, "Scoped streams": one stream per scope, and a stream owned by a layer
 * for the life of an application. Type-checked, not run.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Table, Zerobus, type ZerobusError, type ZerobusStream } from "effect-zerobus"

const Event = Schema.Struct({ id: Schema.Number, kind: Schema.String })
type Event = typeof Event.Type

// A stream for one unit of work: flushed and closed when the scope closes.
export const importFile = (events: ReadonlyArray<Event>) =>
  Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(Table.json("main.default.events", Event))
    yield* stream.ingestBatch(events)
  }).pipe(Effect.scoped)

// A stream for the whole application: opened when the layer is built, flushed and closed when it
// is released (at shutdown).
export class EventSink extends Context.Service<EventSink, {
  readonly record: (event: Event) => Effect.Effect<void, ZerobusError.ZerobusError>
  readonly stream: ZerobusStream.ZerobusStream<Event>
}>()("my-app/EventSink") {}

export const EventSinkLive: Layer.Layer<EventSink, ZerobusError.ZerobusError, Zerobus.Zerobus> = Layer.effect(
  EventSink,
  Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(Table.json("main.default.events", Event))
    return EventSink.of({ record: (event) => Effect.asVoid(stream.ingest(event)), stream })
  })
)

export const app = Effect.gen(function*() {
  const sink = yield* EventSink
  yield* sink.record({ id: 1, kind: "signup" })
}).pipe(Effect.provide(EventSinkLive.pipe(Layer.provide(Zerobus.layerFromEnv))))
