/**
 * The ledger of a stream: every request (one per `ingest`/`ingestBatch` call) from the oldest
 * unacknowledged one to the newest, in order. Logical offsets are implicit: the request at
 * position `i` has offset `first + i`. `sent` counts the leading requests already written on the
 * current connection; a reconnection resets it to 0 so everything unacknowledged is sent again.
 *
 * @internal
 */
import type { Payload } from "./wire.ts"

/**
 * Several records ingested by one `ingestBatch` call: one logical offset, acknowledged together.
 * `bound` is an upper bound of their bytes on the wire; `estimate` the sum of their
 * `entryEstimate`s (the room the encoder allocates first).
 */
export class Batch {
  constructor(
    readonly payloads: ReadonlyArray<Payload>,
    readonly bound: number,
    readonly estimate: number
  ) {}
}

/** `size` empty slots (a power of two). */
const emptySlots = (size: number): Array<Item | undefined> => {
  const slots: Array<Item | undefined> = []
  slots.length = size
  return slots.fill(undefined)
}

/** A request: one record, or a batch. */
export type Item = Payload | Batch

/** Number of records in a request. */
export const recordCount = (item: Item): number => item instanceof Batch ? item.payloads.length : 1

/** A growable ring buffer of requests. */
export class Ledger {
  private items: Array<Item | undefined> = emptySlots(1024)
  private head = 0
  /** Number of requests held. */
  size = 0
  /** Logical offset of the oldest request held. */
  first = 0
  /** Leading requests written on the current connection. */
  sent = 0
  /** Records held (all requests). */
  records = 0

  /** Logical offset the next request gets. */
  get next(): number {
    return this.first + this.size
  }

  /** Appends a request and returns its logical offset. */
  push(item: Item): number {
    if (this.size === this.items.length) this.grow()
    this.items[(this.head + this.size) & (this.items.length - 1)] = item
    this.records += recordCount(item)
    return this.first + this.size++
  }

  /** The request at position `index` (0 = oldest). */
  at(index: number): Item {
    const item = this.items[(this.head + index) & (this.items.length - 1)]
    if (item === undefined) throw new RangeError(`ledger position ${index} is empty`)
    return item
  }

  /**
   * Drops every request with an offset up to `offset` (acknowledged); returns the number of
   * requests and records dropped.
   */
  dropThrough(offset: number): { readonly requests: number; readonly records: number } {
    const requests = Math.min(this.size, offset - this.first + 1)
    if (requests <= 0) return { requests: 0, records: 0 }
    const mask = this.items.length - 1
    let records = 0
    for (let i = 0; i < requests; i++) {
      const slot = (this.head + i) & mask
      const item = this.items[slot]
      if (item !== undefined) records += recordCount(item)
      this.items[slot] = undefined
    }
    this.head = (this.head + requests) & mask
    this.size -= requests
    this.first += requests
    this.sent = Math.max(0, this.sent - requests)
    this.records -= records
    return { requests, records }
  }

  /** Every request held, oldest first. */
  toArray(): Array<Item> {
    const out: Array<Item> = []
    for (let i = 0; i < this.size; i++) out.push(this.at(i))
    return out
  }

  private grow(): void {
    const capacity = this.items.length
    const next = emptySlots(capacity * 2)
    const tail = capacity - this.head
    for (let i = 0; i < tail; i++) next[i] = this.items[this.head + i]
    for (let i = tail; i < this.size; i++) next[i] = this.items[i - tail]
    this.items = next
    this.head = 0
  }
}
