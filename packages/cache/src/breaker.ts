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
}

/**
 * A circuit breaker around L2. No reader waits on a probe: when the cooldown is over, the next call
 * starts the probe in the background and still fails fast; the probe's success closes the breaker.
 * That way a Redis that is down costs each read one map lookup, not one timeout.
 */
export class Breaker {
  readonly #options: BreakerOptions
  #state: BreakerState = 'closed'
  #failures = 0
  #openUntil = 0
  #opened = 0

  constructor(options: BreakerOptions) {
    this.#options = options
  }

  get state(): BreakerState {
    return this.#state
  }

  /** How many times the breaker has opened. */
  get opened(): number {
    return this.#opened
  }

  /** Runs `fn` if the tier is usable, bounded by the timeout and by `signal`. */
  async execute<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.#state !== 'closed') {
      if (this.#state === 'open' && Date.now() >= this.#openUntil) this.#startProbe()
      throw new CacheError('E_L2_UNAVAILABLE', 'L2 is cut off by its breaker', {
        context: { state: this.#state },
      })
    }
    try {
      const result = await this.#bounded(fn, signal)
      this.#failures = 0
      return result
    } catch (err) {
      if (!(err instanceof CacheError && err.code === 'E_ABORTED')) this.#failure()
      throw err
    }
  }

  #failure(): void {
    this.#failures++
    if (this.#state === 'closed' && this.#failures >= this.#options.failureThreshold) this.#open()
  }

  #open(): void {
    this.#openUntil = Date.now() + this.#options.cooldownMs
    if (this.#state !== 'open') this.#opened++
    this.#set('open')
  }

  #startProbe(): void {
    this.#set('half_open')
    this.#bounded(this.#options.probe).then(
      () => {
        this.#failures = 0
        this.#set('closed')
      },
      () => this.#open(),
    )
  }

  #set(state: BreakerState): void {
    if (state === this.#state) return
    this.#state = state
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
