import type { CallOptions, Cluster } from '@hundredfold/pg'
import { mapChangedError, ShardError } from '../errors.js'
import type { ShardKey } from '../map/shard-hash.js'
import { parseShardMap, type ShardMap, type ShardMapDatabase } from '../map/shard-map.js'
import type { ShardServer } from '../map/table-rule.js'
import { periodOf } from '../range/period.js'
import { RangePeriods } from '../range/range-periods.js'
import { BroadcastHandle } from './broadcast-handle.js'
import { pgConnect } from './default-connect.js'
import { linkKey, lookupKey, lookupRule, unlinkKey } from './lookup.js'
import { queryTargets, type ShardQueryTarget, type TargetsOptions } from './query-targets.js'
import {
  type ConnectShard,
  type ResolvedRouterOptions,
  resolveRouterOptions,
  type ShardRouterOptions,
} from './router-options.js'
import { ShardHandle, type ShardTransaction } from './shard-handle.js'
import { type HorizonReading, ShardMetrics } from './shard-metrics.js'
import { type RetiredListener, ShardRuntime } from './shard-runtime.js'
import { WriteGate, type WriteHold } from './write-gate.js'

/** A physical database and its cluster. */
export interface ShardDatabase extends ShardMapDatabase {
  readonly cluster: Cluster
}

/**
 * Routes statements to the physical database and table of a key, by a shard map. One cluster of
 * `@hundredfold/pg` per physical database, opened on first use. Single-shard work only: a transaction
 * stays in one database (`E_CROSS_SHARD` otherwise), and fan-out goes through `targets()` (refused with
 * `scatter: 'refuse'`).
 *
 * @example
 * const router = createShardRouter({ map: await loadShardMapFile('shard-map.json') })
 * const user = router.shard('users', userId)
 * const { rows } = await user.read('SELECT name FROM {users} WHERE user_id = $1', [userId], { signal })
 * await router.end()
 */
export class ShardRouter {
  /** What this router knows of the range tables' periods (see `ensurePeriods`). */
  readonly periods = new RangePeriods()
  /** Opens the cluster of a database on a server: the `connect` this router was made with. */
  readonly connect: ConnectShard
  readonly #options: ResolvedRouterOptions
  readonly #metrics: ShardMetrics | undefined
  readonly #clusters = new Map<string, Cluster>()
  #runtime: ShardRuntime
  readonly #gate = new WriteGate()
  #broadcasts = new Map<string, BroadcastHandle>()
  #targets = new Map<string, { version: number; targets: readonly ShardQueryTarget[] }>()
  /** Shared with every runtime, so handles of earlier maps stop too. */
  readonly #state = { ended: false, dropped: new WeakSet<Cluster>() }
  /**
   * Superseded runtimes with statements running, and the clusters newer maps dropped: ended once none
   * runs (a runtime that runs something again comes back in before it can reach a cluster).
   */
  readonly #draining = new Set<ShardRuntime>()
  readonly #retired: RetiredListener = {
    busy: (runtime) => this.#draining.add(runtime),
    idle: () => this.#endDropped(),
  }
  #toEnd: Cluster[] = []
  readonly #keyOf = new WeakMap<Cluster, string>()

  constructor(options: ShardRouterOptions) {
    this.#options = resolveRouterOptions(options)
    this.connect =
      this.#options.connect ?? pgConnect({ pool: this.#options.pool, routing: this.#options.routing })
    // The map first: a router whose map is refused must not have joined a registry's scrapes.
    const map = parseShardMap(options.map)
    const registry = this.#options.metrics
    this.#metrics = registry
      ? new ShardMetrics(registry, this.#options.name, () => this.#horizons())
      : undefined
    this.#runtime = this.#runtimeOf(map)
  }

  /** The map in use. */
  get map(): ShardMap {
    return this.#runtime.map
  }

  /**
   * The physical table of a key (and for range tables of a time): a handle to run statements there.
   *
   * @throws {ShardError} `E_UNKNOWN_TABLE`, `E_NO_SHARD_KEY`, `E_RANGE_MISSING` (the period's tables were not made)
   * @example
   * await router.shard('posts', authorId, createdAt).write('INSERT INTO {posts} …', params, { signal })
   */
  shard(table: string, key?: unknown, rangeValue?: unknown): ShardHandle {
    const location = this.#runtime.locate(table, key, rangeValue)
    return new ShardHandle(this.#runtime, location, (next) => next.locate(table, key, rangeValue))
  }

  /**
   * Holds writes to some physical databases (by index) — statements for the primary and transactions
   * wait, reads go on — and resolves once the writes already running there have finished. Released
   * writes run where their key lives in the router's map by then: a resharding's cutover holds, swaps
   * maps with `useMap`, and releases, and no write is failed or sent to the old home.
   *
   * @example
   * const hold = await router.hold([0, 1, 2, 3], { signal })
   * try { router.useMap(doubled) } finally { hold.release() }
   */
  hold(databases: readonly number[], options: { signal?: AbortSignal } = {}): Promise<WriteHold> {
    return this.#gate.hold(databases, options.signal)
  }

  /**
   * `shard(table, key).transaction(fn, options)`.
   *
   * @example
   * await router.transaction('users', id, async (tx) => tx.query('UPDATE {users} SET … WHERE user_id = $1', [id]))
   */
  transaction<T>(
    table: string,
    key: unknown,
    fn: (tx: ShardTransaction) => Promise<T>,
    options?: CallOptions,
  ) {
    return this.shard(table, key).transaction(fn, options)
  }

  /** A broadcast table: reads from any database, writes to all. @throws {ShardError} `E_UNKNOWN_TABLE` */
  broadcast(table: string): BroadcastHandle {
    let handle = this.#broadcasts.get(table)
    if (handle === undefined) {
      if (this.map.rule(table).type !== 'broadcast') {
        throw new ShardError('E_UNKNOWN_TABLE', `${table} is not a broadcast table`, { table })
      }
      handle = new BroadcastHandle(this.#runtime, table)
      this.#broadcasts.set(table, handle)
    }
    return handle
  }

  /**
   * The target's shard key that a lookup table maps `value` to, or `undefined`.
   *
   * @example
   * const userId = await router.lookup('usernames', 'alice', { signal })
   */
  lookup(table: string, value: ShardKey, options?: CallOptions): Promise<ShardKey | undefined> {
    return lookupKey(this.#runtime, table, value, options)
  }

  /**
   * Maps `value` to `key` in a lookup table unless another key holds it: `false` then (a taken username).
   * Link before writing the target's row; the two are on different shards and not atomic.
   *
   * @example
   * if (!(await router.link('usernames', 'alice', userId, { signal }))) throw conflict('username taken')
   */
  link(table: string, value: ShardKey, key: ShardKey, options?: CallOptions): Promise<boolean> {
    return linkKey(this.#runtime, table, value, key, options)
  }

  /** Removes a lookup mapping (only if it maps to `key`, when given). */
  unlink(table: string, value: ShardKey, key?: ShardKey, options?: CallOptions): Promise<boolean> {
    return unlinkKey(this.#runtime, table, value, key, options)
  }

  /**
   * The handle of the lookup's target row for a looked-up value, or `undefined` when unmapped.
   *
   * @example
   * const user = await router.shardByLookup('usernames', 'alice', { signal })
   */
  async shardByLookup(
    table: string,
    value: ShardKey,
    options?: CallOptions & { rangeValue?: unknown },
  ): Promise<ShardHandle | undefined> {
    const key = await this.lookup(table, value, options)
    return key === undefined
      ? undefined
      : this.shard(lookupRule(this.#runtime, table).target, key, options?.rangeValue)
  }

  /**
   * Every physical table of a logical table as a fan-out target (range tables: each period made), for
   * the scatter-gather module. Cached until the map or the known periods change.
   *
   * @throws {ShardError} `E_SCATTER_REFUSED` on a router made with `scatter: 'refuse'`; `E_UNKNOWN_TABLE`
   * @example
   * const results = await Promise.all(router.targets('posts').map((t) => t.query('SELECT count(*) FROM {posts}', [], { signal })))
   */
  targets(table: string, options: TargetsOptions = {}): readonly ShardQueryTarget[] {
    if (this.#options.scatter === 'refuse') {
      throw new ShardError(
        'E_SCATTER_REFUSED',
        `this router refuses fan-out (scatter: 'refuse'): a statement on ${table} needs its shard key`,
        { table },
      )
    }
    const readOnly = options.readOnly === true
    const cacheKey = `${readOnly ? 'r' : 'w'}:${table}`
    const cached = this.#targets.get(cacheKey)
    if (cached !== undefined && cached.version === this.periods.version) return cached.targets
    const targets = Object.freeze(queryTargets(this.#runtime, table, readOnly))
    this.#targets.set(cacheKey, { version: this.periods.version, targets })
    return targets
  }

  /** Every physical database with its cluster (opened now if not yet). */
  databases(): ShardDatabase[] {
    return this.map.databases.map((d) => ({ ...d, cluster: this.#runtime.cluster(d.index) }))
  }

  /** The cluster of a physical database, by name or index. @throws {ShardError} `E_INVALID_OPTION` for a database the map does not have */
  cluster(database: string | number): Cluster {
    const found =
      typeof database === 'number'
        ? this.map.databases[database]
        : this.map.databases.find((d) => d.name === database)
    if (found === undefined) {
      throw new ShardError('E_INVALID_OPTION', `${database} is not a database of the shard map`, {
        option: 'database',
        value: database,
      })
    }
    return this.#runtime.cluster(found.index)
  }

  /**
   * Periods of a range table made ahead of the current one (by the router's clock, or `now`).
   *
   * @example
   * if (router.horizon('posts') < 1) await ensurePeriods(router, migrations)
   */
  horizon(table: string, now: number = this.#options.now()): number {
    const rule = this.map.rule(table)
    if (rule.type !== 'range')
      throw new ShardError('E_UNKNOWN_TABLE', `${table} is not a range table`, { table })
    return this.periods.horizon(table, periodOf(rule.interval, now))
  }

  /**
   * Swaps to a newer map. Handles made before keep the old one (they are per request), but their writes
   * go where their keys live in the new map. Clusters of databases the new map still has are kept;
   * those of databases it drops are ended once no statement of an older map's handles runs (a read
   * queued there still gets its answer); such a handle asking for one after that fails with
   * `E_MAP_CHANGED`.
   *
   * @throws {ShardError} `E_INVALID_MAP` (`path: 'version'`) unless the new version is higher.
   */
  useMap(next: ShardMap | string | object): void {
    const map = parseShardMap(next)
    if (map.version <= this.map.version) {
      throw new ShardError(
        'E_INVALID_MAP',
        `version must be above the router's map version ${this.map.version}`,
        {
          path: 'version',
          value: map.version,
        },
      )
    }
    const keep = new Set(map.databases.map((d) => clusterKey(d.server, d.name)))
    // A database dropped by the last switch and back in this map (a reverse undone) keeps its cluster.
    this.#toEnd = this.#toEnd.filter((cluster) => {
      const key = this.#keyOf.get(cluster)!
      if (!keep.has(key)) return true
      this.#clusters.set(key, cluster)
      return false
    })
    for (const [key, cluster] of this.#clusters) {
      if (keep.has(key)) continue
      this.#clusters.delete(key)
      this.#toEnd.push(cluster)
    }
    const old = this.#runtime
    this.#runtime = this.#runtimeOf(map)
    this.#broadcasts = new Map()
    this.#targets = new Map()
    this.#draining.add(old)
    old.retire(this.#retired)
  }

  /** Ends every cluster. Later calls fail with `E_CLOSED`. Safe to call twice. */
  async end(): Promise<void> {
    if (this.#state.ended) return
    this.#state.ended = true
    this.#metrics?.close()
    const clusters = [...this.#clusters.values(), ...this.#toEnd]
    this.#clusters.clear()
    this.#toEnd = []
    await Promise.all(clusters.map((c) => c.end()))
  }

  /** Ends the clusters the newer maps dropped once no superseded runtime has a statement running. */
  #endDropped(): void {
    for (const runtime of this.#draining) if (runtime.idle) this.#draining.delete(runtime)
    if (this.#draining.size > 0 || this.#toEnd.length === 0) return
    const clusters = this.#toEnd
    this.#toEnd = []
    for (const cluster of clusters) {
      this.#state.dropped.add(cluster)
      void cluster.end().catch(() => {})
    }
  }

  #runtimeOf(map: ShardMap): ShardRuntime {
    const open = (index: number): Cluster => {
      const { server, name } = map.databases[index]!
      const key = clusterKey(server, name)
      let cluster = this.#clusters.get(key)
      if (cluster === undefined) {
        // A superseded map's handle must not reopen a database the router's map dropped.
        if (runtime.superseded && !hasDatabase(this.map, key)) throw mapChangedError(map, index)
        cluster = this.connect(server, name)
        this.#clusters.set(key, cluster)
        this.#keyOf.set(cluster, key)
      }
      return cluster
    }
    const runtime = new ShardRuntime(
      this.#state,
      map,
      this.periods,
      open,
      this.#metrics,
      this.#options.maxCachedStatements,
      this.#gate,
      () => this.#runtime,
    )
    return runtime
  }

  #horizons(): HorizonReading[] {
    const now = this.#options.now()
    const readings: HorizonReading[] = []
    for (const table of this.map.tableNames) {
      const rule = this.map.rule(table)
      if (rule.type !== 'range') continue
      const horizon = this.periods.horizon(table, periodOf(rule.interval, now))
      readings.push({ table, horizon, alarm: horizon < this.#options.horizonAlarm })
    }
    return readings
  }
}

/**
 * Creates a `ShardRouter`. Synchronous: clusters open at each database's first statement.
 *
 * @example
 * const router = createShardRouter({ map, pool: { max: 8 }, metrics: registry, scatter: 'refuse' })
 */
export function createShardRouter(options: ShardRouterOptions): ShardRouter {
  return new ShardRouter(options)
}

function clusterKey(server: ShardServer, database: string): string {
  return `${server.primary} ${server.replicas.join(' ')} ${database}`
}

function hasDatabase(map: ShardMap, key: string): boolean {
  return map.databases.some((d) => clusterKey(d.server, d.name) === key)
}
