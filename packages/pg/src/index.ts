export {
  type CallOptions,
  Cluster,
  type ClusterOptions,
  type ClusterStats,
  createCluster,
  type ReservedSession,
  type RoutingOptions,
  routingDefaults,
  type Transaction,
} from './cluster.js'
export type { Driver, DriverConnection, QueryResult, RowMode } from './driver.js'
export { PgError, type PgErrorCode } from './errors.js'
export type { HostRole, HostStats } from './host.js'
export { formatLsn, parseLsn } from './lsn.js'
export { Pool, type PoolOptions, type PoolStats, poolDefaults } from './pool.js'
export {
  type AsPoolOptions,
  asPool,
  isReadOnly,
  type PgLikeClient,
  type PgLikePool,
  type PgLikeResult,
  type PgQueryConfig,
} from './pool-facade.js'
export { Session } from './session.js'
