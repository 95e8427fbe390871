export {
  type CallOptions,
  Cluster,
  type ClusterOptions,
  type ClusterStats,
  createCluster,
  type RoutingOptions,
  routingDefaults,
  type Transaction,
} from './cluster.js'
export type { Driver, DriverConnection, QueryResult } from './driver.js'
export { PgError, type PgErrorCode } from './errors.js'
export type { HostRole, HostStats } from './host.js'
export { formatLsn, parseLsn } from './lsn.js'
export { Pool, type PoolOptions, type PoolStats, poolDefaults } from './pool.js'
export { Session } from './session.js'
