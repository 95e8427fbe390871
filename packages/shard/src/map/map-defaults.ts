/**
 * The defaults of a shard map document.
 *
 * @example
 * shardMapDefaults.databases // 16
 */
export const shardMapDefaults = Object.freeze({
  /** `databases.count` */
  databases: 16,
  /** `databases.name` */
  databaseName: '<name>_<dd>',
  /** `databases.servers` */
  databaseServers: 'round-robin' as const,
  /** `tables.<t>.tables` of hash, lookup and keyed range rules */
  tables: 64,
  /** `tables.<t>.ahead` of range rules */
  ahead: 3,
})
