export {
  type CallOptions,
  Cluster,
  type ClusterOptions,
  type ClusterStats,
  createCluster,
  type Transaction,
} from './cluster.js'
export type { Driver, DriverConnection, QueryResult } from './driver.js'
export { PgError, type PgErrorCode } from './errors.js'
export { Pool, type PoolOptions, type PoolStats, poolDefaults } from './pool.js'
