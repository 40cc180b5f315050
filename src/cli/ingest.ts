/**
 * `zerobus ingest`: streams records from stdin (or `--file`) into a table, one record per line,
 * through a stream's sink:
 *
 * - `--format json` (default): each line is one JSON object (NDJSON), sent as it is;
 * - `--format proto`: each line is one protobuf-encoded record in base64; `--descriptor` names a
 *   FileDescriptorSet (`protoc --include_imports --descriptor_set_out`, `buf build -o`, or the
 *   `.descriptor` of `zerobus generate-proto`) and `--message` the record message in it (optional
 *   when it declares only one).
 *
 * Blank lines are skipped. Stream events (recoveries, rotations) are logged to stdout with the
 * global `--log-level info`. While stderr is a terminal a progress line shows records/s, records
 * sent and acknowledged and recoveries; the run ends with a summary on stderr. A fatal error (a
 * line that is not a record, a refused record, a stream that cannot recover) exits with code 1
 * after flushing what was queued, and says how many records were acknowledged.
 *
 * @since 0.1.0
 */
import { fromBinary } from "@bufbuild/protobuf"
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Arr from "effect/Array"
import * as Cause from "effect/Cause"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as GlobalFlag from "effect/cli/GlobalFlag"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as References from "effect/References"
import * as Stream from "effect/Stream"
import * as Fs from "node:fs"
import * as ProtoSchema from "../ProtoSchema.ts"
import * as Table from "../Table.ts"
import * as Zerobus from "../Zerobus.ts"
import * as ZerobusError from "../ZerobusError.ts"
import * as ZerobusMetrics from "../ZerobusMetrics.ts"
import { count, counted, fail, table, workspace } from "./common.ts"

const flags = {
  table,
  format: Flag.Literals("format", ["json", "proto"]).pipe(
    Flag.withDescription("json (default): one JSON object per line; proto: one base64 protobuf record per line"),
    Flag.withDefault("json")
  ),
  descriptor: Flag.String("descriptor").pipe(
    Flag.withDescription("FileDescriptorSet with the record message (--format proto)"),
    Flag.optional
  ),
  message: Flag.String("message").pipe(
    Flag.withDescription("The record message in --descriptor, e.g. orders.table_Orders (optional if only one)"),
    Flag.optional
  ),
  file: Flag.String("file").pipe(
    Flag.withDescription("Read records from this file instead of stdin"),
    Flag.optional
  ),
  endpoint: Flag.String("endpoint").pipe(
    Flag.withDescription("Zerobus endpoint; no scheme means https://, http:// plaintext (or ZEROBUS_SERVER_ENDPOINT)"),
    Flag.withFallbackConfig(Config.String("ZEROBUS_SERVER_ENDPOINT"))
  ),
  ...workspace
}

const invalid = (message: string) => ZerobusError.invalidArgument(message)

/** The sole message of a FileDescriptorSet (outside google/protobuf), when there is exactly one. */
const soleMessage = (bytes: Uint8Array): string | ZerobusError.ZerobusError => {
  let names: Array<string>
  try {
    names = fromBinary(FileDescriptorSetSchema, bytes).file
      .filter((f) => !f.name.startsWith("google/protobuf/"))
      .flatMap((f) => f.messageType.map((m) => f.package.length > 0 ? `${f.package}.${m.name}` : m.name))
  } catch {
    return invalid("--descriptor is not a serialized FileDescriptorSet")
  }
  return names.length === 1
    ? names[0]!
    : invalid(
      names.length === 0
        ? "--descriptor declares no message"
        : `--descriptor declares ${names.length} messages (${names.join(", ")}): choose one with --message`
    )
}

/** The record descriptor of `--descriptor` / `--message`. */
const loadDescriptor = Effect.fnUntraced(function*(path: string, message: Option.Option<string>) {
  const bytes = yield* Effect.try({
    try: () => Fs.readFileSync(path),
    catch: (error) => invalid(`Cannot read --descriptor ${path}: ${error instanceof Error ? error.message : error}`)
  })
  const name = Option.isSome(message) ? message.value : soleMessage(bytes)
  if (ZerobusError.isZerobusError(name)) return yield* name
  const descriptor = yield* ProtoSchema.descriptorFromFileDescriptorSet(bytes, name).pipe(
    Effect.mapError((error) => invalid(`--descriptor ${path}: ${error.message}`))
  )
  return descriptor.descriptorBytes
})

/** One JSON object per line, sent as written. */
const jsonLine = (line: string, lineNumber: number): string | ZerobusError.ZerobusError => {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch (error) {
    return invalid(`line ${lineNumber}: not JSON (${error instanceof Error ? error.message : String(error)})`)
  }
  return Predicate.isObject(parsed) ? line : invalid(`line ${lineNumber}: a record must be a JSON object`)
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2,3})?$/

/** One base64 protobuf record per line. */
const protoLine = (line: string, lineNumber: number): Uint8Array | ZerobusError.ZerobusError =>
  BASE64.test(line)
    ? Buffer.from(line, "base64")
    : invalid(`line ${lineNumber}: not base64 (--format proto takes one base64-encoded record per line)`)

/** The input, split into numbered non-blank lines. */
const inputLines = (file: Option.Option<string>): Stream.Stream<readonly [string, number], ZerobusError.ZerobusError> =>
  NodeStream.fromReadable<Uint8Array, ZerobusError.ZerobusError>({
    evaluate: () => Option.isSome(file) ? Fs.createReadStream(file.value) : process.stdin,
    onError: (error) =>
      invalid(
        `Cannot read ${Option.getOrElse(file, () => "stdin")}: ${error instanceof Error ? error.message : error}`
      )
  }).pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.zipWithIndex,
    Stream.map(([line, index]) => [line.trim(), index + 1] as const),
    Stream.filter(([line]) => line.length > 0)
  )

const counters = (name: string) => {
  const attributes = { table: name }
  return Effect.gen(function*() {
    return {
      sent: (yield* Metric.value(Metric.withAttributes(ZerobusMetrics.recordsIngested, attributes))).count,
      acked: (yield* Metric.value(Metric.withAttributes(ZerobusMetrics.recordsAcked, attributes))).count,
      recoveries: (yield* Metric.value(Metric.withAttributes(ZerobusMetrics.recoveries, attributes))).count +
        (yield* Metric.value(Metric.withAttributes(ZerobusMetrics.rotations, attributes))).count
    }
  })
}

const rate = (n: number, started: number) => n / Math.max((Date.now() - started) / 1000, 0.001)

/** Redraws the progress line on stderr every 250 ms (terminals only). */
const progressLine = (name: string, started: number) =>
  counters(name).pipe(
    Effect.flatMap((c) =>
      Effect.sync(() =>
        process.stderr.write(
          `\r${count(rate(c.acked, started))} records/s  sent ${count(c.sent)}  acked ${count(c.acked)}  recoveries ${
            count(c.recoveries)
          }  `.padEnd(80)
        )
      )
    ),
    Effect.andThen(Effect.sleep("250 millis")),
    Effect.forever
  )

/**
 * Converts numbered lines to records. A bad line ends the stream with its error, after the records
 * of the lines before it.
 */
const toRecords = <A>(
  lines: Stream.Stream<readonly [string, number], ZerobusError.ZerobusError>,
  convert: (line: string, lineNumber: number) => A | ZerobusError.ZerobusError,
  onRecord: () => void
): Stream.Stream<A, ZerobusError.ZerobusError> =>
  Stream.suspend(() => {
    let pending: ZerobusError.ZerobusError | undefined
    const records = lines.pipe(
      Stream.mapArrayEffect((chunk) =>
        Effect.suspend(() => {
          const out: Array<A> = []
          for (const [line, lineNumber] of chunk) {
            if (pending !== undefined) break
            const record = convert(line, lineNumber)
            if (ZerobusError.isZerobusError(record)) pending = record
            else {
              out.push(record)
              onRecord()
            }
          }
          return Arr.isArrayNonEmpty(out) ? Effect.succeed(out) : Effect.fail(pending ?? invalid("no records"))
        })
      )
    )
    return Stream.concat(records, Stream.suspend(() => pending === undefined ? Stream.empty : Stream.fail(pending)))
  })

/** Streams records into `table` through the stream's sink; closing the scope flushes. */
const ingestRecords = <A>(tableDef: Table.Table<A>, records: Stream.Stream<A, ZerobusError.ZerobusError>) =>
  Effect.gen(function*() {
    const stream = yield* Zerobus.createStream(tableDef)
    yield* Stream.run(records, stream.sink)
    yield* stream.close
  }).pipe(Effect.scoped)

/**
 * The `ingest` subcommand.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("ingest", flags, (input) =>
  Effect.gen(function*() {
    // Stream events (recoveries, rotations) are logged only with --log-level: failures are reported below.
    const logLevel = yield* GlobalFlag.LogLevel
    let read = 0
    const started = Date.now()
    const interactive = process.stderr.isTTY === true
    const lines = inputLines(input.file)
    const onRecord = () => {
      read++
    }
    const run = input.format === "json"
      ? ingestRecords(Table.json(input.table), toRecords(lines, jsonLine, onRecord))
      : Effect.gen(function*() {
        if (Option.isNone(input.descriptor)) {
          return yield* ZerobusError.failInvalidArgument("--format proto needs --descriptor (a FileDescriptorSet)")
        }
        const descriptor = yield* loadDescriptor(input.descriptor.value, input.message)
        return yield* ingestRecords(Table.proto(input.table, descriptor), toRecords(lines, protoLine, onRecord))
      })
    const reporter = interactive ? yield* Effect.forkChild(progressLine(input.table, started)) : undefined
    const exit = yield* Effect.exit(
      run.pipe(
        Effect.provide(Zerobus.layer({
          endpoint: input.endpoint,
          unityCatalogUrl: input.workspaceUrl,
          clientId: input.clientId,
          clientSecret: input.clientSecret
        })),
        Effect.provideService(References.MinimumLogLevel, Option.getOrElse(logLevel, () => "None"))
      )
    )
    if (reporter !== undefined) yield* Fiber.interrupt(reporter)
    const c = yield* counters(input.table)
    const seconds = (Date.now() - started) / 1000
    if (interactive) yield* Effect.sync(() => process.stderr.write(`\r${" ".repeat(80)}\r`))
    if (Exit.isFailure(exit)) {
      const error = Cause.findErrorOption(exit.cause)
      const message = Option.isSome(error) ? error.value.reason.message : Cause.pretty(exit.cause)
      return yield* fail(
        "ingest",
        message,
        `${count(c.acked)} of ${count(read)} records were acknowledged.`
      )
    }
    yield* Effect.sync(() =>
      process.stderr.write(
        `Ingested ${counted(read, "record", "records")} into ${input.table} in ${seconds.toFixed(2)} s (${
          count(read / Math.max(seconds, 0.001))
        } records/s): ${count(c.acked)} acknowledged, ${counted(c.recoveries, "recovery", "recoveries")}.\n`
      )
    )
  })).pipe(
    Command.withDescription(
      "Stream records from stdin or a file into a table: NDJSON, or base64 protobuf lines with a descriptor"
    ),
    Command.withExamples([
      {
        command: "zerobus ingest --table main.default.events < events.ndjson",
        description: "One JSON object per line"
      },
      {
        command:
          "zerobus ingest --table main.default.orders --format proto --descriptor orders.descriptor --file orders.b64",
        description: "One base64 protobuf record per line, message from a FileDescriptorSet"
      }
    ])
  )
