/**
 * `zerobus ingest` against Zerobus Local started by the test: JSON and protobuf records from a
 * file and from stdin, the summary, fatal errors (bad input, a record the server refuses, a stream
 * failure) with exit code 1 and the number of acknowledged records, `--help`.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf"
import { DescriptorProtoSchema, FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Faults, ZerobusLocal } from "../../src/local/index.ts"
import { localLayer } from "../support/client.ts"
import { uniqueTable } from "../support/local.ts"
import { encodeOrder, ordersDescriptor } from "../support/proto.ts"
import { zerobus } from "./spawn.ts"

const Local = ZerobusLocal.ZerobusLocal

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "zerobus-cli-ingest-"))

/** A FileDescriptorSet with `orders.table_Orders` and a second message, as protoc writes one. */
const descriptorSet = (extraMessage: boolean) => {
  const path = Path.join(dir, extraMessage ? "two.binpb" : "orders.binpb")
  const orders = fromBinary(DescriptorProtoSchema, ordersDescriptor)
  const file = create(FileDescriptorProtoSchema, {
    name: "orders.proto",
    package: "orders",
    messageType: extraMessage ? [orders, create(DescriptorProtoSchema, { name: "Other" })] : [orders]
  })
  Fs.writeFileSync(path, toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [file] })))
  return path
}

const env = Effect.map(Local, (local) => local.environment())

const ids = (table: string) =>
  Effect.map(Local.use((local) => local.records(table)), (records) => records.map((r) => r.value["id"]))

layer(localLayer(), { excludeTestServices: true, concurrent: true })("zerobus ingest", (it) => {
  it.effect("ingests NDJSON from a file (blank lines skipped) and reports a summary", () =>
    Effect.gen(function*() {
      const table = uniqueTable("cli")
      const file = Path.join(dir, "records.ndjson")
      const lines = Array.from({ length: 2_000 }, (_, i) => JSON.stringify({ id: i, name: `n${i}` }))
      Fs.writeFileSync(file, `${lines.slice(0, 1000).join("\n")}\n\n  \n${lines.slice(1000).join("\n")}\n`)
      const run = yield* zerobus(["ingest", "--table", table, "--file", file], { env: yield* env })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.match(
        run.stderr,
        new RegExp(`Ingested 2,000 records into ${table} in .* 2,000 acknowledged, 0 recoveries`)
      )
      assert.deepStrictEqual(yield* ids(table), lines.map((_, i) => i))
    }))

  it.effect("ingests NDJSON from stdin, credentials from flags", () =>
    Effect.gen(function*() {
      const local = yield* Local
      const table = uniqueTable("cli")
      const run = yield* zerobus([
        "ingest",
        "--table",
        table,
        "--endpoint",
        local.endpoint,
        "--workspace-url",
        local.workspaceUrl,
        "--client-id",
        local.clientId,
        "--client-secret",
        local.environment()["DATABRICKS_CLIENT_SECRET"]!
      ], { stdin: "{\"id\":1}\n{\"id\":2}\n{\"id\":3}" })
      assert.strictEqual(run.code, 0, run.stderr)
      assert.deepStrictEqual(yield* ids(table), [1, 2, 3])
      const one = yield* zerobus(["ingest", "--table", table], { env: yield* env, stdin: "{\"id\":4}\n" })
      assert.include(one.stderr, `Ingested 1 record into ${table}`)
    }))

  it.effect("ingests base64 protobuf lines from a file and from stdin, with a FileDescriptorSet", () =>
    Effect.gen(function*() {
      const table = uniqueTable("cli")
      const records = [1n, 2n, 3n].map((id) => Buffer.from(encodeOrder({ id, name: `o${id}` })).toString("base64"))
      const file = Path.join(dir, "orders.b64")
      Fs.writeFileSync(file, records.join("\n"))
      const fromFile = yield* zerobus(
        ["ingest", "--table", table, "--format", "proto", "--descriptor", descriptorSet(false), "--file", file],
        { env: yield* env }
      )
      assert.strictEqual(fromFile.code, 0, fromFile.stderr)
      const fromStdin = yield* zerobus([
        "ingest",
        "--table",
        table,
        "--format",
        "proto",
        "--descriptor",
        descriptorSet(true),
        "--message",
        "orders.table_Orders"
      ], { env: yield* env, stdin: records.join("\n") })
      assert.strictEqual(fromStdin.code, 0, fromStdin.stderr)
      assert.deepStrictEqual(yield* ids(table), ["1", "2", "3", "1", "2", "3"])
    }))

  it.effect("a bad line: exit 1, the line named, the records before it acknowledged", () =>
    Effect.gen(function*() {
      const table = uniqueTable("cli")
      const run = yield* zerobus(["ingest", "--table", table], {
        env: yield* env,
        stdin: "{\"id\":1}\n{\"id\":2}\n[1, 2]\n{\"id\":4}\n"
      })
      assert.strictEqual(run.code, 1)
      assert.include(run.stderr, "zerobus ingest: line 3: a record must be a JSON object")
      assert.include(run.stderr, "2 of 2 records were acknowledged.")
      assert.deepStrictEqual(yield* ids(table), [1, 2])
    }))

  it.effect("a stream that cannot open: exit 1 with the server's message and the acknowledged count", () =>
    Effect.gen(function*() {
      const local = yield* Local
      const table = uniqueTable("cli")
      yield* local.inject(table, [Faults.failCreate("NOT_FOUND", "no such table in the test")])
      const run = yield* zerobus(["ingest", "--table", table], { env: yield* env, stdin: "{\"id\":1}\n{\"id\":2}\n" })
      assert.strictEqual(run.code, 1)
      assert.include(run.stderr, "zerobus ingest: no such table in the test")
      assert.include(run.stderr, "0 of 0 records were acknowledged.")
      assert.notInclude(run.stderr, "    at ") // no stack trace
    }))

  it.effect("proto input errors: a refused record, an ambiguous descriptor, bad base64", () =>
    Effect.gen(function*() {
      const table = uniqueTable("cli")
      const refused = yield* zerobus(
        ["ingest", "--table", table, "--format", "proto", "--descriptor", descriptorSet(false)],
        { env: yield* env, stdin: Buffer.from(encodeOrder({ name: "no id" })).toString("base64") }
      )
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr, "required field id is not set")
      assert.include(refused.stderr, "0 of 1 records were acknowledged.")
      const ambiguous = yield* zerobus(
        ["ingest", "--table", table, "--format", "proto", "--descriptor", descriptorSet(true)],
        { env: yield* env, stdin: "AAAA" }
      )
      assert.strictEqual(ambiguous.code, 1)
      assert.include(ambiguous.stderr, "declares 2 messages (orders.table_Orders, orders.Other)")
      const notBase64 = yield* zerobus(
        ["ingest", "--table", table, "--format", "proto", "--descriptor", descriptorSet(false)],
        { env: yield* env, stdin: "not base64!" }
      )
      assert.strictEqual(notBase64.code, 1)
      assert.include(notBase64.stderr, "line 1: not base64")
    }))

  it.effect("--help describes the command", () =>
    Effect.gen(function*() {
      const run = yield* zerobus(["ingest", "--help"])
      assert.strictEqual(run.code, 0)
      for (const flag of ["--table", "--format", "--descriptor", "--message", "--file", "--endpoint", "--client-id"]) {
        assert.include(run.stdout, flag)
      }
    }))
})
