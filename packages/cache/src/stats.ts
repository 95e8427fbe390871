import type { BreakerState } from './breaker.js'

/** Counters since the cache was created, and the breaker's state. For `/metrics`. */
export interface CacheStats {
  /** Keys served from L1. */
  l1Hits: number
  /** Keys served fresh from L2. */
  l2Hits: number
  /** Keys served stale (within grace) while another caller held the lease. */
  staleHits: number
  /** Keys that went to the loader. */
  misses: number
  /** Loader calls (a multi-get loads many keys in one call). */
  loads: number
  /** Loader calls that threw. */
  loadErrors: number
  /** Loads that ran because L2 was cut off (under `fallbackConcurrency`). */
  fallbackLoads: number
  /** Keys that waited on another caller's lease. */
  leaseWaits: number
  /** Keys whose wait ran out, so the caller loaded them itself without storing. */
  leaseTimeouts: number
  /** Fills refused because a delete voided the lease: each one a stale set prevented. */
  staleSetsRefused: number
  /** Failed L2 and bus calls, including those refused by the open breaker. */
  l2Errors: number
  /** Invalidations received from other nodes. */
  invalidationsReceived: number
  /** Deletes L2 has not yet seen (it was cut off); replayed before it is used again. */
  pendingDeletes: number
  /**
   * Pending deletes dropped because more than `maxPendingDeletes` were waiting: each one a key L2 may
   * still hold stale, which is why L2 is then distrusted (`l2Trusted`).
   */
  droppedDeletes: number
  /**
   * `false` after a dropped delete, until `resync()` or until every value L2 could hold from before has
   * expired: meanwhile no L2 value is served that this node has not deleted first (each key goes to the
   * loader once).
   */
  l2Trusted: boolean
  /** Keys deleted from L2 before this node read them there, because L2 was distrusted. */
  distrustedKeysCleared: number
  /** Entries in L1 now. */
  l1Size: number
  breaker: BreakerState
  /** How many times the breaker has opened. */
  breakerOpened: number
}

export type CounterName = Exclude<
  keyof CacheStats,
  'breaker' | 'breakerOpened' | 'pendingDeletes' | 'l1Size' | 'l2Trusted'
>

export function emptyCounters(): Record<CounterName, number> {
  return {
    l1Hits: 0,
    l2Hits: 0,
    staleHits: 0,
    misses: 0,
    loads: 0,
    loadErrors: 0,
    fallbackLoads: 0,
    leaseWaits: 0,
    leaseTimeouts: 0,
    staleSetsRefused: 0,
    l2Errors: 0,
    invalidationsReceived: 0,
    droppedDeletes: 0,
    distrustedKeysCleared: 0,
  }
}
