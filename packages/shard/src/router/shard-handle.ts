import {
  type AsPoolOptions,
  asPool,
  type CallOptions,
  type Cluster,
  type ClusterPool,
  type QueryResult,
  type StatementOptions,
  type Transaction,
} from '@hundredfold/pg'
import { ShardError } from '../errors.js'
import type { ShardLocation } from '../map/shard-location.js'
import type { ShardMap } from '../map/shard-map.js'
import { shardQueryError } from './shard-query-error.js'
import type { Relocate, ShardRuntime } from './shard-runtime.js'

/** Statements on one physical table inside a transaction. */
export interface ShardStatements {
  /** The physical database, e.g. `app_03`. */
  readonly database: string
  /** The physical table, e.g. `posts_07`. */
  readonly table: string
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: StatementOptions,
  ): Promise<QueryResult<Row>>
}

/** The transaction `ShardHandle.transaction` gives its function: one primary session of one database. */
export interface ShardTransaction extends ShardStatements {
  /**
   * The map this transaction routes by: the router's when it was admitted. Ask it, not `router.map`,
   * whether another key is in this database (the router may be on a newer map by now).
   */
  readonly map: ShardMap
  /**
   * Another table's row in the same transaction — allowed only if it lives in the same physical
   * database; anything else fails with `E_CROSS_SHARD` (no transaction spans shards).
   */
  shard(table: string, key?: unknown, rangeValue?: unknown): ShardStatements
}

/**
 * One physical table of a logical table, as resolved from a key: where its statements run. SQL names
 * tables as `{posts}` (or `{table}` for the handle's own), rewritten to physical names; tables of the
 * same binding group and broadcast tables may be named too. Cheap: a handle is a small object per
 * call, holding its key so that a write held by a resharding can find the key's new home.
 *
 * @example
 * const user = router.shard('users', userId)
 * await user.write('INSERT INTO {users} (user_id, name) VALUES ($1, $2)', [userId, name], { signal })
 * const { rows } = await user.read('SELECT * FROM {posts} WHERE author_id = $1', [userId], { signal })
 */
export class ShardHandle {
  /** The physical database, e.g. `app_03`. */
  readonly database: string
  /** The physical table, e.g. `users_07`. */
  readonly table: string
  /** Where this handle points, in full (server, indexes, period). */
  readonly location: ShardLocation
  readonly #runtime: ShardRuntime
  readonly #relocate: Relocate

  /** @internal Made by `router.shard()`. */
  constructor(runtime: ShardRuntime, location: ShardLocation, relocate: Relocate) {
    this.#runtime = runtime
    this.location = location
    this.#relocate = relocate
    this.database = location.database
    this.table = location.physicalTable
  }

  /** The cluster of this handle's database (primary and replicas). */
  get cluster(): Cluster {
    return this.#runtime.cluster(this.location.databaseIndex)
  }

  /** A read-only statement, on a fit replica of the database, else its primary. */
  read<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: CallOptions) {
    return this.#runtime.run<Row>(this.location, 'read', sql, params, options)
  }

  /** A statement that changes data, on the primary. */
  write<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: CallOptions) {
    return this.#runtime.run<Row>(this.location, 'query', sql, params, options, this.#relocate)
  }

  /** Any statement, on the primary (the safe default). */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: CallOptions) {
    return this.#runtime.run<Row>(this.location, 'query', sql, params, options, this.#relocate)
  }

  /**
   * The physical name of a table as a statement of this handle may name it (for query builders).
   *
   * @example
   * kysely.selectFrom(user.name('posts') as 'posts') // posts_07
   */
  name(table: string): string {
    return this.location.scope.physicalName(table)
  }

  /**
   * Runs `fn` in BEGIN … COMMIT on the primary of this handle's database; any error rolls back.
   * Statements may reach only tables in this database: `tx.shard()` of a key that lives elsewhere
   * fails with `E_CROSS_SHARD`. Errors thrown by `fn` come back as they were.
   *
   * @example
   * await router.shard('users', a).transaction(async (tx) => {
   *   await tx.query('INSERT INTO {posts} (author_id, post_id) VALUES ($1, $2)', [a, id])
   *   await tx.query('UPDATE {users} SET posts = posts + 1 WHERE user_id = $1', [a])
   * }, { signal })
   */
  async transaction<T>(fn: (tx: ShardTransaction) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const runtime = this.#runtime
    const home = this.location
    const database = home.databaseIndex
    // A transaction is one write for the gate: a resharding's hold waits for it, or it waits for the hold.
    if (!runtime.gate.tryEnter(database)) await runtime.gate.enter(database, options.signal)
    // Admitted on a superseded map (it waited in the switch's hold, or this handle was made before the
    // switch): the key's home is the new map's, the old one is fenced.
    if (runtime.superseded) {
      runtime.gate.leave(database)
      const next = runtime.current()
      return new ShardHandle(next, this.#relocate(next), this.#relocate).transaction(fn, options)
    }
    try {
      return await runtime.track(() => this.#transactionBody(fn, options))
    } finally {
      runtime.gate.leave(database)
    }
  }

  async #transactionBody<T>(fn: (tx: ShardTransaction) => Promise<T>, options: CallOptions): Promise<T> {
    const runtime = this.#runtime
    const home = this.location
    let thrown: { error: unknown } | undefined
    try {
      return await this.cluster.transaction(async (pgTx) => {
        const tx = transactionOf(runtime, pgTx, home, options)
        try {
          return await fn(tx)
        } catch (error) {
          thrown = { error }
          throw error
        }
      }, options)
    } catch (err) {
      if (thrown !== undefined && err === thrown.error) throw err
      throw shardQueryError(err, home, options.signal)
    }
  }

  /**
   * A `pg.Pool` look-alike over this handle's database, for Kysely, Drizzle and other node-postgres
   * users (`asPool` of `@hundredfold/pg`). Statements through it are not rewritten: name physical
   * tables (`handle.table`, `handle.name('posts')`), and keep to this shard.
   *
   * @example
   * const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: router.shard('users', id).asPool() }) })
   */
  asPool(options?: AsPoolOptions): ClusterPool {
    return asPool(this.cluster, options)
  }
}

function transactionOf(
  runtime: ShardRuntime,
  pgTx: Transaction,
  home: ShardLocation,
  options: CallOptions,
): ShardTransaction {
  const statementsOn = (location: ShardLocation): ShardStatements => ({
    database: location.database,
    table: location.physicalTable,
    query: (sql, params, statement) =>
      runtime.runIn(pgTx, location, sql, params, {
        ...statement,
        signal: statement?.signal ?? options.signal,
      }),
  })
  const own = statementsOn(home)
  return {
    ...own,
    map: runtime.map,
    shard(table, key, rangeValue) {
      const location = runtime.locate(table, key, rangeValue)
      if (location.databaseIndex !== home.databaseIndex) {
        throw new ShardError(
          'E_CROSS_SHARD',
          `this transaction is bound to ${home.database}; ${table} of that key is in ${location.database}: no transaction spans shards (use a queue or a saga)`,
          { table, database: location.database, boundTo: home.database, requested: location.database },
        )
      }
      return statementsOn(location)
    },
  }
}
