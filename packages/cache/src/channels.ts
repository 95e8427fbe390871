import * as diagnostics from 'node:diagnostics_channel'

/**
 * `diagnostics_channel` names this package publishes on. Subscribe to observe without a logger:
 *
 * - `hundredfold:cache:l2-trust` `{ nodeId, trusted, reason: 'deletes-dropped' | 'expired' | 'resync', droppedDeletes, untrustedUntil }`
 *   — L2 distrusted because pending deletes were dropped, and trusted again.
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(CACHE_CHANNELS.l2Trust, (event) => log.warn(event, 'cache L2 trust changed'))
 */
export const CACHE_CHANNELS = Object.freeze({
  l2Trust: 'hundredfold:cache:l2-trust',
})

/** What `hundredfold:cache:l2-trust` carries. */
export interface L2TrustEvent {
  nodeId: string
  /** `false`: L2 reads are no longer served as they are; `true`: they are again. */
  trusted: boolean
  /**
   * `deletes-dropped`: more than `maxPendingDeletes` deletes waited and the oldest were dropped;
   * `expired`: every value L2 could hold from before the last drop has expired; `resync`: `resync()` emptied L2.
   */
  reason: 'deletes-dropped' | 'expired' | 'resync'
  /** Deletes dropped since the cache was created. */
  droppedDeletes: number
  /** Until when (unix ms) L2 is distrusted unless resynced; 0 once trusted. */
  untrustedUntil: number
}

/** @internal */
export const l2TrustChannel = diagnostics.channel(CACHE_CHANNELS.l2Trust)
