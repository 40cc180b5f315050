import { toBinary } from "@bufbuild/protobuf"
import { DescriptorProtoSchema } from "@bufbuild/protobuf/wkt"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import * as ProtoSchema from "../../../src/internal/delta/ProtoSchema.ts"
import * as DeltaStore from "../../../src/local/delta/DeltaStore.ts"
import { readDelta } from "../../support/delta/DuckDb.ts"
import { tempDir } from "../../support/delta/fixtures.ts"

const schema = Delta.struct([Delta.field("id", Delta.long, false), Delta.field("name", Delta.string)])

describe("DeltaStore", () => {
  it.live("keeps tables at <dataDir>/<catalog>/<schema>/<table> and opens each once", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-store-")
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* DeltaStore.make({ dataDir, flushInterval: "1 hour" })
        yield* store.createTable("Main.Default.Users", schema)
        assert.deepStrictEqual(yield* store.tables, ["main.default.users"])
        const table = yield* store.table("main.default.users")
        assert.strictEqual(table, yield* store.table("MAIN.default.users"))
        assert.strictEqual(table.dir, path.join(dataDir, "main", "default", "users"))
        const stream = yield* table.openStream({ streamId: "s", format: "json" })
        yield* Effect.flatten(stream.append(0, ["{\"id\":1,\"name\":\"a\"}"]))
        yield* store.flushAll
        const flushed = yield* readDelta(table.dir, { select: "id, name" })
        assert.deepStrictEqual(flushed.rows, [{ id: "1", name: "a" }], "flushAll commits what is buffered")
        const missing = yield* Effect.flip(store.table("main.default.nope"))
        assert.strictEqual(missing.reason._tag, "NotFound")
        assert.include(missing.message, "main.default.nope")
        const invalid = yield* Effect.flip(store.createTable("main.default", schema))
        assert.strictEqual(invalid.reason._tag, "InvalidArgument")
        const traversal = yield* Effect.flip(store.table("main.default.../x"))
        assert.strictEqual(traversal.reason._tag, "InvalidArgument")
      }))
      const read = yield* readDelta(path.join(dataDir, "main", "default", "users"), { select: "id, name" })
      assert.deepStrictEqual(read.rows, [{ id: "1", name: "a" }])
      assert.isFalse(fs.existsSync(path.join(dataDir, "LOCK")), "the lock is released")
    }))

  it.live("creates a table from a stream's descriptor", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-store-")
      const proto = yield* ProtoSchema.toProto(schema, { messageName: "table_users" })
      const descriptor = toBinary(DescriptorProtoSchema, proto.descriptor)
      yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* DeltaStore.make({ dataDir })
        assert.isTrue(yield* store.ensureTableFromDescriptor("c.s.t", descriptor))
        assert.isFalse(yield* store.ensureTableFromDescriptor("c.s.t", descriptor))
        const table = yield* store.table("c.s.t")
        assert.strictEqual(Delta.toTypeText(table.schema), "struct<id:bigint not null,name:string>")
      }))
    }))

  it.live("one server per data directory; a lock left by a dead process is taken over", () =>
    Effect.gen(function*() {
      const dataDir = yield* tempDir("zerobus-store-")
      const lock = path.join(dataDir, "LOCK")
      yield* Effect.scoped(Effect.gen(function*() {
        yield* DeltaStore.make({ dataDir })
        assert.strictEqual(JSON.parse(fs.readFileSync(lock, "utf8")).pid, process.pid)
        const twice = yield* Effect.flip(Effect.scoped(DeltaStore.make({ dataDir })))
        assert.strictEqual(twice.reason._tag, "Conflict")
      }))
      fs.writeFileSync(lock, JSON.stringify({ pid: process.ppid })) // a live process
      const busy = yield* Effect.flip(Effect.scoped(DeltaStore.make({ dataDir })))
      assert.strictEqual(busy.reason._tag, "Conflict")
      assert.include(busy.message, String(process.ppid))
      fs.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 12345 })) // no such process
      yield* Effect.scoped(DeltaStore.make({ dataDir }))
      fs.writeFileSync(lock, JSON.stringify({ pid: process.pid })) // a previous run that had our pid
      yield* Effect.scoped(DeltaStore.make({ dataDir }))
    }))
})
