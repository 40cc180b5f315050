import { assert, describe, it } from "@effect/vitest"
import { Batch, Ledger } from "../../src/internal/ledger.ts"

describe("Ledger", () => {
  it("assigns consecutive offsets and drops acknowledged requests across growth", () => {
    const ledger = new Ledger()
    for (let i = 0; i < 100; i++) assert.strictEqual(ledger.push(`r${i}`), i)
    assert.strictEqual(ledger.push(new Batch(["a", "b", "c"], 9, 9)), 100)
    assert.strictEqual(ledger.records, 103)
    ledger.sent = 60
    assert.deepStrictEqual(ledger.dropThrough(49), { requests: 50, records: 50 })
    assert.strictEqual(ledger.first, 50)
    assert.strictEqual(ledger.sent, 10)
    assert.strictEqual(ledger.at(0), "r50")
    for (let i = 0; i < 200; i++) ledger.push(`s${i}`)
    assert.strictEqual(ledger.next, 301)
    assert.deepStrictEqual(ledger.dropThrough(100), { requests: 51, records: 53 })
    assert.strictEqual(ledger.at(0), "s0")
    assert.strictEqual(ledger.toArray().length, 200)
    assert.deepStrictEqual(ledger.dropThrough(99), { requests: 0, records: 0 })
    assert.deepStrictEqual(ledger.dropThrough(10_000), { requests: 200, records: 200 })
    assert.strictEqual(ledger.size, 0)
    assert.strictEqual(ledger.next, 301)
  })
})
