/**
 * The `diagnostics_channel` events of bulkheads and worker pools, each on `hundredfold:guard:<event>`:
 *
 * - `bulkhead-full` {@link BulkheadFullEvent}: a call was refused with `E_BULKHEAD_FULL`.
 * - `queue-timeout` {@link QueueTimeoutEvent}: a call waited `queueTimeoutMs` and failed with `E_QUEUE_TIMEOUT`.
 *
 * @example
 * import * as diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe(BULKHEAD_CHANNELS.full, (event) => log.warn(event, 'bulkhead full'))
 */
export const BULKHEAD_CHANNELS = Object.freeze({
  full: 'hundredfold:guard:bulkhead-full',
  queueTimeout: 'hundredfold:guard:queue-timeout',
})

/** What `bulkhead-full` carries. */
export interface BulkheadFullEvent {
  policy: string
  inFlight: number
  queued: number
  maxQueued: number
}

/** What `queue-timeout` carries. */
export interface QueueTimeoutEvent {
  policy: string
  waitedMs: number
  queueTimeoutMs: number
}
