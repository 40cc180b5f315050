/**
 * `zerobus generate-proto`: reads a table's columns from Unity Catalog
 * (`GET {workspace}/api/2.1/unity-catalog/tables/{name}`, with an OAuth token from plain client
 * credentials) and writes
 *
 * - `<name>.proto`: proto2, `package <file stem>;`, one message `table_<message>` (default: the
 *   table's last name part), exactly as Databricks' generator writes it (non-null columns
 *   `required`, nullable ones `optional`, STRUCT columns as nested messages, field numbers from 1
 *   skipping 19000-19999);
 * - `<name>.descriptor`: a serialized `google.protobuf.FileDescriptorSet` holding that one file,
 *   as `protoc --descriptor_set_out` would write it. `zerobus ingest --descriptor` and
 *   `ProtoSchema.descriptorFromFileDescriptorSet` read it.
 *
 * Zerobus Local answers the same endpoint for its tables.
 *
 * @since 0.1.0
 */
import { create, toBinary } from "@bufbuild/protobuf"
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import * as Command from "effect/cli/Command"
import * as Flag from "effect/cli/Flag"
import * as Effect from "effect/Effect"
import * as FetchHttpClient from "effect/http/FetchHttpClient"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs/promises"
import * as Path from "node:path"
import type * as Delta from "../internal/delta/DeltaType.ts"
import * as ProtoSchema from "../internal/delta/ProtoSchema.ts"
import * as TypeText from "../internal/delta/TypeText.ts"
import { parseTableName } from "../internal/endpoint.ts"
import * as UnityCatalog from "../internal/unityCatalog.ts"
import * as ZerobusError from "../ZerobusError.ts"
import { fail, table, workspace } from "./common.ts"

const TokenResponse = Schema.Struct({ access_token: Schema.String })
const decodeToken = Schema.decodeUnknownEffect(Schema.fromJsonString(TokenResponse))

/**
 * The file name Databricks' generator derives from a table name: lower case, characters other
 * than letters, digits, `_` and `-` replaced by `_`, `table_` before a leading digit.
 *
 * @since 0.1.0
 * @category naming
 */
export const cleanFilename = (name: string): string => {
  const cleaned = [...name].map((c) => /[\p{L}\p{N}_-]/u.test(c) ? c : "_").join("").toLowerCase()
  if (cleaned.length === 0) return "table"
  return /^\d/.test(cleaned) ? `table_${cleaned}` : cleaned
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * What `generate-proto` writes for a table schema.
 *
 * @since 0.1.0
 * @category models
 */
export interface Generated {
  /** The `.proto` text. */
  readonly text: string
  /** The serialized FileDescriptorSet of the `.proto` file. */
  readonly descriptorSet: Uint8Array
  /** The message's fully-qualified name (`<package>.table_<message>`). */
  readonly typeName: string
}

/**
 * Renders a table schema as the `.proto` file `fileName` (its stem is the package) with the
 * message `table_<message>`, and the FileDescriptorSet of that file.
 *
 * @since 0.1.0
 * @category generation
 */
export const generate = (
  schema: Delta.StructType,
  options: { readonly table: string; readonly fileName: string; readonly message: string }
) =>
  Effect.gen(function*() {
    if (!IDENTIFIER.test(options.message)) {
      return yield* ZerobusError.failInvalidArgument(
        `'${options.message}' is not a valid message name (letters, digits and _; pass --message)`
      )
    }
    const stem = Path.basename(options.fileName).replace(/\.proto$/, "")
    const packageName = stem.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1")
    const messageName = `table_${options.message}`
    const proto = yield* ProtoSchema.toProto(schema, { messageName, packageName }).pipe(
      Effect.mapError((error) =>
        ZerobusError.invalidArgument(`Cannot map ${options.table} to protobuf: ${error.message}`)
      )
    )
    const file = create(FileDescriptorProtoSchema, {
      name: Path.basename(options.fileName),
      package: packageName,
      syntax: "proto2",
      messageType: [proto.descriptor]
    })
    return {
      text: proto.text,
      descriptorSet: toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [file] })),
      typeName: `${packageName}.${messageName}`
    } satisfies Generated
  })

const failure = (message: string) => ZerobusError.invalidArgument(message)

/**
 * A token by plain client credentials (`grant_type=client_credentials`, `scope=all-apis`), as
 * Databricks' schema tools request it.
 *
 * @since 0.1.0
 * @category unity catalog
 */
export const fetchToken = Effect.fn("generateProto.fetchToken")(function*(options: {
  readonly workspaceUrl: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
}) {
  const client = yield* HttpClient.HttpClient
  const url = `${options.workspaceUrl.replace(/\/+$/, "")}/oidc/v1/token`
  const response = yield* client.execute(
    HttpClientRequest.post(url).pipe(
      HttpClientRequest.basicAuth(options.clientId, options.clientSecret),
      HttpClientRequest.bodyUrlParams({ grant_type: "client_credentials", scope: "all-apis" })
    )
  ).pipe(Effect.mapError((error) => failure(`OAuth token request to ${url} failed: ${error.message}`)))
  const body = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
  if (response.status < 200 || response.status >= 300) {
    return yield* UnityCatalog.httpError("OAuth token request", response.status, body)
  }
  const token = yield* decodeToken(body).pipe(
    Effect.mapError(() => failure(`The token endpoint ${url} answered without an access_token`))
  )
  return Redacted.make(token.access_token)
})

const flags = {
  table,
  output: Flag.String("output").pipe(
    Flag.withDescription("The .proto file to write (default: <table>.proto); its stem is the proto package"),
    Flag.optional
  ),
  message: Flag.String("message").pipe(
    Flag.withDescription("Message name suffix: the message is table_<message> (default: the table's name)"),
    Flag.optional
  ),
  descriptorOut: Flag.String("descriptor-out").pipe(
    Flag.withDescription("The FileDescriptorSet to write (default: the .proto path with .descriptor)"),
    Flag.optional
  ),
  ...workspace
}

/**
 * The `generate-proto` subcommand.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("generate-proto", flags, (input) =>
  Effect.gen(function*() {
    const name = parseTableName(input.table)
    if (ZerobusError.isZerobusError(name)) return yield* name
    const token = yield* fetchToken(input)
    const columns = yield* UnityCatalog.fetchColumns({
      workspaceUrl: input.workspaceUrl,
      authorization: Redacted.make(`Bearer ${Redacted.value(token)}`),
      table: name.full
    })
    const schema = yield* TypeText.schemaFromColumns(columns).pipe(
      Effect.mapError((error) => failure(`Cannot map ${name.full} to protobuf: ${error.message}`))
    )
    const output = Option.getOrElse(input.output, () => `${cleanFilename(name.table)}.proto`)
    const descriptorPath = Option.getOrElse(input.descriptorOut, () => `${output.replace(/\.proto$/, "")}.descriptor`)
    const generated = yield* generate(schema, {
      table: name.full,
      fileName: output,
      message: Option.getOrElse(input.message, () => name.table)
    })
    yield* Effect.tryPromise({
      try: async () => {
        await Fs.mkdir(Path.dirname(Path.resolve(output)), { recursive: true })
        await Fs.mkdir(Path.dirname(Path.resolve(descriptorPath)), { recursive: true })
        await Fs.writeFile(output, generated.text)
        await Fs.writeFile(descriptorPath, generated.descriptorSet)
      },
      catch: (error) => failure(`Cannot write the output: ${error instanceof Error ? error.message : String(error)}`)
    })
    yield* Effect.sync(() =>
      process.stdout.write(
        `Wrote ${output} (message ${generated.typeName}, ${columns.length} columns) and ${descriptorPath} (FileDescriptorSet)\n`
      )
    )
  }).pipe(
    Effect.catchTag("ZerobusError", (error) => fail("generate-proto", error.reason.message)),
    Effect.provide(FetchHttpClient.layer)
  )).pipe(
    Command.withDescription(
      "Write a .proto file and a FileDescriptorSet for a table, from its Unity Catalog columns " +
        "(Databricks' generator format)"
    ),
    Command.withExamples([
      {
        command: "zerobus generate-proto --table main.default.orders",
        description: "Write orders.proto (message table_orders) and orders.descriptor"
      },
      {
        command: "zerobus generate-proto --table main.default.orders --output proto/orders.proto --message Orders",
        description: "Choose the file and the message name (table_Orders)"
      }
    ])
  )
