import { type CircuitBreaker, circuitBreaker } from '@hundredfold/guard'
import { abortError, CacheError } from './errors.js'

/** `closed`: calls pass. `open`: calls fail at once. `half_open`: a probe is checking the tier. */
export type BreakerState = 'closed' | 'open' | 'half_open'

export interface BreakerOptions {
  /** Consecutive failures (errors or timeouts) that open the breaker. */
  failureThreshold: number
  /** How long it stays open before a probe. */
  cooldownMs: number
  /** A call slower than this fails with `E_L2_TIMEOUT` (and counts as a failure). */
  timeoutMs: number
  /** Run once per half-open period, by the breaker itself; its success closes the breaker. */
  probe: (signal: AbortSignal) => Promise<void>
  /** Told of each state change. */
  onStateChange?: (state: BreakerState) => void
  /** The guard breaker's name, in its events on `hundredfold:guard:breaker-state`. @default 'cache-l2' */
  name?: string
}

/**
 * The circuit breaker around L2: `@hundredfold/guard`'s `circuitBreaker` (consecutive failures, one
 * half-open probe), wrapped so the cache keeps its own codes and its one difference of behaviour. No
 * reader waits on a probe: when the cooldown is over, the next call starts the probe in the background
 * and still fails fast; the probe's success closes the breaker. That way a Redis that is down costs
 * each read one state check, not one timeout.
 */
export class Breaker {
  readonly #options: BreakerOptions
  readonly #guard: CircuitBreaker
  #probing = false
  #opened = 0
  #reported: BreakerState = 'closed'

  constructor(options: BreakerOptions) {
    this.#options = options
    this.#guard = circuitBreaker({
      name: options.name ?? 'cache-l2',
      consecutiveFailures: options.failureThreshold,
      failureRatio: false,
      openMs: options.cooldownMs,
      openBackoff: 1,
      halfOpenProbes: 1,
      isFailure: (err) => !(err instanceof CacheError && err.code === 'E_ABORTED'),
      onStateChange: (event) => {
        if (event.to === 'open' && event.from !== 'open') this.#opened++
        this.#report()
      },
    })
  }

  /** `half_open` only while the probe runs: an elapsed cooldown with no call yet still reads `open`. */
  get state(): BreakerState {
    const state = this.#guard.state
    if (state === 'closed') return 'closed'
    return this.#probing ? 'half_open' : 'open'
  }

  /** How many times the breaker has opened. */
  get opened(): number {
    return this.#opened
  }

  /** Runs `fn` if the tier is usable, bounded by the timeout and by `signal`. */
  execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    const state = this.#guard.state
    if (state !== 'closed') {
      if (state === 'half-open' && !this.#probing) this.#startProbe()
      return Promise.reject(
        new CacheError('E_L2_UNAVAILABLE', 'L2 is cut off by its breaker', {
          context: { state: this.state },
        }),
      )
    }
    return this.#guard.execute(({ signal: inner }) => this.#bounded(fn, inner), signal)
  }

  #startProbe(): void {
    this.#probing = true
    this.#report()
    this.#guard
      .execute(() => this.#bounded(this.#options.probe))
      .catch(() => {})
      .finally(() => {
        this.#probing = false
        this.#report()
      })
  }

  #report(): void {
    const state = this.state
    if (state === this.#reported) return
    this.#reported = state
    this.#options.onStateChange?.(state)
  }

  #bounded<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    const controller = new AbortController()
    return new Promise<T>((resolve, reject) => {
      const timeoutMs = this.#options.timeoutMs
      const timer = setTimeout(() => {
        controller.abort()
        reject(
          new CacheError('E_L2_TIMEOUT', `L2 did not answer within ${timeoutMs} ms`, {
            context: { timeoutMs },
          }),
        )
      }, timeoutMs)
      const onAbort = () => {
        clearTimeout(timer)
        controller.abort()
        reject(abortError(signal!))
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      fn(controller.signal).then(
        (value) => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (err: unknown) => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          reject(
            err instanceof CacheError ? err : new CacheError('E_L2_FAILED', 'L2 call failed', { cause: err }),
          )
        },
      )
    })
  }
}
