/**
 * The shard map as JSON: where every logical table's rows live. Stored in a file or in the
 * `hf_shard_map` table; `parseShardMap` validates it and fills in the defaults.
 *
 * @example
 * const document: ShardMapDocument = {
 *   version: 1,
 *   name: 'app',
 *   servers: { a: { primary: 'postgres://app@10.0.0.1:5432' }, b: { primary: 'postgres://app@10.0.0.2:5432' } },
 *   databases: { count: 16 },
 *   tables: { users: { type: 'hash', key: 'user_id', binding: 'user' } },
 * }
 */
export interface ShardMapDocument {
  /** Increments on every change; a router only swaps to a newer map. A positive integer. */
  version: number
  /** Put into database names (`<name>` in `databases.name`). A lowercase identifier. */
  name: string
  /** PostgreSQL servers by name; each url names no database (the map's databases are created on them). */
  servers: Record<string, ShardServerDocument>
  databases?: ShardDatabasesDocument
  /** A rule per logical table. */
  tables: Record<string, TableRuleDocument>
}

/** One PostgreSQL server: its primary, and streaming replicas that serve reads. */
export interface ShardServerDocument {
  /** `postgres://user@host:port` — no database name. */
  primary: string
  replicas?: string[]
}

/** How many physical databases there are, what they are called and which server holds each. */
export interface ShardDatabasesDocument {
  /** @default 16 */
  count?: number
  /** `<name>` is the map's name, `<dd>` the index zero-padded to two digits (more past 100). @default '<name>_<dd>' */
  name?: string
  /** `'round-robin'` over the servers in the order written, or one server name per database. @default 'round-robin' */
  servers?: 'round-robin' | string[]
}

/** Spread by the hash of `key`: database `lo % databases`, table `hi % tables` (see `shardHash`). */
export interface HashRuleDocument {
  type: 'hash'
  /** The shard-key column. */
  key: string
  /** Physical tables per database. @default 64 */
  tables?: number
  /** Tables of one binding group are placed alike (same key → same database and table index) and may meet in one statement. */
  binding?: string
}

/** The length of one range period. Periods are UTC; weeks start on Monday. */
export type RangeInterval = 'year' | 'month' | 'week' | 'day'

/**
 * Data listed by time: one physical table per period (`posts_07_202612`), made `ahead` periods in
 * advance by `ensurePeriods`. With `key`, each period is spread like a hash table; without, each
 * period is one table in the first database (`audit_202612`).
 */
export interface RangeRuleDocument {
  type: 'range'
  /** The hash key choosing database and table index. @default none (not spread) */
  key?: string
  /** The column whose time picks the period. */
  rangeColumn: string
  interval: RangeInterval
  /** Periods made ahead of the current one. @default 3 */
  ahead?: number
  /** The first period to make (an ISO date such as `2026-01-01`); later periods are made as time passes. @default the current period */
  from?: string
  /** Physical tables per database and period (only with `key`). @default 64 */
  tables?: number
  /** As for hash rules (only with `key`). */
  binding?: string
}

/**
 * A mapping from a column that is not a shard key to the shard key of `target` (`username → user_id`),
 * itself spread by the hash of `key`. Its physical tables need columns `key` (unique) and `value`.
 */
export interface LookupRuleDocument {
  type: 'lookup'
  /** The looked-up column (and this table's own hash key). */
  key: string
  /** The column holding the target's shard key. */
  value: string
  /** The logical table whose shard key `value` holds (a hash table, or a range table with a key). */
  target: string
  /** @default 64 */
  tables?: number
}

/** Copied to every database: writes go to all of them (not atomically), reads to any. */
export interface BroadcastRuleDocument {
  type: 'broadcast'
}

/** The rule of one logical table, as written in the document. */
export type TableRuleDocument =
  | HashRuleDocument
  | RangeRuleDocument
  | LookupRuleDocument
  | BroadcastRuleDocument
