import { GuardError } from '../errors.js'
import { publish } from '../observe/index.js'
import type { Policy, PolicyContext } from '../policy.js'
import type { BulkheadFullEvent, QueueTimeoutEvent } from './bulkhead-events.js'
import { BulkheadMetrics } from './bulkhead-metrics.js'
import {
  type BulkheadOptions,
  type ResolvedBulkheadOptions,
  resolveBulkheadOptions,
} from './bulkhead-options.js'
import { type Admission, SlotGate } from './slot-gate.js'

/** Counters since the bulkhead was made, and its state now. */
export interface BulkheadStats {
  inFlight: number
  queued: number
  /** Calls given a slot, at once or after waiting. */
  admitted: number
  /** Calls refused with `E_BULKHEAD_FULL`. */
  full: number
  /** Calls that failed with `E_QUEUE_TIMEOUT`. */
  timedOut: number
  /** Calls whose signal fired while they waited. */
  aborted: number
}

const never = new AbortController().signal

/**
 * Bounded concurrency with a bounded FIFO queue in front, so one slow dependency can take no more than
 * its share of the process: at most `maxConcurrent` calls run, at most `maxQueued` wait (oldest first),
 * the next is refused at once with `E_BULKHEAD_FULL`, and a call that waits `queueTimeoutMs` fails with
 * `E_QUEUE_TIMEOUT`. An aborted waiter leaves the queue at once, in O(1). Made by {@link bulkhead}.
 */
export class Bulkhead implements Policy {
  readonly name: string
  readonly maxConcurrent: number
  readonly maxQueued: number
  readonly #o: ResolvedBulkheadOptions
  readonly #gate: SlotGate
  readonly #metrics: BulkheadMetrics | undefined
  readonly #counts = { admitted: 0, full: 0, timedOut: 0, aborted: 0 }

  constructor(options: BulkheadOptions) {
    this.#o = resolveBulkheadOptions(options)
    this.name = this.#o.name
    this.maxConcurrent = this.#o.maxConcurrent
    this.maxQueued = this.#o.maxQueued
    this.#gate = new SlotGate({
      capacity: () => this.maxConcurrent,
      maxQueued: this.maxQueued,
      queueTimeoutMs: this.#o.queueTimeoutMs,
      now: this.#o.now,
      full: () => this.#full(),
      timedOut: (waitedMs) => this.#timedOut(waitedMs),
    })
    this.#metrics = this.#o.registry ? new BulkheadMetrics(this.#o.registry, this.name, this) : undefined
  }

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.#gate.inFlight
  }

  /** Calls waiting for one. */
  get queued(): number {
    return this.#gate.queued
  }

  /**
   * The counters and the state now.
   *
   * @example
   * const { inFlight, queued, full } = db.stats()
   */
  stats(): BulkheadStats {
    return { inFlight: this.inFlight, queued: this.queued, ...this.#counts }
  }

  /**
   * Runs `fn` in a slot, waiting for one if the queue has room.
   *
   * @throws {GuardError} `E_BULKHEAD_FULL` (`queued`, `maxQueued`), `E_QUEUE_TIMEOUT` (`waitedMs`),
   *   `E_ABORTED` if `signal` fires while waiting; otherwise what `fn` throws.
   * @example
   * const user = await db.execute(({ signal }) => pool.query(sql, [id], { signal }), request.signal)
   */
  async execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    let admission: Admission
    try {
      admission = await this.#gate.enter(signal)
    } catch (error) {
      if (error instanceof GuardError && error.code === 'E_ABORTED') this.#counts.aborted++
      throw error
    }
    this.#counts.admitted++
    this.#metrics?.wait.recordMs(admission.waitedMs)
    try {
      return await fn({ signal: signal ?? never })
    } finally {
      this.#gate.leave()
    }
  }

  #full(): GuardError {
    this.#counts.full++
    this.#metrics?.rejected('E_BULKHEAD_FULL')
    const inFlight = this.inFlight
    const queued = this.queued
    publish(
      'bulkhead-full',
      (): BulkheadFullEvent => ({ policy: this.name, inFlight, queued, maxQueued: this.maxQueued }),
    )
    return new GuardError(
      'E_BULKHEAD_FULL',
      `${this.name}: ${inFlight} calls running and ${queued} queued, the most it takes`,
      { policy: this.name, inFlight, queued, maxQueued: this.maxQueued },
    )
  }

  #timedOut(waitedMs: number): GuardError {
    this.#counts.timedOut++
    this.#metrics?.rejected('E_QUEUE_TIMEOUT')
    const queueTimeoutMs = this.#o.queueTimeoutMs
    publish('queue-timeout', (): QueueTimeoutEvent => ({ policy: this.name, waitedMs, queueTimeoutMs }))
    return new GuardError('E_QUEUE_TIMEOUT', `${this.name}: no slot freed within ${queueTimeoutMs} ms`, {
      policy: this.name,
      waitedMs,
      timeoutMs: queueTimeoutMs,
    })
  }
}

/**
 * Makes a {@link Bulkhead}. Give each dependency its own, so a slow one fills its own queue and refuses
 * its own calls while the others go on.
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const toPostgres = bulkhead({ name: 'postgres', maxConcurrent: 20, maxQueued: 50, queueTimeoutMs: 200, registry })
 * const toSearch = bulkhead({ name: 'search', maxConcurrent: 8, maxQueued: 8, registry })
 * const hits = await wrap(toSearch, timeout).execute(({ signal }) => search.query(q, { signal }), request.signal)
 */
export function bulkhead(options: BulkheadOptions): Bulkhead {
  return new Bulkhead(options)
}
