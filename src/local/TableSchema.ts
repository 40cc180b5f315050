/**
 * Table declarations for Zerobus Local: a table schema (a Delta `StructType`) from what people have
 * at hand.
 *
 * | Form                                          | Example                                                          |
 * | --------------------------------------------- | ---------------------------------------------------------------- |
 * | a column list (Unity Catalog / SQL types)     | `"id BIGINT NOT NULL, name STRING, tags ARRAY<STRING>"`           |
 * | UC columns                                    | `{ columns: [{ name: "id", type_text: "BIGINT", nullable: false }] }` |
 * | a Delta schema (`metaData.schemaString` JSON) | `{ type: "struct", fields: [...] }` or `{ schema: ... }`          |
 * | a protobuf message                            | `{ descriptor: DescriptorProto bytes, message or base64 }`        |
 * | a message of a FileDescriptorSet              | `{ fileDescriptorSet: bytes or base64, message: "pkg.Order" }`    |
 * | a `StructType` built with `DeltaType`         | `Delta.struct([Delta.field("id", Delta.long, false)])`            |
 *
 * Protobuf messages map to columns as in `docs/storage.md` (int32 → INT, int64 → BIGINT, nested
 * messages → STRUCT, repeated → ARRAY, map → MAP, `google.protobuf.Timestamp` → TIMESTAMP, proto2
 * `required` → NOT NULL). {@link fromFile} also reads `.json` files (any JSON form above),
 * FileDescriptorSet files (`.binpb`, `.pb`, `.desc`, `.protoset`) and `.proto` files, compiled with
 * `buf` or `protoc` when one of them is installed.
 *
 * @since 0.1.0
 */
import { isMessage } from "@bufbuild/protobuf"
import { type DescriptorProto, DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import * as Effect from "effect/Effect"
import { Base64 } from "effect/encoding"
import * as Predicate from "effect/Predicate"
import * as Result from "effect/Result"
import * as Schema from "effect/Schema"
import { execFile } from "node:child_process"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"
import * as Delta from "../internal/delta/DeltaType.ts"
import * as ProtoSchema from "../internal/delta/ProtoSchema.ts"
import * as TypeText from "../internal/delta/TypeText.ts"
import * as Descriptors from "../internal/proto/descriptors.ts"

const TypeId = "~effect-zerobus/local/TableSchemaError"

/**
 * The declaration does not describe a table (bad JSON shape, unknown type, a message without a
 * table mapping, a missing message name).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidDeclaration extends Schema.TaggedError<InvalidDeclaration>()("InvalidDeclaration", {
  message: Schema.String
}) {
  /** Never: the same declaration fails again. */
  get isRetryable(): boolean {
    return false
  }
}

/**
 * A file could not be read, or a `.proto` file could not be compiled.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReadFailed extends Schema.TaggedError<ReadFailed>()("ReadFailed", {
  path: Schema.String,
  message: Schema.String
}) {
  /** Yes: the file may appear or the compiler be installed. */
  get isRetryable(): boolean {
    return true
  }
}

/**
 * A table declaration could not be turned into a schema.
 *
 * @since 0.1.0
 * @category errors
 */
export class TableSchemaError extends Schema.TaggedError<TableSchemaError>()("TableSchemaError", {
  reason: Schema.Union([InvalidDeclaration, ReadFailed])
}) {
  /** @internal */
  readonly [TypeId] = TypeId
  /** The reason's message. */
  override get message(): string {
    return this.reason.message
  }
  /** Whether retrying may succeed. */
  get isRetryable(): boolean {
    return this.reason.isRetryable
  }
}

const invalid = (message: string) => new TableSchemaError({ reason: new InvalidDeclaration({ message }) })

const readFailed = (path: string, message: string) =>
  new TableSchemaError({ reason: new ReadFailed({ path, message }) })

/** Parses JSON text; `what` names it in the error. */
const parseJson = (text: string, what: string): Effect.Effect<unknown, TableSchemaError> =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) => invalid(`${what} is not JSON: ${error instanceof Error ? error.message : error}`)
  })

/** A file declaration: `FILE[:MESSAGE]` with a known extension (groups: file, message). */
const fileSpec = /^(.*?\.(?:json|proto|binpb|pb|desc|protoset|bin))(?::([A-Za-z0-9_.]+))?$/i

/**
 * A column as Unity Catalog lists it (`nullable` defaults to true).
 *
 * @since 0.1.0
 * @category models
 */
export interface Column {
  readonly name: string
  readonly type_text: string
  readonly nullable?: boolean | undefined
}

/**
 * A Delta schema in its JSON form (`metaData.schemaString`); fields are checked when parsed.
 *
 * @since 0.1.0
 * @category models
 */
export interface DeltaSchemaJson {
  readonly type: "struct"
  readonly fields: ReadonlyArray<unknown>
}

/**
 * Every form of declaration (see the module documentation).
 *
 * @since 0.1.0
 * @category models
 */
export type Declaration =
  | string
  | Delta.StructType
  | DeltaSchemaJson
  | { readonly schema: DeltaSchemaJson | string }
  | { readonly columns: ReadonlyArray<Column> | string }
  | { readonly descriptor: Uint8Array | DescriptorProto | string }
  | { readonly fileDescriptorSet: Uint8Array | string; readonly message: string }

const ColumnJson = Schema.Struct({
  name: Schema.String,
  type_text: Schema.String,
  nullable: Schema.optional(Schema.Boolean)
})

const StructJson = Schema.Struct({ type: Schema.Literal("struct"), fields: Schema.Array(Schema.Unknown) })

/**
 * The JSON forms of a declaration (admin API bodies, `.json` files).
 *
 * @since 0.1.0
 * @category schemas
 */
export const DeclarationJson = Schema.Union([
  Schema.String,
  StructJson,
  Schema.Struct({ schema: Schema.Union([Schema.String, StructJson]) }),
  Schema.Struct({ columns: Schema.Union([Schema.String, Schema.Array(ColumnJson)]) }),
  Schema.Struct({ descriptor: Schema.String }),
  Schema.Struct({ fileDescriptorSet: Schema.String, message: Schema.String })
])

const decodeDeclarationJson = Schema.decodeUnknownEffect(DeclarationJson)

const fromSchemaModel = <A>(effect: Effect.Effect<A, { readonly message: string }>) =>
  Effect.mapError(effect, (error) => invalid(error.message))

const bytesOf = (input: Uint8Array | string, what: string): Effect.Effect<Uint8Array, TableSchemaError> =>
  typeof input === "string"
    ? Result.match(Base64.decode(input), {
      onFailure: () => Effect.fail(invalid(`${what} must be base64`)),
      onSuccess: Effect.succeed
    })
    : Effect.succeed(input)

/**
 * A schema from a column list such as `"id BIGINT NOT NULL, name STRING, amount DECIMAL(10,2)"`
 * (Unity Catalog / Spark SQL type names, case-insensitive; `NOT NULL` and `COMMENT '...'` allowed).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromColumnList = (columns: string): Effect.Effect<Delta.StructType, TableSchemaError> =>
  Effect.gen(function*() {
    if (columns.trim() === "") return yield* invalid("the column list is empty")
    const type = yield* fromSchemaModel(TypeText.parseTypeText(`STRUCT<${columns}>`, "columns"))
    if (type.kind !== "struct") return yield* invalid(`not a column list: ${columns}`)
    return yield* fromSchemaModel(Delta.validate(type))
  })

/**
 * A schema from a protobuf message: the bytes of a `DescriptorProto` (or the message, or its
 * base64), self-contained like the `descriptor_proto` of a stream.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromDescriptor = (
  descriptor: Uint8Array | DescriptorProto | string
): Effect.Effect<Delta.StructType, TableSchemaError> =>
  Effect.gen(function*() {
    const input = isMessage(descriptor, DescriptorProtoSchema) ? descriptor : yield* bytesOf(descriptor, "descriptor")
    return yield* fromSchemaModel(
      ProtoSchema.resolveDescriptor(input).pipe(Effect.flatMap(ProtoSchema.schemaFromDescriptor))
    )
  })

/**
 * A schema from a message of a FileDescriptorSet (`buf build -o set.binpb`,
 * `protoc --include_imports --descriptor_set_out=set.binpb`); `message` may omit the package when
 * it is unambiguous.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFileDescriptorSet = (
  fileDescriptorSet: Uint8Array | string,
  message: string
): Effect.Effect<Delta.StructType, TableSchemaError> =>
  bytesOf(fileDescriptorSet, "fileDescriptorSet").pipe(
    Effect.flatMap((bytes) =>
      Effect.try({
        try: () => Descriptors.findMessage(Descriptors.registryFromFileDescriptorSet(bytes), message),
        catch: (error) =>
          invalid(
            error instanceof Descriptors.DescriptorFailure
              ? `message ${message}: ${error.detail}${
                error.candidates.length > 0 ? ` (messages: ${error.candidates.join(", ")})` : ""
              }`
              : `message ${message}: ${String(error)}`
          )
      })
    ),
    // Well-known types keep their names here, so google.protobuf.Timestamp becomes a TIMESTAMP column.
    Effect.flatMap((resolved) => fromSchemaModel(ProtoSchema.schemaFromDescriptor(resolved)))
  )

const fromDeltaJson = (json: unknown) =>
  fromSchemaModel(Delta.parseSchemaString(typeof json === "string" ? json : JSON.stringify(json)))

/**
 * A schema from a JSON declaration (admin API body, `.json` file): see {@link DeclarationJson}. A
 * string is JSON text when it starts with `{`, else a column list.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromJson = (json: unknown): Effect.Effect<Delta.StructType, TableSchemaError> =>
  decodeDeclarationJson(json).pipe(
    Effect.mapError(() =>
      invalid(
        "a table declaration is a Delta schema ({\"type\":\"struct\",\"fields\":[...]}), {\"schema\": ...}, " +
          "{\"columns\": [{\"name\",\"type_text\",\"nullable\"}] or \"id BIGINT NOT NULL, ...\"}, " +
          "{\"descriptor\": base64 DescriptorProto} or {\"fileDescriptorSet\": base64, \"message\": name}"
      )
    ),
    Effect.flatMap((declaration) => make(declaration))
  )

/**
 * A schema from any {@link Declaration}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (declaration: Declaration): Effect.Effect<Delta.StructType, TableSchemaError> => {
  if (typeof declaration === "string") {
    if (declaration.trimStart().startsWith("{")) {
      return Effect.flatMap(parseJson(declaration, "the table declaration"), fromJson)
    }
    if (fileSpec.test(declaration.trim())) {
      return Effect.fail(
        invalid(`"${declaration}" names a file: read it with TableSchema.fromFile (the CLI's --table does)`)
      )
    }
    return fromColumnList(declaration)
  }
  if ("kind" in declaration) return fromSchemaModel(Delta.validate(declaration))
  if ("type" in declaration) return fromDeltaJson(declaration)
  if ("schema" in declaration) return fromDeltaJson(declaration.schema)
  if ("columns" in declaration) {
    const columns = declaration.columns
    return typeof columns === "string" ? fromColumnList(columns) : fromSchemaModel(TypeText.schemaFromColumns(columns))
  }
  if ("fileDescriptorSet" in declaration) {
    return fromFileDescriptorSet(declaration.fileDescriptorSet, declaration.message)
  }
  return fromDescriptor(declaration.descriptor)
}

const descriptorSetExtensions = [".binpb", ".pb", ".desc", ".protoset", ".bin"]

/** Runs a compiler; fails with its stderr, or `undefined` when it is not installed. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.callback<"ok" | "missing", string>((resume) => {
    const bin = Path.resolve("node_modules", ".bin")
    const child = execFile(command, args, {
      cwd,
      timeout: 60_000,
      env: { ...process.env, PATH: `${process.env["PATH"] ?? ""}${Path.delimiter}${bin}` }
    }, (error, _stdout, stderr) => {
      if (error === null) return resume(Effect.succeed("ok"))
      if (Predicate.hasProperty(error, "code") && error.code === "ENOENT") return resume(Effect.succeed("missing"))
      resume(Effect.fail(String(stderr).trim() || error.message))
    })
    return Effect.sync(() => {
      child.kill()
    })
  })

/** Compiles a `.proto` file to a FileDescriptorSet with `buf` (or else `protoc`). */
const compileProto = (file: string): Effect.Effect<Uint8Array, TableSchemaError> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: () => Fs.mkdtemp(Path.join(Os.tmpdir(), "zerobus-proto-")),
      catch: (error) => readFailed(file, `cannot create a temporary directory: ${String(error)}`)
    }),
    (tmp) =>
      Effect.gen(function*() {
        const out = Path.join(tmp, "set.binpb")
        const dir = Path.dirname(Path.resolve(file))
        const fail = (message: string) => readFailed(file, `cannot compile ${file}: ${message}`)
        const viaBuf = yield* run("buf", ["build", Path.resolve(file), "-o", out], dir).pipe(Effect.mapError(fail))
        if (viaBuf === "missing") {
          const viaProtoc = yield* run(
            "protoc",
            ["--include_imports", `--descriptor_set_out=${out}`, `-I${dir}`, Path.basename(file)],
            dir
          ).pipe(Effect.mapError(fail))
          if (viaProtoc === "missing") {
            return yield* fail("neither buf nor protoc is installed (or pass a FileDescriptorSet file instead)")
          }
        }
        return yield* Effect.tryPromise({
          try: () => Fs.readFile(out),
          catch: (error) => fail(String(error))
        })
      }),
    (tmp) => Effect.promise(() => Fs.rm(tmp, { recursive: true, force: true }))
  )

/**
 * A schema from a file: `.json` (any JSON declaration), a FileDescriptorSet (`.binpb`, `.pb`,
 * `.desc`, `.protoset`, `.bin`; `message` required) or a `.proto` file (compiled with `buf` or
 * `protoc`; `message` may be omitted when the file declares one message).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile: (
  path: string,
  message?: string | undefined
) => Effect.Effect<Delta.StructType, TableSchemaError> = Effect.fn("TableSchema.fromFile")(
  function*(path: string, message?: string | undefined) {
    const extension = Path.extname(path).toLowerCase()
    if (extension === ".proto") {
      const set = yield* compileProto(path)
      return yield* fromFileDescriptorSet(set, message ?? (yield* onlyMessage(path)))
    }
    const isDescriptorSet = descriptorSetExtensions.includes(extension)
    if (!isDescriptorSet && extension !== ".json") {
      return yield* invalid(
        `${path}: expected a .json, .proto or FileDescriptorSet (${descriptorSetExtensions.join(", ")}) file`
      )
    }
    if (isDescriptorSet && message === undefined) {
      return yield* invalid(`${path} is a FileDescriptorSet: name the message (${path}:package.Message)`)
    }
    const bytes = yield* Effect.tryPromise({
      try: () => Fs.readFile(path),
      catch: (error) => readFailed(path, `cannot read ${path}: ${error instanceof Error ? error.message : error}`)
    })
    if (isDescriptorSet) return yield* fromFileDescriptorSet(bytes, message ?? "")
    return yield* fromJson(yield* parseJson(bytes.toString("utf8"), path))
  }
)

/** The only top-level message of a `.proto` file (for `fromFile` without a message name). */
const onlyMessage = (path: string): Effect.Effect<string, TableSchemaError> =>
  Effect.tryPromise({
    try: () => Fs.readFile(path, "utf8"),
    catch: (error) => readFailed(path, `cannot read ${path}: ${String(error)}`)
  }).pipe(Effect.flatMap((text) => {
    // Top-level messages start a line without indentation (comments stripped first).
    const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "")
    const names = [...code.matchAll(/^message\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1] ?? "")
    const [only] = names
    return names.length === 1 && only !== undefined
      ? Effect.succeed(only)
      : Effect.fail(
        invalid(`${path} declares ${names.length} messages (${names.join(", ")}): name one (${path}:Message)`)
      )
  }))

/**
 * A table declared on the command line: `NAME=SPEC`, where `SPEC` is a file (`schema.json`,
 * `orders.proto[:Message]`, `set.binpb:pkg.Message`), inline JSON (any form of
 * {@link DeclarationJson}) or a column list (`"id BIGINT NOT NULL, name STRING"`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFlag: (
  flag: string
) => Effect.Effect<{ readonly table: string; readonly schema: Delta.StructType }, TableSchemaError> = Effect.fn(
  "TableSchema.fromFlag"
)(function*(flag: string) {
  const eq = flag.indexOf("=")
  const table = flag.slice(0, eq).trim()
  const spec = flag.slice(eq + 1).trim()
  if (eq <= 0 || spec === "") {
    return yield* invalid(`--table ${flag}: expected NAME=FILE[:MESSAGE] or NAME="col TYPE, ..."`)
  }
  // A file is read here; inline JSON and column lists are what `make` takes as a string.
  const file = fileSpec.exec(spec)
  const schema = yield* (file === null ? make(spec) : fromFile(file[1] ?? spec, file[2])).pipe(
    Effect.mapError((error) =>
      new TableSchemaError({
        reason: error.reason._tag === "ReadFailed"
          ? error.reason
          : new InvalidDeclaration({ message: `table ${table}: ${error.message}` })
      })
    )
  )
  return { table, schema }
})
