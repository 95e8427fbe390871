import type { Registry } from '@hundredfold/metrics'
import type { Cluster, PoolOptions, RoutingOptions } from '@hundredfold/pg'
import { ShardError } from '../errors.js'
import type { ShardMap } from '../map/shard-map.js'
import type { ShardMapDocument } from '../map/shard-map-document.js'
import type { ShardServer } from '../map/table-rule.js'

/** Opens the cluster of one physical database on a server (`createCluster` of `@hundredfold/pg`). */
export type ConnectShard = (server: ShardServer, database: string) => Cluster

/** Options of `createShardRouter`. Every default is in `shardRouterDefaults`. */
export interface ShardRouterOptions {
  /** The shard map: parsed (`parseShardMap`), or a document / JSON text to parse. Required. */
  map: ShardMap | ShardMapDocument | string
  /** Opens one physical database's cluster. @default pgConnect({ pool, routing }): node-postgres, primary + replicas of the server */
  connect?: ConnectShard
  /** `'refuse'` makes `targets()` (every fan-out) fail with `E_SCATTER_REFUSED`. @default 'allow' */
  scatter?: 'allow' | 'refuse'
  /** Pool options of each physical database's cluster (default `connect` only). @default @hundredfold/pg's */
  pool?: PoolOptions
  /** Replica routing of each cluster (default `connect` only). @default @hundredfold/pg's */
  routing?: RoutingOptions
  /** A registry of `@hundredfold/metrics` for per-database counters, latency and range horizons. @default none */
  metrics?: Registry
  /** The `router` label on metrics, to tell routers sharing a registry apart. @default 'default' */
  name?: string
  /** `shard_range_horizon_alarm` is 1 while a range table has fewer periods made ahead than this. @default 1 */
  horizonAlarm?: number
  /** The clock of range horizons, in ms since the epoch (tests). @default Date.now */
  now?: () => number
  /** Distinct statements whose rewrites are cached before the cache starts over. @default 10_000 */
  maxCachedStatements?: number
}

/**
 * The defaults of `ShardRouterOptions`.
 *
 * @example
 * shardRouterDefaults.scatter // 'allow'
 */
export const shardRouterDefaults = Object.freeze({
  scatter: 'allow' as 'allow' | 'refuse',
  name: 'default',
  horizonAlarm: 1,
  now: Date.now,
  maxCachedStatements: 10_000,
})

/** `ShardRouterOptions` validated, defaults applied. @internal */
export interface ResolvedRouterOptions {
  readonly connect: ConnectShard | undefined
  readonly scatter: 'allow' | 'refuse'
  readonly pool: PoolOptions | undefined
  readonly routing: RoutingOptions | undefined
  readonly metrics: Registry | undefined
  readonly name: string
  readonly horizonAlarm: number
  readonly now: () => number
  readonly maxCachedStatements: number
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveRouterOptions(options: ShardRouterOptions): ResolvedRouterOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'createShardRouter(options) takes an object such as { map }', options)
  }
  if (options.map === undefined) throw invalid('options.map', 'is required: a shard map', options.map)
  const o = { ...shardRouterDefaults, ...stripUndefined(options) }
  if (options.connect !== undefined && typeof options.connect !== 'function') {
    throw invalid('options.connect', 'must be a function (server, database) => Cluster', options.connect)
  }
  if (o.scatter !== 'allow' && o.scatter !== 'refuse') {
    throw invalid('options.scatter', "must be 'allow' or 'refuse'", o.scatter)
  }
  if (options.metrics !== undefined && typeof options.metrics?.counter !== 'function') {
    throw invalid('options.metrics', 'must be a Registry of @hundredfold/metrics', options.metrics)
  }
  if (typeof o.name !== 'string' || o.name === '')
    throw invalid('options.name', 'must be a non-empty string', o.name)
  if (!Number.isInteger(o.horizonAlarm) || o.horizonAlarm < 0) {
    throw invalid('options.horizonAlarm', 'must be an integer ≥ 0', o.horizonAlarm)
  }
  if (typeof o.now !== 'function') throw invalid('options.now', 'must be a function returning ms', o.now)
  if (!Number.isInteger(o.maxCachedStatements) || o.maxCachedStatements < 1) {
    throw invalid('options.maxCachedStatements', 'must be a positive integer', o.maxCachedStatements)
  }
  for (const name of ['pool', 'routing'] as const) {
    const value = options[name]
    if (value !== undefined && (typeof value !== 'object' || value === null)) {
      throw invalid(`options.${name}`, 'must be an object', value)
    }
  }
  return Object.freeze({
    connect: options.connect,
    scatter: o.scatter,
    pool: options.pool,
    routing: options.routing,
    metrics: options.metrics,
    name: o.name,
    horizonAlarm: o.horizonAlarm,
    now: o.now,
    maxCachedStatements: o.maxCachedStatements,
  })
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, problem: string, value: unknown): ShardError {
  return new ShardError('E_INVALID_OPTION', `${option} ${problem}`, { option, value })
}
