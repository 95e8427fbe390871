/**
 * A binary min-heap under `compare`, just big enough for the k-way merge: the top can be read,
 * replaced (the usual step: the shard that gave the smallest row now shows its next one) or removed.
 *
 * @example
 * const heap = new BinaryHeap<number>((a, b) => a - b)
 * for (const n of [5, 1, 3]) heap.push(n)
 * heap.peek() // 1
 * @internal
 */
export class BinaryHeap<T> {
  readonly #items: T[] = []
  readonly #compare: (a: T, b: T) => number

  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare
  }

  get size(): number {
    return this.#items.length
  }

  peek(): T | undefined {
    return this.#items[0]
  }

  push(item: T): void {
    this.#items.push(item)
    this.#up(this.#items.length - 1)
  }

  /** Removes and returns the smallest item. */
  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      this.#down(0)
    }
    return top
  }

  /** Restores the order after the top item's key grew (it was mutated in place). */
  topChanged(): void {
    this.#down(0)
  }

  #up(index: number): void {
    const items = this.#items
    const item = items[index]!
    while (index > 0) {
      const parent = (index - 1) >> 1
      const above = items[parent]!
      if (this.#compare(item, above) >= 0) break
      items[index] = above
      index = parent
    }
    items[index] = item
  }

  #down(index: number): void {
    const items = this.#items
    const length = items.length
    const item = items[index]
    if (item === undefined) return
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && this.#compare(items[right]!, items[left]!) < 0 ? right : left
      const below = items[child]!
      if (this.#compare(below, item) >= 0) break
      items[index] = below
      index = child
    }
    items[index] = item
  }
}
