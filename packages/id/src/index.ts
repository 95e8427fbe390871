export { type ClockBackwardsEvent, ID_CHANNELS, type LeaseEvent } from './channels.js'
export { type DecodedId, type DecodeOptions, decode, parseId } from './decode.js'
export {
  MemoryLeaseStore,
  type MemoryLeaseStoreOptions,
  memoryLeaseStore,
} from './drivers/memory/index.js'
export { IdError, type IdErrorCode, type IdErrorContext } from './errors.js'
export {
  DEFAULT_EPOCH,
  MAX_ID,
  MAX_SEQUENCE,
  MAX_TIMESTAMP,
  MAX_WORKER_ID,
  SEQUENCE_BITS,
  TIMESTAMP_BITS,
  TIMESTAMP_SHIFT,
  WORKER_ID_BITS,
  WORKER_ID_SHIFT,
} from './layout.js'
export type { AcquireRequest, LeaseGrant, LeaseKey, LeaseStore } from './lease/lease-store.js'
export {
  acquireWorkerLease,
  statefulSetOrdinal,
  WorkerLease,
  type WorkerLeaseOptions,
} from './lease/worker-lease.js'
export {
  type IssueGuard,
  MAX_BATCH,
  MAX_TOLERATED_BACKWARDS_MS,
  SEQUENCE_OFFSET_RANGE,
  Snowflake,
  type SnowflakeOptions,
  type SnowflakeStats,
} from './snowflake.js'
