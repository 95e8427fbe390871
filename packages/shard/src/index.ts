export { type CliIo, runCli } from './cli/run-cli.js'
export { type CreateDatabasesOptions, type CreatedDatabase, createDatabases } from './ddl/create-databases.js'
export { formatMigrationReport, formatStep } from './ddl/format-report.js'
export { type MigrateOptions, type MigrationReport, migrate } from './ddl/migrate.js'
export type { Migration } from './ddl/migration.js'
export type { MigrationStep } from './ddl/migration-plan.js'
export { migrationTableSql } from './ddl/migration-records.js'
export { loadMigrationsDir } from './ddl/migrations-dir.js'
export { ShardError, type ShardErrorCode, type ShardErrorContext } from './errors.js'
export { type ShardHashSql, shardHashSql } from './map/hash-sql.js'
export { shardMapDefaults } from './map/map-defaults.js'
export type { NamingScope } from './map/naming-scope.js'
export { type ShardKey, shardHash, shardIndexes, shardKeyText } from './map/shard-hash.js'
export type { ShardLocation } from './map/shard-location.js'
export { parseShardMap, ShardMap, type ShardMapDatabase } from './map/shard-map.js'
export type {
  BroadcastRuleDocument,
  HashRuleDocument,
  LookupRuleDocument,
  RangeInterval,
  RangeRuleDocument,
  ShardDatabasesDocument,
  ShardMapDocument,
  ShardServerDocument,
  TableRuleDocument,
} from './map/shard-map-document.js'
export {
  loadShardMap,
  loadShardMapFile,
  type PgQueryable,
  saveShardMap,
  shardMapTableSql,
} from './map/shard-map-store.js'
export type {
  BroadcastRule,
  HashRule,
  LookupRule,
  RangeRule,
  ShardServer,
  TableRule,
} from './map/table-rule.js'
export {
  type EnsurePeriodsOptions,
  type EnsurePeriodsReport,
  ensurePeriods,
  loadPeriods,
} from './range/ensure-periods.js'
export { parsePeriodName, periodName, periodOf, periodStart } from './range/period.js'
export { RangePeriods } from './range/range-periods.js'
export * from './reshard/index.js'
export { BroadcastHandle } from './router/broadcast-handle.js'
export { databaseUrl, pgConnect } from './router/default-connect.js'
export type { ShardQueryTarget, TargetsOptions } from './router/query-targets.js'
export { type ConnectShard, type ShardRouterOptions, shardRouterDefaults } from './router/router-options.js'
export { ShardHandle, type ShardStatements, type ShardTransaction } from './router/shard-handle.js'
export { createShardRouter, type ShardDatabase, ShardRouter } from './router/shard-router.js'
export type { WriteHold } from './router/write-gate.js'
export * from './scatter/index.js'
export * from './switch/index.js'
