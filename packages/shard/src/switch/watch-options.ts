import { hostname } from 'node:os'
import { ShardError } from '../errors.js'
import type { ShardMap } from '../map/shard-map.js'
import { databaseUrl } from '../router/default-connect.js'

/** Options of `watchShardMap`. Every default is in `watchShardMapDefaults`. */
export interface WatchShardMapOptions {
  /**
   * `postgres://…` of the control database, where `hf_shard_map` is stored and switches are announced
   * (and `hf_reshard` lives). @default database 0 of the router's map (on its server's primary)
   */
  connection?: string
  /** How the router shows in switch reports and `reshard status`. @default `<hostname>:<pid>` */
  name?: string
  /**
   * A router whose heartbeat is older than this is taken for dead: a cutover goes on without it. The
   * router holds its own writes before that (at `leaseMs - heartbeatMs` without a renewal), so a
   * router cut off from the control database never writes to a layout it may have missed. @default 5000
   */
  leaseMs?: number
  /** How often the router renews its lease; at most `leaseMs / 3`. @default 1000 */
  heartbeatMs?: number
  /**
   * A switch's hold that lasts this much longer than the coordinator announced is given up by the
   * router (the coordinator is gone): unless the switch passed its point of no return, the router
   * releases its writes on the old map. @default 2000
   */
  holdGraceMs?: number
  /** Stops watching, as `stop()`. */
  signal?: AbortSignal
}

/**
 * The defaults of `WatchShardMapOptions`.
 *
 * @example
 * watchShardMapDefaults.leaseMs // 5000
 */
export const watchShardMapDefaults = Object.freeze({
  leaseMs: 5000,
  heartbeatMs: 1000,
  holdGraceMs: 2000,
})

/** `WatchShardMapOptions` validated, defaults applied. @internal */
export interface ResolvedWatchOptions {
  readonly connection: string
  readonly name: string
  readonly leaseMs: number
  readonly heartbeatMs: number
  readonly holdGraceMs: number
  readonly signal: AbortSignal | undefined
}

/** Applies defaults and checks every option, naming the bad one. @internal */
export function resolveWatchOptions(map: ShardMap, options: WatchShardMapOptions): ResolvedWatchOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('options', 'must be an object', options)
  }
  const first = map.databases[0]!
  const o = {
    ...watchShardMapDefaults,
    connection: databaseUrl(first.server.primary, first.name),
    name: `${hostname()}:${process.pid}`,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  } as Required<Omit<WatchShardMapOptions, 'signal'>>
  if (typeof o.connection !== 'string' || !/^postgres(ql)?:\/\//.test(o.connection)) {
    throw invalid('options.connection', 'must be a postgres:// url', o.connection)
  }
  if (typeof o.name !== 'string' || o.name === '' || o.name.length > 200) {
    throw invalid('options.name', 'must be a non-empty string of at most 200 characters', o.name)
  }
  for (const name of ['leaseMs', 'heartbeatMs', 'holdGraceMs'] as const) {
    if (!Number.isInteger(o[name]) || o[name] <= 0) {
      throw invalid(`options.${name}`, 'must be a positive integer (ms)', o[name])
    }
  }
  if (o.heartbeatMs * 3 > o.leaseMs) {
    throw invalid('options.heartbeatMs', 'must be at most options.leaseMs / 3', o.heartbeatMs)
  }
  return Object.freeze({
    connection: o.connection,
    name: o.name,
    leaseMs: o.leaseMs,
    heartbeatMs: o.heartbeatMs,
    holdGraceMs: o.holdGraceMs,
    signal: options.signal,
  })
}

function invalid(option: string, problem: string, value: unknown): ShardError {
  return new ShardError('E_INVALID_OPTION', `${option} ${problem}`, { option, value })
}
