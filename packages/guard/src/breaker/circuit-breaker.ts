import { abortedError, GuardError } from '../errors.js'
import { type BreakerStateEvent, countRejection, guardMetrics, publish } from '../observe/index.js'
import type { Policy, PolicyContext } from '../policy.js'
import {
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
  resolveBreakerOptions,
} from './breaker-options.js'
import { CountWindow, type OutcomeWindow, TimeWindow } from './outcome-window.js'

/**
 * `closed`: calls pass and are counted. `open`: calls fail at once with `E_CIRCUIT_OPEN`. `half-open`: up
 * to `halfOpenProbes` calls pass as probes. `isolated`: opened by hand, until `reset()`.
 */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated'

/** What {@link CircuitBreaker.stats} reports. */
export interface BreakerStats {
  state: BreakerState
  /** Calls, failures and slow calls in the window. */
  calls: number
  failures: number
  slowCalls: number
  consecutiveFailures: number
  /** The open period the next opening gets, in ms (grows with failed probes). */
  openMs: number
  /** While open: ms until the next probe may pass; 0 otherwise. */
  retryAfterMs: number
}

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2, isolated: 3 }
const never = new AbortController().signal

/**
 * A circuit breaker as a {@link Policy}. Made by {@link circuitBreaker}. No timers: an open breaker turns
 * half-open at the first call after `openMs`, read from the injected clock.
 */
export class CircuitBreaker implements Policy {
  readonly #options: ResolvedBreakerOptions
  readonly #window: OutcomeWindow
  readonly #gauge: { set(value: number): void } | undefined
  #state: BreakerState = 'closed'
  // Bumped at every state change: outcomes of calls admitted under an earlier state are dropped.
  #generation = 0
  #consecutive = 0
  #openMs: number
  #openUntil = 0
  #probesStarted = 0
  #probesSucceeded = 0

  constructor(options: CircuitBreakerOptions = {}) {
    this.#options = resolveBreakerOptions(options)
    const { window, windowSize, windowMs, windowBuckets, openMs, registry, name } = this.#options
    this.#window = window === 'count' ? new CountWindow(windowSize) : new TimeWindow(windowMs, windowBuckets)
    this.#openMs = openMs
    this.#gauge = guardMetrics(registry)?.breakerState.labels({ policy: name })
    this.#gauge?.set(0)
  }

  /** The state now (an open breaker whose period is over reads `half-open`). */
  get state(): BreakerState {
    this.#refresh(this.#options.now())
    return this.#state
  }

  /** The window's counts and the state. */
  stats(): BreakerStats {
    const now = this.#options.now()
    this.#refresh(now)
    const { calls, failures, slow } = this.#window.totals(now)
    return {
      state: this.#state,
      calls,
      failures,
      slowCalls: slow,
      consecutiveFailures: this.#consecutive,
      openMs: this.#openMs,
      retryAfterMs: this.#state === 'open' ? Math.max(0, this.#openUntil - now) : 0,
    }
  }

  /** Opens the breaker by hand: every call fails with `E_CIRCUIT_OPEN` until {@link reset}. */
  isolate(): void {
    this.#transition('isolated', 'isolate')
  }

  /** Closes the breaker, empties its window and forgets the grown open period. */
  reset(): void {
    this.#window.reset()
    this.#consecutive = 0
    this.#openMs = this.#options.openMs
    this.#transition('closed', 'reset')
  }

  async execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortedError(signal)
    const { now, slowCallMs } = this.#options
    const start = now()
    this.#refresh(start)
    const probe = this.#admit(start)
    const generation = this.#generation
    let outcome: 'success' | 'failure' | 'ignored' = 'success'
    try {
      return await fn({ signal: signal ?? never })
    } catch (err) {
      // The caller gave up: whatever the call threw then says nothing about the service.
      const aborted = signal?.aborted === true || (err instanceof GuardError && err.code === 'E_ABORTED')
      outcome = aborted ? 'ignored' : this.#classify(err)
      throw err
    } finally {
      const end = now()
      const slow = slowCallMs !== false && end - start >= slowCallMs
      if (generation === this.#generation) {
        if (probe) this.#probeDone(outcome, slow)
        else if (outcome !== 'ignored') this.#record(outcome === 'failure', slow, end)
      }
    }
  }

  /** Admits the call or throws `E_CIRCUIT_OPEN`; returns whether it is a half-open probe. */
  #admit(now: number): boolean {
    if (this.#state === 'closed') return false
    if (this.#state === 'half-open' && this.#probesStarted < this.#options.halfOpenProbes) {
      this.#probesStarted++
      return true
    }
    const retryAfterMs =
      this.#state === 'open'
        ? Math.max(0, this.#openUntil - now)
        : this.#state === 'half-open'
          ? this.#openMs
          : undefined
    const { name, registry } = this.#options
    countRejection(registry, name, 'E_CIRCUIT_OPEN')
    publish('breaker-rejected', () => ({ policy: name, code: 'E_CIRCUIT_OPEN', retryAfterMs }))
    const why = this.#state === 'half-open' ? 'half-open and every probe is taken' : this.#state
    throw new GuardError('E_CIRCUIT_OPEN', `${name}: the circuit is ${why}`, { policy: name, retryAfterMs })
  }

  #classify(err: unknown): 'success' | 'failure' {
    try {
      return this.#options.isFailure(err) ? 'failure' : 'success'
    } catch {
      return 'failure'
    }
  }

  #record(failure: boolean, slow: boolean, now: number): void {
    this.#window.record(failure, slow, now)
    this.#consecutive = failure ? this.#consecutive + 1 : 0
    const trigger = this.#trigger(now)
    if (trigger) this.#open(now, trigger)
  }

  /** Which trigger, if any, the window and the failure streak pull. */
  #trigger(now: number): string | undefined {
    const { consecutiveFailures, failureRatio, slowCallMs, slowCallRatio, minimumCalls } = this.#options
    if (consecutiveFailures !== false && this.#consecutive >= consecutiveFailures)
      return 'consecutive-failures'
    const { calls, failures, slow } = this.#window.totals(now)
    if (calls < minimumCalls) return undefined
    if (failureRatio !== false && failures / calls >= failureRatio) return 'failure-ratio'
    if (slowCallMs !== false && slow / calls >= slowCallRatio) return 'slow-call-ratio'
    return undefined
  }

  // A slow probe counts as a failed one: the service is not back to health yet.
  #probeDone(outcome: 'success' | 'failure' | 'ignored', slow: boolean): void {
    const now = this.#options.now()
    if (outcome === 'ignored') {
      this.#probesStarted--
    } else if (outcome === 'failure' || slow) {
      const { openBackoff, maxOpenMs } = this.#options
      this.#openMs = Math.min(maxOpenMs, this.#openMs * openBackoff)
      this.#open(now, 'probe-failed')
    } else if (++this.#probesSucceeded >= this.#options.halfOpenProbes) {
      this.#window.reset()
      this.#consecutive = 0
      this.#openMs = this.#options.openMs
      this.#transition('closed', 'probes-succeeded')
    }
  }

  #open(now: number, reason: string): void {
    this.#openUntil = now + this.#openMs
    this.#transition('open', reason)
  }

  #refresh(now: number): void {
    if (this.#state === 'open' && now >= this.#openUntil) this.#transition('half-open', 'open-elapsed')
  }

  #transition(to: BreakerState, reason: string): void {
    const from = this.#state
    this.#generation++
    this.#probesStarted = 0
    this.#probesSucceeded = 0
    if (from === to && to !== 'open') return
    this.#state = to
    this.#gauge?.set(STATE_VALUE[to])
    const event: BreakerStateEvent = { policy: this.#options.name, from, to, reason }
    if (to === 'open') event.openMs = this.#openMs
    publish('breaker-state', event)
    this.#options.onStateChange?.(event)
  }
}

/**
 * A circuit breaker: opens on a failure ratio or a slow-call ratio over a sliding window (count- or
 * time-based, judged from `minimumCalls` on), or on consecutive failures; stays open for `openMs`
 * (growing by `openBackoff` after each failed probe, up to `maxOpenMs`); then admits `halfOpenProbes`
 * probes: all succeed → closed, any fails → open again. While open, calls fail at once with a
 * `GuardError` `E_CIRCUIT_OPEN` carrying `retryAfterMs`.
 *
 * @throws {GuardError} `E_INVALID_OPTION` for a bad option.
 * @example
 * const breaker = circuitBreaker({ name: 'payments', failureRatio: 0.5, minimumCalls: 20, openMs: 5_000, halfOpenProbes: 3 })
 * const receipt = await wrap(breaker, timeout({ ms: 800 })).execute(({ signal }) => payments.charge(order, { signal }))
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  return new CircuitBreaker(options)
}
