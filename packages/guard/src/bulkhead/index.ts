export { Bulkhead, type BulkheadStats, bulkhead } from './bulkhead.js'
export { BULKHEAD_CHANNELS, type BulkheadFullEvent, type QueueTimeoutEvent } from './bulkhead-events.js'
export { type BulkheadOptions, bulkheadDefaults } from './bulkhead-options.js'
export {
  type WorkerPool,
  WorkerPoolBulkhead,
  type WorkerPoolBulkheadOptions,
  workerPoolBulkhead,
  workerPoolBulkheadDefaults,
} from './worker-pool.js'
