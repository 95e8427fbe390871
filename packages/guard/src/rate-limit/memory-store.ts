import { abortedError, GuardError } from '../errors.js'
import {
  type SlidingWindowState,
  type TokenBucketState,
  takeSlidingWindow,
  takeTokenBucket,
} from './algorithms.js'
import type { RateLimitResult, RateLimitStore, TakeRequest } from './store.js'

/** Options of {@link memoryStore}. Every default is in `memoryStoreDefaults`. */
export interface MemoryStoreOptions {
  /**
   * Keys held at most; past it, the least recently used key is forgotten (and starts afresh, with a full
   * quota, if seen again). A key whose quota is whole again holds nothing. @default 100_000
   */
  maxKeys?: number
  /** The clock, in unix ms; inject one in tests. @default Date.now */
  now?: () => number
}

/** The defaults of {@link MemoryStoreOptions}. */
export const memoryStoreDefaults = Object.freeze({
  maxKeys: 100_000,
  now: (): number => Date.now(),
})

/**
 * The in-process limiter store: one process's state in a bounded LRU map. Takes are synchronous inside,
 * so they are atomic.
 *
 * @example
 * const limiter = rateLimiter({ limit: 100, windowMs: 60_000, store: memoryStore({ maxKeys: 50_000 }) })
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  return new MemoryStore(options)
}

/** The store {@link memoryStore} makes. */
export class MemoryStore implements RateLimitStore {
  readonly #maxKeys: number
  readonly #now: () => number
  // Map iteration order is insertion order: re-inserting on use makes the first key the least recent.
  readonly #entries = new Map<string, TokenBucketState | SlidingWindowState>()

  constructor(options: MemoryStoreOptions) {
    const { maxKeys, now } = { ...memoryStoreDefaults, ...stripUndefined(options) }
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new GuardError('E_INVALID_OPTION', 'options.maxKeys must be a positive integer', {
        option: 'options.maxKeys',
        value: maxKeys,
      })
    }
    if (typeof now !== 'function') {
      throw new GuardError('E_INVALID_OPTION', 'options.now must be a function', {
        option: 'options.now',
        value: now,
      })
    }
    this.#maxKeys = maxKeys
    this.#now = now
  }

  /** Keys held now. */
  get size(): number {
    return this.#entries.size
  }

  take(request: TakeRequest, signal?: AbortSignal): Promise<RateLimitResult> {
    if (signal?.aborted) return Promise.reject(abortedError(signal))
    return Promise.resolve(this.takeSync(request))
  }

  /** {@link take} without the promise, for callers already in process (the Redis store's local fallback). */
  takeSync({ key, rule, cost }: TakeRequest): RateLimitResult {
    const id = `${rule.algorithm === 'token-bucket' ? 'tb' : 'sw'}:${key}`
    const previous = this.#entries.get(id)
    const now = this.#now()
    const { state, result } =
      rule.algorithm === 'token-bucket'
        ? takeTokenBucket(previous as TokenBucketState | undefined, now, rule, cost)
        : takeSlidingWindow(previous as SlidingWindowState | undefined, now, rule, cost)
    if (previous) this.#entries.delete(id)
    if (state) {
      this.#entries.set(id, state)
      if (this.#entries.size > this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value!)
    }
    return result
  }

  async close(): Promise<void> {
    this.#entries.clear()
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
