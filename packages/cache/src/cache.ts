import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { LRUCache } from 'lru-cache'
import { Breaker } from './breaker.js'
import type { Bus } from './bus.js'
import { memoryStore } from './drivers/memory/memory-store.js'
import { abortError, CacheError } from './errors.js'
import type { AcquireResult, FillItem, L2Store } from './l2-store.js'
import { L2Trust } from './l2-trust.js'
import { Limiter } from './limiter.js'
import { type CacheOptions, type ResolvedCacheOptions, resolveOptions } from './options.js'
import { PendingDeletes } from './pending-deletes.js'
import { type CacheStats, emptyCounters } from './stats.js'

/** Loads one key from the source of truth; `undefined` means "no such thing" (cached as a miss). */
export type Loader<V> = (key: string, signal: AbortSignal) => Promise<V | undefined>

/** Loads many keys in one call; keys absent from the map do not exist (cached as misses). */
export type ManyLoader<V> = (keys: readonly string[], signal: AbortSignal) => Promise<ReadonlyMap<string, V>>

/** Per-call options. */
export interface GetOptions {
  /** The caller's deadline. Aborting stops this caller's wait, not a load others share. */
  signal?: AbortSignal | undefined
  /** Overrides `options.ttlMs` for values this call loads. */
  ttlMs?: number | undefined
  /** Overrides `options.negativeTtlMs` for misses this call loads. */
  negativeTtlMs?: number | undefined
  /**
   * Overrides `options.l1TtlMs` for what this call puts in L1: longer for values that never change once
   * written (an immutable post body), where staleness cannot arise. Concurrent callers of one key in
   * this process share one fetch; the first caller's options apply to it.
   */
  l1TtlMs?: number | undefined
  /**
   * Skip this node's L1 (and fetches already in flight here) and ask L2. For a client that has just
   * written through another node: the delete reached L2 before that write was acknowledged, but the
   * invalidation may still be on its way to this node's L1.
   */
  bypassL1?: boolean | undefined
  /**
   * Counts this call's keys served from L1 into `tally.l1Hits`: per-call figures (a request's
   * `Server-Timing`) without reading `stats()`. The caller owns and may reuse the object.
   */
  tally?: CacheTally | undefined
}

/**
 * What a call adds to `GetOptions.tally`. Only L1 is told apart: every other key was either loaded by
 * this call's loader (which the caller sees) or served from L2, stale, or by a fetch already in flight.
 */
export interface CacheTally {
  l1Hits: number
}

interface Outcome {
  found: boolean
  value: unknown
}

/** A snapshot taken before reading L2, so an invalidation that arrives meanwhile blocks the L1 fill. */
interface Mark {
  epoch: number
  version: number | undefined
}

/**
 * Creates a cache. See `Cache`.
 *
 * @example
 * const cache = createCache({ l2: redisStore({ connection: url }), bus: redisBus({ connection: url }) })
 * const user = await cache.getOrLoad(`user:${id}`, () => db.findUser(id), { signal })
 */
export function createCache(options: CacheOptions = {}): Cache {
  return new Cache(options)
}

/** One shared fetch's inputs and its results so far, handed down its steps. */
interface FetchJob<V> {
  readonly loader: ManyLoader<V>
  readonly options: GetOptions
  /** Each key's invalidation mark when the fetch began, so a fill that a delete overtook stays out of L1. */
  readonly marks: ReadonlyMap<string, Mark>
  readonly out: Map<string, Outcome>
}

/**
 * Cache-aside with leases over two tiers: L1 in this process, L2 shared (Redis or embedded).
 *
 * A miss in both tiers hands this caller a lease; only a fill carrying a still-valid lease is stored,
 * and `delete` voids outstanding leases, so a loader that read the database before a write cannot
 * store what it read after the write's delete. While one caller holds a key's lease, the others (in
 * every process) are served the stale value within grace, or wait up to `leaseWaitMs` for the fill.
 * In one process, concurrent callers of one key share one fetch.
 *
 * L2 sits behind a breaker: when it is slow or down, reads go to L1 and then to the loader under a
 * concurrency limit, and deletes are kept and replayed before L2 is used again. Past
 * `maxPendingDeletes` the oldest are dropped and counted, and L2 is distrusted until `resync()` or
 * until every value it could hold from before has expired: meanwhile each key is deleted from L2
 * before this node reads it there, so no value a lost delete should have removed is served.
 */
export class Cache {
  readonly #options: ResolvedCacheOptions
  readonly #l2: L2Store
  readonly #bus: Bus | undefined
  readonly #nodeId: string
  readonly #l1: LRUCache<string, Outcome> | undefined
  readonly #versions = new LRUCache<string, number>({ max: 100_000 })
  readonly #inflight = new Map<string, Promise<Outcome>>()
  readonly #pending: PendingDeletes
  readonly #trust: L2Trust
  readonly #breaker: Breaker
  readonly #limiter: Limiter
  readonly #life = new AbortController()
  readonly #counters = emptyCounters()
  readonly #subscribed: Promise<void>
  #unsubscribe: (() => void) | undefined
  #epoch = 0
  #tokens = 0
  /** The longest TTL this cache has written with: per-call `ttlMs` may exceed the option. */
  #longestTtlMs: number

  constructor(options: CacheOptions = {}) {
    this.#options = resolveOptions(options)
    // Every load in flight listens on the cache's own lifetime signal until it settles: many at once are
    // not a leak, so Node's warning past 10 listeners does not apply.
    setMaxListeners(0, this.#life.signal)
    this.#l2 = options.l2 ?? memoryStore()
    this.#bus = options.bus
    this.#nodeId = options.nodeId ?? randomBytes(6).toString('hex')
    const l1Max = this.#options.l1Max
    this.#l1 =
      l1Max === false ? undefined : new LRUCache<string, Outcome>({ max: l1Max, ttl: this.#options.l1TtlMs })
    this.#limiter = new Limiter(this.#options.fallbackConcurrency)
    this.#longestTtlMs = Math.max(this.#options.ttlMs, this.#options.negativeTtlMs)
    this.#pending = new PendingDeletes(this.#options.maxPendingDeletes, () => this.#deleteDropped())
    this.#trust = new L2Trust({
      nodeId: this.#nodeId,
      maxCleared: 100_000,
      maxPendingDeletes: this.#options.maxPendingDeletes,
      droppedDeletes: () => this.#counters.droppedDeletes,
      onError: this.#options.onError,
    })
    this.#breaker = new Breaker({
      failureThreshold: this.#options.breakerThreshold,
      cooldownMs: this.#options.breakerCooldownMs,
      timeoutMs: this.#options.l2TimeoutMs,
      probe: (signal) => this.#replayDeletes(signal),
      onStateChange: (state) => {
        // Whatever L1 learned while L2 was cut off may have missed invalidations: start over.
        if (state === 'closed') this.clearL1()
      },
    })
    this.#subscribed = this.#subscribe()
  }

  /** Resolves once this cache hears the bus. */
  ready(): Promise<void> {
    return this.#subscribed
  }

  /**
   * The value of `key`: from L1, from L2, or from `loader` (whose result is stored under a lease).
   * `undefined` when the loader said the key does not exist (that answer is cached too).
   * Values are shared with other callers: do not mutate them.
   */
  getOrLoad<V>(key: string, loader: Loader<V>, options: GetOptions = {}): Promise<V | undefined> {
    const hit = options.bypassL1 ? undefined : this.#l1?.get(key)
    if (hit !== undefined) {
      this.#counters.l1Hits++
      if (options.tally) options.tally.l1Hits++
      return Promise.resolve(hit.value as V | undefined)
    }
    return this.#one(key, loader, options)
  }

  /**
   * The values of `keys`, in one L2 round trip and one loader call for all misses. Keys that do not
   * exist are absent from the result.
   */
  async getManyOrLoad<V>(
    keys: readonly string[],
    loader: ManyLoader<V>,
    options: GetOptions = {},
  ): Promise<Map<string, V>> {
    const result = new Map<string, V>()
    const missing: string[] = []
    let l1Hits = 0
    for (const key of new Set(keys)) {
      const hit = options.bypassL1 ? undefined : this.#l1?.get(key)
      if (hit === undefined) missing.push(key)
      else {
        l1Hits++
        if (hit.found) result.set(key, hit.value as V)
      }
    }
    this.#counters.l1Hits += l1Hits
    if (options.tally) options.tally.l1Hits += l1Hits
    if (missing.length > 0) {
      const outcomes = await this.#resolve(missing, loader, options)
      for (const [key, outcome] of outcomes) if (outcome.found) result.set(key, outcome.value as V)
    }
    return result
  }

  /**
   * Removes keys from L1 here, from L2 (voiding outstanding leases), and from L1 on the other nodes.
   * Call it after the database write commits and before acknowledging the write. When L2 is cut
   * off, the delete is kept and replayed before L2 serves reads again; it does not throw.
   */
  async delete(
    keys: string | readonly string[],
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<void> {
    const list = typeof keys === 'string' ? [keys] : [...new Set(keys)]
    if (list.length === 0) return
    this.#invalidateLocal(list)
    try {
      await this.#breaker.execute((signal) => this.#l2.delete(list, signal), options.signal)
      if (this.#pending.size > 0) this.#replayDeletes(this.#life.signal).catch(() => {})
    } catch (err) {
      if (err instanceof CacheError && err.code === 'E_ABORTED') throw err
      this.#l2Error(err)
      for (const key of list) this.#pending.add(key)
    }
    // Again: a read that fetched the old value from L2 before the delete landed must not keep it.
    this.#invalidateLocal(list)
    if (this.#bus) {
      await this.#bus.publish({ origin: this.#nodeId, keys: list }, options.signal).catch((err: unknown) => {
        if (err instanceof CacheError && err.code === 'E_ABORTED') throw err
        this.#l2Error(err)
      })
    }
  }

  /** Empties this node's L1 (not L2). */
  clearL1(): void {
    this.#epoch++
    this.#l1?.clear()
    this.#inflight.clear()
  }

  /**
   * The full resync: empties L2 (every key of the store, for every node sharing it) and this node's
   * L1, then trusts L2 again if dropped deletes had made it distrusted (unless more were dropped
   * meanwhile). The next reads load from the source. Unlike reads it throws: `E_L2_UNAVAILABLE` while
   * the breaker has L2 cut off, `E_L2_FAILED` if L2 fails, `E_ABORTED`. Bounded by `signal` only.
   *
   * @example
   * cache.stats().l2Trusted || (await cache.resync({ signal: AbortSignal.timeout(60_000) }))
   */
  async resync(options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
    if (this.#breaker.state !== 'closed') {
      throw new CacheError('E_L2_UNAVAILABLE', 'L2 is cut off by its breaker', {
        context: { state: this.#breaker.state },
      })
    }
    const episode = this.#trust.episode
    try {
      await raceSignal(this.#l2.clear(options.signal), options.signal)
    } catch (err) {
      if (err instanceof CacheError) throw err
      throw new CacheError('E_L2_FAILED', 'L2 could not be cleared', { cause: err })
    }
    this.clearL1()
    this.#trust.resynced(episode)
  }

  stats(): CacheStats {
    return {
      ...this.#counters,
      pendingDeletes: this.#pending.size,
      l2Trusted: this.#trust.trusted,
      l1Size: this.#l1?.size ?? 0,
      breaker: this.#breaker.state,
      breakerOpened: this.#breaker.opened,
    }
  }

  /** Stops listening to the bus and abandons shared loads. The L2 store and bus stay open: close them. */
  async close(): Promise<void> {
    this.#life.abort(new CacheError('E_CACHE_CLOSED', 'the cache was closed'))
    await this.#subscribed.catch(() => {})
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  async #one<V>(key: string, loader: Loader<V>, options: GetOptions): Promise<V | undefined> {
    const many: ManyLoader<V> = async (keys, signal) => {
      const value = await loader(keys[0]!, signal)
      return value === undefined ? new Map() : new Map([[keys[0]!, value]])
    }
    const outcome = (await this.#resolve([key], many, options)).get(key)!
    return outcome.value as V | undefined
  }

  /** Joins fetches in flight for some keys and starts one shared fetch for the rest. */
  async #resolve<V>(
    keys: readonly string[],
    loader: ManyLoader<V>,
    options: GetOptions,
  ): Promise<Map<string, Outcome>> {
    if (this.#life.signal.aborted) throw new CacheError('E_CACHE_CLOSED', 'the cache was closed')
    const waits = new Map<string, Promise<Outcome>>()
    const fresh: string[] = []
    for (const key of keys) {
      const inflight = options.bypassL1 ? undefined : this.#inflight.get(key)
      if (inflight) waits.set(key, inflight)
      else fresh.push(key)
    }
    if (fresh.length > 0) {
      const work = this.#fetch(fresh, loader, options)
      for (const key of fresh) {
        const one = work.then((outcomes) => outcomes.get(key)!)
        one.catch(() => {})
        waits.set(key, one)
        this.#inflight.set(key, one)
        one
          .finally(() => {
            if (this.#inflight.get(key) === one) this.#inflight.delete(key)
          })
          .catch(() => {})
      }
    }
    const entries = [...waits]
    const outcomes = await raceSignal(Promise.all(entries.map(([, p]) => p)), options.signal)
    return new Map(entries.map(([key], i) => [key, outcomes[i]!]))
  }

  /** One shared fetch: L2 with leases, then the loader for the leased keys, waiting for the busy ones. */
  async #fetch<V>(
    keys: readonly string[],
    loader: ManyLoader<V>,
    options: GetOptions,
  ): Promise<Map<string, Outcome>> {
    const job: FetchJob<V> = {
      loader,
      options,
      marks: new Map(keys.map((key) => [key, this.#mark(key)])),
      out: new Map<string, Outcome>(),
    }
    // While L2 is trusted (nearly always) no extra await on the read path.
    const usable = this.#trust.trusted || (await this.#clearDistrusted(keys))
    const acquired = usable ? await this.#acquire(keys) : undefined
    if (!acquired) {
      await this.#fallback(keys, job)
      return job.out
    }
    const leased: { key: string; token: string }[] = []
    const busy: string[] = []
    this.#sort(keys, acquired, job, leased, busy)
    await Promise.all([this.#loadLeased(leased, job), this.#waitBusy(busy, job)])
    return job.out
  }

  /**
   * While L2 is distrusted, deletes there the keys this node has not deleted yet in this episode, so
   * what it serves next was filled after the writes whose deletes were dropped. `false`: L2 failed.
   */
  async #clearDistrusted(keys: readonly string[]): Promise<boolean> {
    const uncleared = this.#trust.uncleared(keys)
    if (uncleared.length === 0) return true
    const episode = this.#trust.episode
    try {
      await this.#breaker.execute((signal) => this.#l2.delete(uncleared, signal))
    } catch (err) {
      this.#l2Error(err)
      return false
    }
    this.#trust.cleared(uncleared, episode)
    this.#counters.distrustedKeysCleared += uncleared.length
    return true
  }

  async #acquire(keys: readonly string[]): Promise<AcquireResult[] | undefined> {
    const tokens = keys.map(() => `${this.#nodeId}:${++this.#tokens}`)
    try {
      return await this.#breaker.execute((signal) =>
        this.#l2.acquire(keys, tokens, this.#options.leaseMs, signal),
      )
    } catch (err) {
      this.#l2Error(err)
      return undefined
    }
  }

  /** Hits and stale values go to `out`; leases to `leased`; keys someone else is loading to `busy`. */
  #sort(
    keys: readonly string[],
    acquired: readonly AcquireResult[],
    { marks, out, options }: FetchJob<unknown>,
    leased: { key: string; token: string }[],
    busy: string[],
  ): void {
    keys.forEach((key, i) => {
      const result = acquired[i]!
      if (result.kind === 'hit') {
        const outcome = this.#decode(result.payload)
        this.#counters.l2Hits++
        out.set(key, outcome)
        this.#fillL1(key, outcome, marks.get(key)!, options)
      } else if (result.kind === 'lease') {
        leased.push({ key, token: result.token })
      } else if (result.stale !== undefined) {
        this.#counters.staleHits++
        out.set(key, this.#decode(result.stale))
      } else {
        busy.push(key)
      }
    })
  }

  async #loadLeased<V>(leased: readonly { key: string; token: string }[], job: FetchJob<V>): Promise<void> {
    const { loader, options, marks, out } = job
    if (leased.length === 0) return
    const values = await this.#load(
      leased.map((l) => l.key),
      loader,
    )
    const ttlMs = options.ttlMs ?? this.#options.ttlMs
    const negativeTtlMs = options.negativeTtlMs ?? this.#options.negativeTtlMs
    this.#longestTtlMs = Math.max(this.#longestTtlMs, ttlMs, negativeTtlMs)
    const fills: FillItem[] = leased.map(({ key, token }) => {
      const found = values.has(key)
      const outcome: Outcome = { found, value: values.get(key) }
      out.set(key, outcome)
      return {
        key,
        token,
        payload: this.#encode(outcome),
        ttlMs: found ? ttlMs * (1 - this.#options.jitter * Math.random()) : negativeTtlMs,
        graceMs: found ? this.#options.graceMs : 0,
      }
    })
    try {
      const stored = await this.#breaker.execute((signal) => this.#l2.fill(fills, signal))
      stored.forEach((ok, i) => {
        const key = fills[i]!.key
        if (ok) this.#fillL1(key, out.get(key)!, marks.get(key)!, options)
        else this.#counters.staleSetsRefused++
      })
    } catch (err) {
      this.#l2Error(err)
    }
  }

  /** Polls the keys others hold leases on; takes over a lease that was voided or expired. */
  async #waitBusy<V>(busy: readonly string[], job: FetchJob<V>): Promise<void> {
    if (busy.length === 0) return
    this.#counters.leaseWaits += busy.length
    const deadline = Date.now() + this.#options.leaseWaitMs
    let pending = busy
    let delay = 2
    while (pending.length > 0 && Date.now() < deadline) {
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), undefined, {
        signal: this.#life.signal,
      })
      delay = Math.min(delay * 2, 50)
      const acquired = await this.#acquire(pending)
      if (!acquired) break
      const leased: { key: string; token: string }[] = []
      const still: string[] = []
      this.#sort(pending, acquired, job, leased, still)
      await this.#loadLeased(leased, job)
      pending = still
    }
    if (pending.length === 0) return
    // The holder is slow or gone (or L2 went away): load without storing, under the fallback limit.
    this.#counters.leaseTimeouts += pending.length
    const values = await this.#limiter.run(() => this.#load(pending, job.loader), this.#life.signal)
    for (const key of pending) job.out.set(key, { found: values.has(key), value: values.get(key) })
  }

  /** L2 is cut off: the loader, under the concurrency limit; L1 keeps what it loads. */
  async #fallback<V>(keys: readonly string[], { loader, marks, out, options }: FetchJob<V>): Promise<void> {
    this.#counters.fallbackLoads++
    const values = await this.#limiter.run(() => this.#load(keys, loader), this.#life.signal)
    for (const key of keys) {
      const outcome = { found: values.has(key), value: values.get(key) }
      out.set(key, outcome)
      this.#fillL1(key, outcome, marks.get(key)!, options)
    }
  }

  async #load<V>(keys: readonly string[], loader: ManyLoader<V>): Promise<ReadonlyMap<string, V>> {
    this.#counters.loads++
    this.#counters.misses += keys.length
    try {
      return await loader(keys, this.#life.signal)
    } catch (err) {
      this.#counters.loadErrors++
      throw err
    }
  }

  #fillL1(key: string, outcome: Outcome, mark: Mark, options: GetOptions): void {
    if (!this.#l1 || mark.epoch !== this.#epoch || mark.version !== this.#versions.get(key)) return
    const l1TtlMs = options.l1TtlMs ?? this.#options.l1TtlMs
    const ttl = outcome.found ? l1TtlMs : Math.min(l1TtlMs, this.#options.negativeTtlMs)
    this.#l1.set(key, outcome, { ttl })
  }

  #mark(key: string): Mark {
    return { epoch: this.#epoch, version: this.#versions.get(key) }
  }

  #invalidateLocal(keys: readonly string[]): void {
    for (const key of keys) {
      this.#versions.set(key, (this.#versions.get(key) ?? 0) + 1)
      this.#l1?.delete(key)
      // Later callers must not join a fetch that may have read the old value.
      this.#inflight.delete(key)
    }
  }

  /**
   * A pending delete was dropped: L2 may hold that key's old value until it expires. Any value L2
   * holds now was written at most a lease before the drop, with at most the longest TTL plus grace.
   */
  #deleteDropped(): void {
    this.#counters.droppedDeletes++
    this.#trust.distrust(this.#longestTtlMs + this.#options.graceMs + this.#options.leaseMs)
  }

  /** The breaker's probe: the deletes L2 missed, replayed before it serves reads again. */
  async #replayDeletes(signal: AbortSignal): Promise<void> {
    if (this.#pending.size === 0) {
      await this.#l2.peek([`${this.#nodeId}:probe`], signal)
      return
    }
    while (this.#pending.size > 0) {
      const batch = this.#pending.oldest(500)
      await this.#l2.delete(batch.keys, signal)
      this.#pending.settle(batch)
    }
  }

  async #subscribe(): Promise<void> {
    if (!this.#bus) return
    try {
      this.#unsubscribe = await this.#bus.subscribe(
        (message) => {
          if (message.origin === this.#nodeId) return
          this.#counters.invalidationsReceived++
          this.#invalidateLocal(message.keys)
        },
        () => this.clearL1(),
      )
    } catch (err) {
      this.#l2Error(err)
    }
  }

  #encode(outcome: Outcome): string {
    return outcome.found ? `v${this.#options.serializer.serialize(outcome.value)}` : 'n'
  }

  #decode(payload: string): Outcome {
    return payload === 'n'
      ? { found: false, value: undefined }
      : { found: true, value: this.#options.serializer.deserialize(payload.slice(1)) }
  }

  #l2Error(err: unknown): void {
    this.#counters.l2Errors++
    this.#options.onError?.(err)
  }
}

function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  if (signal.aborted) return Promise.reject(abortError(signal))
  let onAbort = () => {}
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort))
}
