import type { Clock } from '../concurrency/check.js'
import { abortedError, type GuardError } from '../errors.js'
import { type QueueNode, WaiterQueue } from './waiter-queue.js'

/** What a {@link SlotGate} is built from. @internal */
export interface SlotGateOptions {
  /** How many slots there are now: read at every admission, so it may move (an adaptive limit). */
  capacity: () => number
  /** Calls that may wait for a slot; 0: none, a call finding every slot taken is refused at once. */
  maxQueued: number
  /** How long a call may wait for a slot, in ms. */
  queueTimeoutMs: number
  now: Clock
  /** The error for a call refused because every slot and every place in the queue is taken. */
  full: () => GuardError
  /** The error for a call that waited `waitedMs` without getting a slot. */
  timedOut: (waitedMs: number) => GuardError
}

/** What {@link SlotGate.enter} resolves with, read at the moment the slot was taken. @internal */
export interface Admission {
  /** How long the call waited in the queue, in ms (0 if not at all). */
  readonly waitedMs: number
  /** Calls holding a slot, this one included. */
  readonly inFlight: number
  /** When, by the gate's clock. */
  readonly admittedAt: number
}

interface Waiter {
  readonly resolve: (admission: Admission) => void
  readonly enqueuedAt: number
  /** Stops the timer and the abort listener. */
  readonly settle: () => void
}

/**
 * Slots with a bounded FIFO queue in front: the counting semaphore under the bulkhead, the worker pool
 * and the concurrency limiter's optional queue. A waiter that is aborted or times out leaves the queue
 * in O(1); a freed slot goes to the oldest waiter, and no new call overtakes a waiting one. @internal
 */
export class SlotGate {
  readonly #o: SlotGateOptions
  readonly #queue = new WaiterQueue<Waiter>()
  #inFlight = 0

  constructor(options: SlotGateOptions) {
    this.#o = options
  }

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Calls waiting for one. */
  get queued(): number {
    return this.#queue.size
  }

  /** Takes a slot if one is free and nobody is waiting for it. */
  tryEnter(): boolean {
    if (this.#queue.size > 0 || this.#inFlight >= this.#o.capacity()) return false
    this.#inFlight++
    return true
  }

  /**
   * Takes a slot, waiting for one if the queue has room. Resolves with what the admission looked like
   * (read when the slot was taken, not when the caller resumes).
   *
   * @throws {GuardError} the `full` error, the `timedOut` error, or `E_ABORTED` if `signal` fires first.
   */
  enter(signal?: AbortSignal): Promise<Admission> {
    if (signal?.aborted) return Promise.reject(abortedError(signal))
    if (this.tryEnter()) {
      return Promise.resolve({ waitedMs: 0, inFlight: this.#inFlight, admittedAt: this.#o.now() })
    }
    if (this.#queue.size >= this.#o.maxQueued) return Promise.reject(this.#o.full())
    return new Promise<Admission>((resolve, reject) => {
      const enqueuedAt = this.#o.now()
      let node: QueueNode<Waiter> | undefined
      const onAbort = () => {
        settle()
        if (node) this.#queue.remove(node)
        reject(abortedError(signal!))
      }
      const timer = setTimeout(() => {
        settle()
        if (node) this.#queue.remove(node)
        reject(this.#o.timedOut(this.#o.now() - enqueuedAt))
      }, this.#o.queueTimeoutMs)
      const settle = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      node = this.#queue.push({ resolve, enqueuedAt, settle })
    })
  }

  /** Gives a slot back and hands it to the oldest waiter, if any. */
  leave(): void {
    this.#inFlight--
    this.drain()
  }

  /** Admits waiters while slots are free: after a release, or when the capacity rose. */
  drain(): void {
    while (this.#queue.size > 0 && this.#inFlight < this.#o.capacity()) {
      const waiter = this.#queue.shift()!
      waiter.settle()
      this.#inFlight++
      const admittedAt = this.#o.now()
      waiter.resolve({ waitedMs: admittedAt - waiter.enqueuedAt, inFlight: this.#inFlight, admittedAt })
    }
  }
}
