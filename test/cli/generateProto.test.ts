/**
 * `zerobus generate-proto` against Zerobus Local's Unity Catalog endpoint: the exact `.proto` text
 * of Databricks' generator, a FileDescriptorSet equal to what `buf build` makes of that text, and a
 * descriptor the server accepts for the table (records encoded with it are stored), plus errors.
 */
import { create, createFileRegistry, fromBinary, toBinary, toJson } from "@bufbuild/protobuf"
import { DescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Delta from "../../src/internal/delta/DeltaType.ts"
import * as DeltaStorage from "../../src/local/delta/DeltaStorage.ts"
import { Storage, ZerobusLocal } from "../../src/local/index.ts"
import * as ProtoSchema from "../../src/ProtoSchema.ts"
import * as Table from "../../src/Table.ts"
import * as Zerobus from "../../src/Zerobus.ts"
import { tempDir } from "../support/delta/fixtures.ts"
import { quiet } from "../support/local.ts"
import { zerobus } from "./spawn.ts"

const root = Path.resolve(import.meta.dirname, "../..")

const schema = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("name", Delta.string),
  Delta.field("tags", Delta.array(Delta.string, false)),
  Delta.field("attrs", Delta.map(Delta.string, Delta.long)),
  Delta.field("loc", Delta.struct([Delta.field("lat", Delta.double), Delta.field("lon", Delta.double)])),
  Delta.field("day", Delta.date),
  Delta.field("ts", Delta.timestamp),
  Delta.field("payload", Delta.binary)
])

/** What Databricks' generator writes for {@link schema} (tabs, blank line after a nested message). */
const expectedProto = [
  "syntax = \"proto2\";",
  "",
  "package orders;",
  "",
  "message table_Orders {",
  "\trequired int64 id = 1;",
  "\toptional string name = 2;",
  "\trepeated string tags = 3;",
  "\tmap<string, int64> attrs = 4;",
  "\tmessage Loc {",
  "\t\toptional double lat = 1;",
  "\t\toptional double lon = 2;",
  "\t}",
  "",
  "\toptional Loc loc = 5;",
  "\toptional int32 day = 6;",
  "\toptional int64 ts = 7;",
  "\toptional bytes payload = 8;",
  "}",
  ""
].join("\n")

/** A descriptor's JSON form without `json_name` (which protoc and buf fill in). */
const withoutJsonNames = (bytes: Uint8Array) =>
  JSON.parse(
    JSON.stringify(toJson(DescriptorProtoSchema, fromBinary(DescriptorProtoSchema, bytes))),
    (key, value: unknown) => key === "jsonName" ? undefined : value
  )

/** Zerobus Local over a fresh Delta data directory (its Unity Catalog endpoint describes those tables). */
const deltaServer = Effect.gen(function*() {
  const dataDir = yield* tempDir("zerobus-cli-generate-")
  const { storage, store } = yield* DeltaStorage.make({ dataDir, flushInterval: "50 millis" })
  const local = yield* ZerobusLocal.make(quiet).pipe(Effect.provideService(Storage.Storage, storage))
  return { dataDir, store, local }
})

describe("zerobus generate-proto", { concurrent: true }, () => {
  it.live("writes Databricks' .proto text and a FileDescriptorSet the server accepts for the table", () =>
    Effect.gen(function*() {
      const { dataDir, local, store } = yield* deltaServer
      const table = "main.shop.orders"
      yield* store.createTable(table, schema)
      const output = Path.join(dataDir, "out", "orders.proto")
      const run = yield* zerobus(["generate-proto", "--table", table, "--output", output, "--message", "Orders"], {
        env: local.environment()
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.include(run.stdout, "message orders.table_Orders, 8 columns")
      assert.strictEqual(Fs.readFileSync(output, "utf8"), expectedProto)

      // the FileDescriptorSet holds the message buf compiles from the same text
      const descriptorSet = Fs.readFileSync(Path.join(dataDir, "out", "orders.descriptor"))
      const ourFile = fromBinary(FileDescriptorSetSchema, descriptorSet).file
      assert.deepStrictEqual(ourFile.map((f) => [f.name, f.package]), [["orders.proto", "orders"]])
      const bufOut = Path.join(dataDir, "buf.binpb")
      execFileSync(Path.join(root, "node_modules/.bin/buf"), ["build", "orders.proto", "-o", bufOut], {
        cwd: Path.dirname(output)
      })
      const bufMessage = fromBinary(FileDescriptorSetSchema, Fs.readFileSync(bufOut)).file[0]!.messageType[0]!
      assert.deepStrictEqual(
        withoutJsonNames(toBinary(DescriptorProtoSchema, ourFile[0]!.messageType[0]!)),
        withoutJsonNames(toBinary(DescriptorProtoSchema, bufMessage))
      )
      const ours = yield* ProtoSchema.descriptorFromFileDescriptorSet(descriptorSet, "orders.table_Orders")

      // a record encoded with the descriptor is accepted and stored
      const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, descriptorSet))
      const message = registry.getMessage("orders.table_Orders")!
      const record = toBinary(
        message,
        create(message, { id: 7n, name: "seven", tags: ["a", "b"], attrs: { k: 1n }, day: 20_000, ts: 1_700_000_000n })
      )
      yield* Effect.gen(function*() {
        const stream = yield* Zerobus.createStream(Table.proto(table, ours.descriptorBytes))
        yield* stream.ingest(record)
        yield* stream.close
      }).pipe(
        Effect.scoped,
        Effect.provide(Zerobus.layer({
          endpoint: local.endpoint,
          unityCatalogUrl: local.workspaceUrl,
          clientId: local.clientId,
          clientSecret: local.clientSecret
        }))
      )
      const stored = yield* local.records(table)
      assert.deepStrictEqual(stored.map((r) => [r.value["id"], r.value["name"], r.value["tags"]]), [[
        7,
        "seven",
        ["a", "b"]
      ]])
    }))

  it.live("defaults: message table_<table name>, the descriptor next to the .proto", () =>
    Effect.gen(function*() {
      const { dataDir, local, store } = yield* deltaServer
      yield* store.createTable("main.shop.Events2", Delta.struct([Delta.field("id", Delta.long, false)]))
      const cwd = Path.join(dataDir, "cwd")
      Fs.mkdirSync(cwd)
      const run = yield* zerobus([
        "generate-proto",
        "--table",
        "main.shop.events2",
        "--output",
        Path.join(cwd, "events2.proto")
      ], {
        env: local.environment()
      })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.strictEqual(
        Fs.readFileSync(Path.join(cwd, "events2.proto"), "utf8"),
        "syntax = \"proto2\";\n\npackage events2;\n\nmessage table_events2 {\n\trequired int64 id = 1;\n}\n"
      )
      assert.isTrue(Fs.existsSync(Path.join(cwd, "events2.descriptor")))
    }))

  it.live("errors: unknown table, wrong secret, unsupported column type; --help", () =>
    Effect.gen(function*() {
      const { local, store } = yield* deltaServer
      yield* store.createTable("main.shop.money", Delta.struct([Delta.field("amount", Delta.decimal(10, 2))]))
      const env = local.environment()
      const [unknown, wrongSecret, unsupported, help] = yield* Effect.all([
        zerobus(["generate-proto", "--table", "main.shop.nothing"], { env }),
        zerobus(["generate-proto", "--table", "main.shop.money"], { env: { ...env, DATABRICKS_CLIENT_SECRET: "x" } }),
        zerobus(["generate-proto", "--table", "main.shop.money", "--output", "/nonexistent-dir/x.proto"], { env }),
        zerobus(["generate-proto", "--help"])
      ], { concurrency: "unbounded" })
      assert.strictEqual(unknown.code, 1)
      assert.include(unknown.stderr, "TABLE_DOES_NOT_EXIST: Table 'main.shop.nothing' does not exist.")
      assert.strictEqual(wrongSecret.code, 1)
      assert.include(wrongSecret.stderr, "OAuth token request failed (HTTP 401)")
      assert.strictEqual(unsupported.code, 1)
      assert.include(unsupported.stderr, "Cannot map main.shop.money to protobuf")
      assert.include(unsupported.stderr, "amount")
      assert.strictEqual(help.code, 0)
      for (const flag of ["--table", "--output", "--message", "--descriptor-out", "--workspace-url"]) {
        assert.include(help.stdout, flag)
      }
    }))
})
