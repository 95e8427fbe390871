export {
  type CallOptions,
  Cluster,
  type ClusterOptions,
  type ClusterStats,
  createCluster,
  type ReservedSession,
  type Transaction,
} from './cluster.js'
export { type AsPoolOptions, asPool, ClusterPool } from './cluster-pool.js'
export { ClusterPoolClient } from './cluster-pool-client.js'
export type * from './driver.js'
export { PgError, type PgErrorCode } from './errors.js'
export type { HostRole, HostStats } from './host.js'
export { formatLsn, parseLsn } from './lsn.js'
export { Pool, type PoolOptions, type PoolStats, poolDefaults } from './pool.js'
export {
  isReadOnly,
  type PgLikeClient,
  type PgLikePool,
  type PgLikeResult,
  type PgQueryConfig,
} from './pool-facade.js'
export { type RoutingOptions, routingDefaults } from './routing-options.js'
export { Session } from './session.js'
