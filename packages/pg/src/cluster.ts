import type { Driver, DriverConnection, QueryResult } from './driver.js'
import { PgError } from './errors.js'
import { Pool, type PoolOptions, type PoolStats } from './pool.js'

/** Per-call options. */
export interface CallOptions {
  /** Aborts the wait for a session or the statement itself (the session is then closed). */
  signal?: AbortSignal
}

/** The statements of one transaction, all on one session. */
export interface Transaction {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: CallOptions,
  ): Promise<QueryResult<Row>>
}

/** Options of `createCluster`. */
export interface ClusterOptions {
  /** The primary's driver: `pgDriver(...)` or `pgliteDriver(...)`. */
  driver: Driver
  pool?: PoolOptions
}

/** A snapshot of every host's pool. */
export interface ClusterStats {
  primary: PoolStats & { host: string }
}

/**
 * A PostgreSQL cluster: where a statement runs is chosen by what it is. `write` and
 * `transaction` go to the primary; `read` may go to a replica (with one primary today,
 * it goes to the primary); `query` is the safe default and goes to the primary.
 *
 * @example
 * const db = createCluster({ driver: pgDriver({ connectionString }) })
 * const { rows } = await db.read('select name from users where id = $1', [id], { signal })
 * await db.transaction(async (tx) => { await tx.query('insert ...'); await tx.query('update ...') })
 */
export class Cluster {
  readonly #driver: Driver
  readonly #primary: Pool
  #ended = false

  constructor(options: ClusterOptions) {
    if (!options || typeof options.driver?.connect !== 'function') {
      throw new PgError(
        'E_INVALID_OPTION',
        'options.driver must be a driver such as pgDriver() or pgliteDriver()',
      )
    }
    this.#driver = options.driver
    this.#primary = new Pool(options.driver, options.pool)
  }

  /** Runs a statement on the primary. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: CallOptions = {},
  ): Promise<QueryResult<Row>> {
    return this.#run(this.#primary, (conn) => conn.query<Row>(sql, params, options.signal), options.signal)
  }

  /** Runs a read-only statement where reads are routed. */
  read<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: CallOptions = {},
  ): Promise<QueryResult<Row>> {
    return this.#run(this.#primary, (conn) => conn.query<Row>(sql, params, options.signal), options.signal)
  }

  /** Runs a statement that changes data, on the primary. */
  write<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: CallOptions = {},
  ): Promise<QueryResult<Row>> {
    return this.#run(this.#primary, (conn) => conn.query<Row>(sql, params, options.signal), options.signal)
  }

  /** Runs a multi-statement script without parameters on the primary (schema migrations). */
  exec(sql: string, options: CallOptions = {}): Promise<void> {
    return this.#run(this.#primary, (conn) => conn.exec(sql, options.signal), options.signal)
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT on one primary session. Any error (or abort) rolls back and
   * is rethrown; nothing of a failed transaction stays behind.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const conn = await this.#primary.acquire(options.signal)
    let destroy = false
    try {
      await conn.query('BEGIN', [], options.signal)
      const tx: Transaction = {
        query: (sql, params = [], callOptions = {}) =>
          conn.query(sql, params, callOptions.signal ?? options.signal),
      }
      const result = await fn(tx)
      await conn.query('COMMIT', [], options.signal)
      return result
    } catch (err) {
      if (conn.broken) destroy = true
      else await conn.query('ROLLBACK', []).catch(() => (destroy = true))
      throw err
    } finally {
      this.#primary.release(conn, destroy)
    }
  }

  stats(): ClusterStats {
    return { primary: { host: this.#driver.name, ...this.#primary.stats } }
  }

  /** Closes every pool and the driver. Safe to call twice. */
  async end(): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    await this.#primary.close()
    await this.#driver.close()
  }

  async #run<T>(pool: Pool, fn: (conn: DriverConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const conn = await pool.acquire(signal)
    let failed = false
    try {
      return await fn(conn)
    } catch (err) {
      failed = conn.broken
      throw err
    } finally {
      pool.release(conn, failed)
    }
  }
}

/** Creates a `Cluster`. */
export function createCluster(options: ClusterOptions): Cluster {
  return new Cluster(options)
}
