/** A batch of pending deletes handed out for replay: the keys and the additions they stand for. */
export interface PendingBatch {
  readonly keys: readonly string[]
  readonly seqs: readonly number[]
}

/**
 * The keys whose delete L2 has not seen (it was cut off), oldest first, at most `max`. Re-adding a key
 * makes it the newest. Beyond `max` the oldest is dropped and `onDrop` is told: L2 may then hold that
 * key's old value, which only its TTL or a resync removes.
 */
export class PendingDeletes {
  /** Key → the sequence number of its latest addition, in insertion order. */
  readonly #keys = new Map<string, number>()
  readonly #max: number
  readonly #onDrop: (key: string) => void
  #seq = 0

  constructor(max: number, onDrop: (key: string) => void) {
    this.#max = max
    this.#onDrop = onDrop
  }

  get size(): number {
    return this.#keys.size
  }

  add(key: string): void {
    this.#keys.delete(key)
    this.#keys.set(key, ++this.#seq)
    if (this.#keys.size <= this.#max) return
    const oldest = this.#keys.keys().next().value
    if (oldest === undefined) return
    this.#keys.delete(oldest)
    this.#onDrop(oldest)
  }

  /** Up to `size` of the oldest keys; they stay pending until `settle`. */
  oldest(size: number): PendingBatch {
    const keys: string[] = []
    const seqs: number[] = []
    for (const [key, seq] of this.#keys) {
      if (keys.length >= size) break
      keys.push(key)
      seqs.push(seq)
    }
    return { keys, seqs }
  }

  /** L2 has seen this batch. A key added again meanwhile stays: its newer delete may have come after. */
  settle(batch: PendingBatch): void {
    batch.keys.forEach((key, i) => {
      if (this.#keys.get(key) === batch.seqs[i]) this.#keys.delete(key)
    })
  }
}
