import { performance } from 'node:perf_hooks'
import { abortedError, IdError } from '../../errors.js'
import { MAX_WORKER_ID } from '../../layout.js'
import type { AcquireRequest, LeaseGrant, LeaseKey, LeaseStore } from '../../lease/lease-store.js'
import { checkFunction } from '../../validate.js'

/** Options of {@link MemoryLeaseStore}. */
export interface MemoryLeaseStoreOptions {
  /**
   * The store's clock in ms (any origin, never stepping back); inject one in tests.
   * @default performance.now
   */
  now?: () => number
}

interface Row {
  holder: string | undefined
  fencingToken: number
  // undefined: never leased; otherwise when the lease ends (or ended).
  expiresAt: number | undefined
  lastTimestamp: number
}

/**
 * A {@link LeaseStore} in process memory: the embedded default and the tests' store. It coordinates the
 * generators of one process only; processes that share worker ids need `pgLeaseStore`.
 *
 * @example
 * const lease = await acquireWorkerLease({ store: memoryLeaseStore(), ttlMs: 10_000 })
 * const ids = lease.generator()
 */
export function memoryLeaseStore(options: MemoryLeaseStoreOptions = {}): MemoryLeaseStore {
  return new MemoryLeaseStore(options)
}

/** The class behind {@link memoryLeaseStore}. */
export class MemoryLeaseStore implements LeaseStore {
  readonly name = 'memory'
  readonly #now: () => number
  readonly #rows: Row[] = Array.from({ length: MAX_WORKER_ID + 1 }, () => ({
    holder: undefined,
    fencingToken: 0,
    expiresAt: undefined,
    lastTimestamp: 0,
  }))
  #tokens = 0

  constructor(options: MemoryLeaseStoreOptions = {}) {
    this.#now = checkFunction(options.now ?? performance.now.bind(performance), 'options.now', 'returning ms')
  }

  async acquire(request: AcquireRequest, signal?: AbortSignal): Promise<LeaseGrant | undefined> {
    if (signal?.aborted) throw abortedError(signal)
    const now = this.#now()
    const free = (row: Row): boolean =>
      row.expiresAt === undefined || row.expiresAt + request.quarantineMs <= now
    let chosen: number | undefined
    const hinted = request.hint === undefined ? undefined : this.#rows[request.hint]
    if (hinted && free(hinted)) chosen = request.hint
    else {
      // Never-used ids first, then the one that has rested longest: a reused id gets the widest margin.
      let best = Number.POSITIVE_INFINITY
      for (let workerId = 0; workerId <= MAX_WORKER_ID; workerId++) {
        const row = this.#rows[workerId]!
        if (!free(row)) continue
        const endedAt = row.expiresAt ?? Number.NEGATIVE_INFINITY
        if (endedAt < best) {
          best = endedAt
          chosen = workerId
        }
      }
    }
    if (chosen === undefined) return undefined
    const row = this.#rows[chosen]!
    const previous = row.lastTimestamp
    row.holder = request.holder
    row.fencingToken = ++this.#tokens
    row.expiresAt = now + request.ttlMs
    row.lastTimestamp = Math.max(previous, request.issueUntil)
    return {
      workerId: chosen,
      fencingToken: row.fencingToken,
      holder: request.holder,
      lastTimestamp: previous,
    }
  }

  async renew(
    key: LeaseKey,
    update: { ttlMs: number; issueUntil: number },
    signal?: AbortSignal,
  ): Promise<void> {
    if (signal?.aborted) throw abortedError(signal)
    const row = this.#held(key)
    const now = this.#now()
    if (!row || row.expiresAt === undefined || row.expiresAt <= now) {
      throw new IdError('E_LEASE_LOST', `worker id ${key.workerId} is no longer held by this lease`, {
        workerId: key.workerId,
        fencingToken: key.fencingToken,
      })
    }
    row.expiresAt = now + update.ttlMs
    row.lastTimestamp = Math.max(row.lastTimestamp, update.issueUntil)
  }

  async release(key: LeaseKey, lastTimestamp: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortedError(signal)
    const row = this.#held(key)
    if (!row) return
    row.holder = undefined
    row.expiresAt = Math.min(row.expiresAt ?? Number.POSITIVE_INFINITY, this.#now())
    row.lastTimestamp = lastTimestamp
  }

  async close(): Promise<void> {}

  #held(key: LeaseKey): Row | undefined {
    const row = this.#rows[key.workerId]
    return row && row.holder === key.holder && row.fencingToken === key.fencingToken ? row : undefined
  }
}
