/** A node of {@link WaiterQueue}; keep it to remove the entry in O(1). @internal */
export interface QueueNode<T> {
  readonly value: T
  prev: QueueNode<T> | undefined
  next: QueueNode<T> | undefined
  queued: boolean
}

/**
 * A FIFO with O(1) removal from the middle (a doubly linked list), so a waiter that times out or is
 * aborted leaves the queue without a scan, however long the queue. @internal
 */
export class WaiterQueue<T> {
  #head: QueueNode<T> | undefined
  #tail: QueueNode<T> | undefined
  #size = 0

  get size(): number {
    return this.#size
  }

  push(value: T): QueueNode<T> {
    const node: QueueNode<T> = { value, prev: this.#tail, next: undefined, queued: true }
    if (this.#tail) this.#tail.next = node
    else this.#head = node
    this.#tail = node
    this.#size++
    return node
  }

  shift(): T | undefined {
    const node = this.#head
    if (!node) return undefined
    this.remove(node)
    return node.value
  }

  /** Removes `node` if it is still queued; a second call does nothing. */
  remove(node: QueueNode<T>): void {
    if (!node.queued) return
    if (node.prev) node.prev.next = node.next
    else this.#head = node.next
    if (node.next) node.next.prev = node.prev
    else this.#tail = node.prev
    node.prev = node.next = undefined
    node.queued = false
    this.#size--
  }
}
