import type { CallOptions, Cluster, QueryResult, Transaction } from '@hundredfold/pg'
import { mapChangedError, ShardError } from '../errors.js'
import type { ShardLocation } from '../map/shard-location.js'
import type { ShardMap } from '../map/shard-map.js'
import { periodName } from '../range/period.js'
import type { RangePeriods } from '../range/range-periods.js'
import type { ShardMetrics } from './shard-metrics.js'
import { shardQueryError } from './shard-query-error.js'
import { StatementCache } from './statement-cache.js'
import type { WriteGate } from './write-gate.js'

/** Where a statement's key lives in another map version: how a held write finds its new home. @internal */
export type Relocate = (runtime: ShardRuntime) => ShardLocation

/** What every runtime of one router shares: whether it was ended, and the clusters its maps dropped and it ended. @internal */
export interface RouterState {
  readonly ended: boolean
  readonly dropped: WeakSet<Cluster>
}

/** What the router hears of a superseded runtime: it holds the clusters its newer maps dropped while one runs. @internal */
export interface RetiredListener {
  busy(runtime: ShardRuntime): void
  idle(runtime: ShardRuntime): void
}

/** How a statement is sent: `read` may go to a replica, `query` goes to the primary. @internal */
export type StatementKind = 'read' | 'query'

/**
 * What handles of one map version share: the map, its statement cache, the clusters and metrics.
 * A router makes a new one when it swaps maps; handles made before keep theirs. @internal
 */
export class ShardRuntime {
  readonly map: ShardMap
  readonly statements: StatementCache
  readonly periods: RangePeriods
  readonly #clusterAt: (databaseIndex: number) => Cluster
  readonly #metrics: ShardMetrics | undefined
  readonly #clusters: (Cluster | undefined)[]
  readonly #router: RouterState
  readonly #current: () => ShardRuntime
  /** Writes held by a resharding, shared by every map version of the router. */
  readonly gate: WriteGate
  /** Set when the router moved to a newer map: a write of this map's handles re-resolves its key there. */
  superseded = false
  /** Statements (and transactions) of this runtime running now. */
  #busy = 0
  /** Told when a superseded runtime starts running something, and when it has nothing running again. */
  #retired: RetiredListener | undefined

  constructor(
    router: RouterState,
    map: ShardMap,
    periods: RangePeriods,
    clusterAt: (databaseIndex: number) => Cluster,
    metrics: ShardMetrics | undefined,
    maxCachedStatements: number,
    gate: WriteGate,
    current: () => ShardRuntime,
  ) {
    this.#router = router
    this.gate = gate
    this.#current = current
    this.map = map
    this.periods = periods
    this.statements = new StatementCache(maxCachedStatements)
    this.#clusterAt = clusterAt
    this.#metrics = metrics
    this.#clusters = new Array<Cluster | undefined>(map.databases.length).fill(undefined)
  }

  /** The cluster of a physical database, opened on first use. */
  cluster(databaseIndex: number): Cluster {
    if (this.#router.ended) throw new ShardError('E_CLOSED', 'this shard router was ended')
    let cluster = this.#clusters[databaseIndex]
    if (cluster === undefined) {
      cluster = this.#clusterAt(databaseIndex)
      this.#clusters[databaseIndex] = cluster
    }
    if (this.#router.dropped.has(cluster)) throw mapChangedError(this.map, databaseIndex)
    return cluster
  }

  /** Whether nothing of this runtime is running. */
  get idle(): boolean {
    return this.#busy === 0
  }

  /**
   * Marks this runtime superseded by a newer map: its handles' writes go to their keys' new homes from
   * now on, and `listener` hears whenever it starts running something and has nothing running again
   * (`idle` at once, if nothing runs now).
   */
  retire(listener: RetiredListener): void {
    this.superseded = true
    this.#retired = listener
    if (this.#busy === 0) listener.idle(this)
  }

  /** Counts `work` as running on this runtime until it settles (a superseded one's clusters wait for it). */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#started()
    try {
      return await work()
    } finally {
      this.#finished()
    }
  }

  #started(): void {
    if (this.#busy++ === 0) this.#retired?.busy(this)
  }

  #finished(): void {
    if (--this.#busy === 0) this.#retired?.idle(this)
  }

  /**
   * Resolves a key, and for range tables checks that the period's tables were made.
   *
   * @throws {ShardError} `E_UNKNOWN_TABLE`, `E_NO_SHARD_KEY`, `E_RANGE_MISSING`
   */
  locate(table: string, key: unknown, rangeValue: unknown): ShardLocation {
    const location = this.map.compiled(table).locate(key, rangeValue)
    if (location.period !== undefined && !this.periods.has(table, location.period)) {
      const rule = this.map.rule(table)
      const name =
        rule.type === 'range' ? periodName(rule.interval, location.period) : String(location.period)
      throw new ShardError(
        'E_RANGE_MISSING',
        `${table} has no tables for period ${name} (${location.physicalTable}): run ensurePeriods() ahead of time`,
        { table, physicalTable: location.physicalTable, value: rangeValue },
      )
    }
    return location
  }

  /** The router's runtime now (this one, unless the router moved to a newer map). */
  current(): ShardRuntime {
    return this.#current()
  }

  /**
   * Runs one statement on a location's database, its `{name}` tokens rewritten for that location. A
   * statement for the primary passes the write gate: while a resharding holds the database it waits.
   * Once admitted, a statement of a superseded map runs where `relocate` says its key lives in the
   * router's map now — whether it waited in the switch's hold or its handle was made before the switch
   * and used after it: the old home is fenced, and a `complete` deletes what lands there.
   */
  async run<Row>(
    location: ShardLocation,
    kind: StatementKind,
    sql: string,
    params: readonly unknown[] | undefined,
    options: CallOptions | undefined,
    relocate?: Relocate,
  ): Promise<QueryResult<Row>> {
    if (kind === 'read') return this.#run(location, kind, sql, params, options)
    const database = location.databaseIndex
    if (!this.gate.tryEnter(database)) await this.gate.enter(database, options?.signal)
    if (this.superseded && relocate) {
      this.gate.leave(database)
      const next = this.current()
      return next.run(relocate(next), kind, sql, params, options, relocate)
    }
    try {
      return await this.#run(location, kind, sql, params, options)
    } finally {
      this.gate.leave(database)
    }
  }

  /** Runs a statement whose write the caller has admitted through the gate already. */
  runAdmitted<Row>(
    location: ShardLocation,
    sql: string,
    params: readonly unknown[] | undefined,
    options: CallOptions | undefined,
  ): Promise<QueryResult<Row>> {
    return this.#run(location, 'query', sql, params, options)
  }

  async #run<Row>(
    location: ShardLocation,
    kind: StatementKind,
    sql: string,
    params: readonly unknown[] | undefined,
    options: CallOptions | undefined,
  ): Promise<QueryResult<Row>> {
    const text = this.statements.rewrite(sql, location.scope)
    const given = scopedName(options, location)
    const cluster = this.cluster(location.databaseIndex)
    const metrics = this.#metrics?.database(location.database)
    const start = metrics ? process.hrtime.bigint() : 0n
    this.#started()
    try {
      return kind === 'read'
        ? await cluster.read<Row>(text, params, given)
        : await cluster.query<Row>(text, params, given)
    } catch (err) {
      metrics?.errors.inc()
      throw shardQueryError(err, location, options?.signal)
    } finally {
      if (metrics) {
        metrics.queries.inc()
        metrics.duration.recordSince(start)
      }
      this.#finished()
    }
  }

  /** Runs one statement inside a transaction already open on the location's database. */
  async runIn<Row>(
    tx: Transaction,
    location: ShardLocation,
    sql: string,
    params: readonly unknown[] | undefined,
    options: CallOptions | undefined,
  ): Promise<QueryResult<Row>> {
    const text = this.statements.rewrite(sql, location.scope)
    const metrics = this.#metrics?.database(location.database)
    const start = metrics ? process.hrtime.bigint() : 0n
    try {
      return await tx.query<Row>(text, params, scopedName(options, location))
    } catch (err) {
      metrics?.errors.inc()
      throw shardQueryError(err, location, options?.signal)
    } finally {
      if (metrics) {
        metrics.queries.inc()
        metrics.duration.recordSince(start)
      }
    }
  }
}

/**
 * A prepared statement's text differs per physical table, and node-postgres refuses one name for two
 * texts on a session, so the name gets the physical table's (`find_user.users_07`).
 */
function scopedName(options: CallOptions | undefined, location: ShardLocation): CallOptions | undefined {
  if (options?.name === undefined) return options
  return { ...options, name: `${options.name}.${location.scope.id}` }
}
