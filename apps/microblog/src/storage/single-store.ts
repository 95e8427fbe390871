import type { Cluster, QueryResult } from '@hundredfold/pg'
import {
  type DbCallOptions,
  primaryElseReplica,
  type Statements,
  type Store,
  type Table,
  type TxStatements,
  timed,
  type WriteStep,
} from './store.js'

/**
 * The store on one database: `{posts}` is `posts`, every key's rows are in the one database, and a
 * write of several steps is one transaction. Statements with a `timing` add to the request's `db`
 * stage (those the Cluster sends on its own, a replica's replay wait, are in the time, not the count).
 */
export function singleStore(cluster: Cluster): Store {
  return new SingleStore(cluster)
}

/** `{name}` tokens of SQL text become plain table names (cached per statement text). */
const plainCache = new Map<string, string>()
function plain(sql: string): string {
  let out = plainCache.get(sql)
  if (out === undefined) {
    out = sql.replace(/\{([a-z_][a-z0-9_]*)\}/g, '$1')
    if (plainCache.size > 10_000) plainCache.clear()
    plainCache.set(sql, out)
  }
  return out
}

class SingleStore implements Store {
  readonly layout = 'single'
  readonly #all: Statements

  constructor(cluster: Cluster) {
    this.#all = new ClusterStatements(cluster)
  }

  on(_table: Table, _key: string): Statements {
    return this.#all
  }

  byShard(_table: Table, keys: readonly string[]) {
    return keys.length === 0 ? [] : [{ statements: this.#all, keys: [...keys] }]
  }

  writeGroups(table: Table, keys: readonly string[]) {
    return this.byShard(table, keys)
  }

  colocated(): boolean {
    return true
  }

  everywhere(_table: Table): Statements[] {
    return [this.#all]
  }

  steps(steps: readonly WriteStep[], options?: DbCallOptions): Promise<void> {
    return this.#all.transaction(async (tx) => {
      for (const step of steps) await step.run(tx)
    }, options)
  }

  async ping(options?: DbCallOptions): Promise<void> {
    await this.#all.query('SELECT 1', [], options)
  }
}

class ClusterStatements implements Statements {
  readonly #cluster: Cluster

  constructor(cluster: Cluster) {
    this.#cluster = cluster
  }

  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return timed(options?.timing, this.#cluster.query<Row>(plain(sql), params, options))
  }

  load<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return primaryElseReplica<Row>(this, sql, params, options)
  }

  read<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return timed(options?.timing, this.#cluster.read<Row>(plain(sql), params, options))
  }

  write<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return timed(options?.timing, this.#cluster.write<Row>(plain(sql), params, options))
  }

  async transaction<T>(fn: (tx: TxStatements) => Promise<T>, options?: DbCallOptions): Promise<T> {
    const timing = options?.timing
    const start = performance.now()
    let statements = 2 // BEGIN, and COMMIT or ROLLBACK
    try {
      return await this.#cluster.transaction((pgTx) => {
        const tx: TxStatements = {
          query: <Row>(sql: string, params?: readonly unknown[]) => {
            statements++
            return pgTx.query<Row>(plain(sql), params) as Promise<QueryResult<Row>>
          },
          on: () => tx,
        }
        return fn(tx)
      }, options)
    } finally {
      timing?.db(start, statements)
    }
  }
}
