import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { parquetMetadata } from "hyparquet"
import * as Delta from "../../../src/internal/delta/DeltaType.ts"
import type * as Row from "../../../src/internal/delta/Row.ts"
import * as Parquet from "../../../src/local/delta/Parquet.ts"

const schema = Delta.struct([
  Delta.field("id", Delta.long, false),
  Delta.field("name", Delta.string)
])

describe("Parquet", () => {
  it.effect("a file of more rows than a row group holds splits into row groups of 20,000 and reads back whole", () =>
    Effect.gen(function*() {
      const rows: Array<Row.Row> = Array.from({ length: 45_001 }, (_, i) => ({
        id: BigInt(i),
        name: i % 3 === 0 ? null : `name-${i}`
      }))
      const bytes = yield* Parquet.encode(schema, rows)
      const metadata = parquetMetadata(new Uint8Array(bytes).buffer)
      assert.deepStrictEqual(metadata.row_groups.map((g) => Number(g.num_rows)), [20_000, 20_000, 5_001])
      assert.strictEqual(metadata.created_by, "zerobus-local")
      const read = yield* Parquet.decode(schema, bytes)
      assert.strictEqual(read.length, rows.length)
      assert.deepStrictEqual(read[0], rows[0])
      assert.deepStrictEqual(read[20_000], rows[20_000])
      assert.deepStrictEqual(read[45_000], rows[45_000])
      assert.deepStrictEqual(read, rows)
    }))
})
