import { SlotGate } from '../bulkhead/slot-gate.js'
import { GuardError } from '../errors.js'
import { publish } from '../observe/index.js'
import type { Policy, PolicyContext } from '../policy.js'
import type { ConcurrencyLimitEvent, ConcurrencyLimitedEvent } from './concurrency-events.js'
import {
  type ConcurrencyLimiterOptions,
  type ResolvedConcurrencyLimiterOptions,
  resolveConcurrencyLimiterOptions,
} from './concurrency-limiter-options.js'
import { ConcurrencyMetrics } from './concurrency-metrics.js'
import type { LimitAlgorithm } from './limit-algorithm.js'

/** How an admitted call ended: `success` and `drop` are sampled (with their RTT), `ignore` is not. */
export type CallOutcome = 'success' | 'drop' | 'ignore'

/**
 * A slot held by one admitted call. Release it exactly once, when the call ends; later calls are no-ops,
 * so every path that may end the call (response, close, error) can release without counting twice.
 */
export interface ConcurrencyPermit {
  /** Frees the slot and feeds the call's RTT to the algorithm unless `ignore`. `true` the first time only. */
  release(outcome?: CallOutcome): boolean
}

/** Counters since the limiter was made, and its state now. */
export interface ConcurrencyLimiterStats {
  limit: number
  inFlight: number
  queued: number
  /** Calls given a slot. */
  admitted: number
  /** Calls refused with `E_CONCURRENCY_LIMITED` (at once or after waiting in the queue). */
  shed: number
  succeeded: number
  dropped: number
  /** Calls released without a sample: aborted by the caller, or failed in a way `isDrop` does not count. */
  ignored: number
}

const never = new AbortController().signal

/**
 * An adaptive concurrency limit (Netflix concurrency-limits): admits a call while fewer than `limit` are
 * in flight, else sheds it at once with `E_CONCURRENCY_LIMITED` (or after a short wait, with `maxQueued`).
 * Every finished call feeds its RTT, and whether it was dropped, to the limit algorithm, which moves the
 * limit. Made by {@link concurrencyLimiter}.
 */
export class ConcurrencyLimiter implements Policy {
  readonly name: string
  /** Calls that may wait for a slot (0: none, shed at once). */
  readonly maxQueued: number
  /** The algorithm that sets the limit. */
  readonly algorithm: LimitAlgorithm
  readonly #o: ResolvedConcurrencyLimiterOptions
  readonly #gate: SlotGate
  readonly #metrics: ConcurrencyMetrics | undefined
  readonly #counts = { admitted: 0, shed: 0, succeeded: 0, dropped: 0, ignored: 0 }

  constructor(options: ConcurrencyLimiterOptions = {}) {
    this.#o = resolveConcurrencyLimiterOptions(options)
    this.name = this.#o.name
    this.algorithm = this.#o.limit
    this.maxQueued = this.#o.maxQueued
    this.#gate = new SlotGate({
      capacity: () => this.algorithm.limit,
      maxQueued: this.#o.maxQueued,
      queueTimeoutMs: this.#o.maxQueueWaitMs,
      now: this.#o.now,
      full: () => this.#shed(),
      timedOut: (waitedMs) => this.#shed(waitedMs),
    })
    this.#metrics = this.#o.registry ? new ConcurrencyMetrics(this.#o.registry, this.name, this) : undefined
  }

  /** The limit now. */
  get limit(): number {
    return this.algorithm.limit
  }

  /** Calls holding a slot. */
  get inFlight(): number {
    return this.#gate.inFlight
  }

  /** Calls waiting for a slot (only with `maxQueued`). */
  get queued(): number {
    return this.#gate.queued
  }

  /**
   * The counters and the state now.
   *
   * @example
   * const { limit, inFlight, shed } = limiter.stats()
   */
  stats(): ConcurrencyLimiterStats {
    return { limit: this.limit, inFlight: this.inFlight, queued: this.queued, ...this.#counts }
  }

  /**
   * A slot now, or `undefined` (counted as shed) if the limit is reached or others are queued. Never waits:
   * for hooks that must decide synchronously.
   *
   * @example
   * const permit = limiter.tryAcquire()
   * if (!permit) return reply.code(503).send()
   * reply.raw.once('close', () => permit.release())
   */
  tryAcquire(): ConcurrencyPermit | undefined {
    if (this.#gate.tryEnter()) return this.#admitted(this.#gate.inFlight, this.#o.now())
    this.#shed()
    return undefined
  }

  /**
   * A slot, waiting in the queue for up to `maxQueueWaitMs` if `maxQueued` allows.
   *
   * @throws {GuardError} `E_CONCURRENCY_LIMITED` (`limit`, `inFlight`, and `waitedMs` if it waited), or
   *   `E_ABORTED` if `signal` fires first.
   * @example
   * const permit = await limiter.acquire(request.signal)
   * try { await work() ; permit.release('success') } catch (err) { permit.release('drop'); throw err }
   */
  async acquire(signal?: AbortSignal): Promise<ConcurrencyPermit> {
    const { inFlight, admittedAt } = await this.#gate.enter(signal)
    return this.#admitted(inFlight, admittedAt)
  }

  /**
   * Runs `fn` in a slot, and samples it: a success with its RTT, a failure `isDrop` counts as a drop, other
   * failures and caller aborts not at all.
   *
   * @throws {GuardError} `E_CONCURRENCY_LIMITED`, `E_ABORTED`; otherwise what `fn` throws.
   * @example
   * const rows = await limiter.execute(({ signal }) => db.query(sql, params, { signal }), request.signal)
   */
  async execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const permit = await this.acquire(signal)
    try {
      const value = await fn({ signal: signal ?? never })
      permit.release('success')
      return value
    } catch (error) {
      permit.release(signal?.aborted || !this.#o.isDrop(error) ? 'ignore' : 'drop')
      throw error
    }
  }

  /** The permit of a call admitted at `startedAt` with `inFlight` calls holding a slot (itself included). */
  #admitted(inFlight: number, startedAt: number): ConcurrencyPermit {
    this.#counts.admitted++
    let released = false
    return {
      release: (outcome: CallOutcome = 'success') => {
        if (released) return false
        released = true
        this.#release(outcome, this.#o.now() - startedAt, inFlight)
        return true
      },
    }
  }

  #release(outcome: CallOutcome, rttMs: number, inFlight: number): void {
    if (outcome === 'success') this.#counts.succeeded++
    else if (outcome === 'drop') this.#counts.dropped++
    else this.#counts.ignored++
    this.#metrics?.finished(outcome)
    if (outcome !== 'ignore') {
      const previous = this.algorithm.limit
      const limit = this.algorithm.onSample(rttMs, inFlight, outcome === 'drop')
      if (limit !== previous) {
        publish(
          'concurrency-limit',
          (): ConcurrencyLimitEvent => ({
            policy: this.name,
            algorithm: this.algorithm.name,
            previous,
            limit,
            rttMs,
            dropped: outcome === 'drop',
          }),
        )
      }
    }
    // After the sample, so waiters are admitted against the new limit.
    this.#gate.leave()
  }

  #shed(waitedMs?: number): GuardError {
    this.#counts.shed++
    this.#metrics?.shed()
    const limit = this.limit
    const inFlight = this.inFlight
    publish(
      'concurrency-limited',
      (): ConcurrencyLimitedEvent => ({
        policy: this.name,
        code: 'E_CONCURRENCY_LIMITED',
        limit,
        inFlight,
        ...(waitedMs === undefined ? {} : { waitedMs }),
      }),
    )
    const message =
      waitedMs === undefined
        ? `${this.name}: ${inFlight} calls in flight reach the limit of ${limit}`
        : `${this.name}: no slot freed within ${Math.round(waitedMs)} ms (limit ${limit})`
    return new GuardError('E_CONCURRENCY_LIMITED', message, { policy: this.name, limit, inFlight, waitedMs })
  }
}

/**
 * Makes a {@link ConcurrencyLimiter}: the inbound guard of a service (with `gradient2` or `vegas`), or the
 * client side of a dependency (with `aimd`).
 *
 * @throws {GuardError} `E_INVALID_OPTION` naming the option.
 * @example
 * const inbound = concurrencyLimiter({ name: 'api', limit: gradient2({ maxLimit: 500 }), registry })
 * const page = await inbound.execute(({ signal }) => render(request, signal), request.signal)
 * inbound.limit // e.g. 37
 */
export function concurrencyLimiter(options: ConcurrencyLimiterOptions = {}): ConcurrencyLimiter {
  return new ConcurrencyLimiter(options)
}
