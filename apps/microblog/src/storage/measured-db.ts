import type { CallOptions, Cluster, QueryResult, Transaction } from '@hundredfold/pg'
import type { RequestTiming } from '../request-timing.js'

/** The Cluster's per-call options, plus the request's timing (`db` stage) when there is one. */
export interface DbCallOptions extends CallOptions {
  timing?: RequestTiming | undefined
}

/** One statement: SQL and its parameters, on the host the method names. */
type Statement = <Row = Record<string, unknown>>(
  sql: string,
  params?: readonly unknown[],
  options?: DbCallOptions,
) => Promise<QueryResult<Row>>

/**
 * The part of `Cluster` the services use. A call whose options carry a `timing` adds its duration and
 * statement count to the request's `db` stage; one without costs nothing more than the Cluster's.
 */
export interface Db {
  query: Statement
  read: Statement
  write: Statement
  /** Counts BEGIN, each statement of `fn`, and COMMIT (or ROLLBACK). */
  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: DbCallOptions): Promise<T>
}

/**
 * The services' database: `cluster`, measured per request. Statements the Cluster sends on its own
 * (a read-your-writes position after a write, a replica's replay wait) are in the time, not the count.
 *
 * @example
 * const db = measuredDb(cluster)
 * await db.read('SELECT 1', [], { signal, timing: request.ctx.timing })
 */
export function measuredDb(cluster: Cluster): Db {
  return new MeasuredDb(cluster)
}

class MeasuredDb implements Db {
  readonly #cluster: Cluster

  constructor(cluster: Cluster) {
    this.#cluster = cluster
  }

  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    const timing = options?.timing
    if (timing === undefined) return this.#cluster.query<Row>(sql, params, options)
    return measure(timing, performance.now(), this.#cluster.query<Row>(sql, params, options))
  }

  read<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    const timing = options?.timing
    if (timing === undefined) return this.#cluster.read<Row>(sql, params, options)
    return measure(timing, performance.now(), this.#cluster.read<Row>(sql, params, options))
  }

  write<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    const timing = options?.timing
    if (timing === undefined) return this.#cluster.write<Row>(sql, params, options)
    return measure(timing, performance.now(), this.#cluster.write<Row>(sql, params, options))
  }

  transaction<T>(fn: (tx: Transaction) => Promise<T>, options?: DbCallOptions): Promise<T> {
    const timing = options?.timing
    if (timing === undefined) return this.#cluster.transaction(fn, options)
    return this.#transaction(fn, options!, timing)
  }

  async #transaction<T>(
    fn: (tx: Transaction) => Promise<T>,
    options: DbCallOptions,
    timing: RequestTiming,
  ): Promise<T> {
    const start = performance.now()
    let statements = 2 // BEGIN, and COMMIT or ROLLBACK
    try {
      return await this.#cluster.transaction(
        (tx) =>
          fn({
            query: (sql, params, statement) => {
              statements++
              return tx.query(sql, params, statement)
            },
          }),
        options,
      )
    } finally {
      timing.db(start, statements)
    }
  }
}

async function measure<R>(timing: RequestTiming, start: number, work: Promise<R>): Promise<R> {
  try {
    return await work
  } finally {
    timing.db(start, 1)
  }
}
