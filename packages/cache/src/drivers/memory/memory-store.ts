import { abortError, CacheError } from '../../errors.js'
import type { AcquireResult, FillItem, L2Store, StoredValue } from '../../l2-store.js'

interface Slot {
  payload: string | undefined
  freshUntil: number
  aliveUntil: number
  lease: string | undefined
  leaseUntil: number
}

/** Options of `memoryStore`. */
export interface MemoryStoreOptions {
  /** Keys kept at most; beyond, the oldest are dropped (a miss, or a voided lease: never stale). @default 100_000 */
  maxEntries?: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

/**
 * The embedded L2: the same lease semantics as the Redis store, in this process's memory. Share one
 * instance between caches to model several nodes over one L2 (tests, the embedded microblog).
 *
 * @example
 * const cache = createCache({ l2: memoryStore(), bus: memoryBus() })
 */
export function memoryStore(options: MemoryStoreOptions = {}): L2Store {
  const maxEntries = options.maxEntries ?? 100_000
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new CacheError('E_INVALID_OPTION', 'options.maxEntries must be a positive integer')
  }
  return new MemoryStore(options.now ?? Date.now, maxEntries)
}

class MemoryStore implements L2Store {
  readonly #slots = new Map<string, Slot>()
  readonly #now: () => number
  readonly #maxEntries: number
  #sweepAt = 0

  constructor(now: () => number, maxEntries: number) {
    this.#now = now
    this.#maxEntries = maxEntries
  }

  acquire(
    keys: readonly string[],
    tokens: readonly string[],
    leaseMs: number,
    signal?: AbortSignal,
  ): Promise<AcquireResult[]> {
    return this.#at(signal, (now) => {
      this.#sweep(now)
      return keys.map((key, i) => this.#acquireOne(key, tokens[i]!, leaseMs, now))
    })
  }

  #acquireOne(key: string, token: string, leaseMs: number, now: number): AcquireResult {
    const slot = this.#live(key, now)
    if (slot.payload !== undefined && slot.freshUntil > now) return { kind: 'hit', payload: slot.payload }
    if (slot.lease !== undefined && slot.leaseUntil > now) return { kind: 'busy', stale: slot.payload }
    slot.lease = token
    slot.leaseUntil = now + leaseMs
    if (!this.#slots.has(key)) {
      this.#slots.set(key, slot)
      if (this.#slots.size > this.#maxEntries) this.#slots.delete(this.#slots.keys().next().value!)
    }
    return { kind: 'lease', token, stale: slot.payload }
  }

  peek(keys: readonly string[], signal?: AbortSignal): Promise<(StoredValue | undefined)[]> {
    return this.#at(signal, (now) =>
      keys.map((key) => {
        const slot = this.#live(key, now)
        return slot.payload === undefined
          ? undefined
          : { payload: slot.payload, fresh: slot.freshUntil > now }
      }),
    )
  }

  fill(items: readonly FillItem[], signal?: AbortSignal): Promise<boolean[]> {
    return this.#at(signal, (now) =>
      items.map((item) => {
        const slot = this.#slots.get(item.key)
        if (!slot || slot.lease !== item.token || slot.leaseUntil <= now) return false
        slot.payload = item.payload
        slot.freshUntil = now + item.ttlMs
        slot.aliveUntil = now + item.ttlMs + item.graceMs
        slot.lease = undefined
        return true
      }),
    )
  }

  delete(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    return this.#at(signal, () => {
      for (const key of keys) this.#slots.delete(key)
    })
  }

  clear(signal?: AbortSignal): Promise<void> {
    return this.#at(signal, () => this.#slots.clear())
  }

  async close(): Promise<void> {
    this.#slots.clear()
  }

  /** Runs one step at the store's current time, as a promise; a fired signal rejects before it runs. */
  #at<T>(signal: AbortSignal | undefined, step: (now: number) => T): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal))
    try {
      return Promise.resolve(step(this.#now()))
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The key's slot with expired parts cleared (a fresh object if none; not stored until used). */
  #live(key: string, now: number): Slot {
    const slot = this.#slots.get(key)
    if (!slot) return { payload: undefined, freshUntil: 0, aliveUntil: 0, lease: undefined, leaseUntil: 0 }
    if (slot.payload !== undefined && slot.aliveUntil <= now) slot.payload = undefined
    if (slot.lease !== undefined && slot.leaseUntil <= now) slot.lease = undefined
    return slot
  }

  /** Drops dead slots now and then, so the map does not grow without bound. */
  #sweep(now: number): void {
    if (now < this.#sweepAt) return
    this.#sweepAt = now + 1000
    for (const [key, slot] of this.#slots) {
      if (slot.aliveUntil <= now && slot.leaseUntil <= now) this.#slots.delete(key)
    }
  }
}
