import type { QueryResult } from '@hundredfold/pg'
import type { ShardHandle, ShardRouter, ShardStatements, ShardTransaction } from '@hundredfold/shard'
import {
  type DbCallOptions,
  primaryElseReplica,
  type Reader,
  type Statements,
  type Store,
  type Table,
  type TxStatements,
  timed,
  type WriteStep,
} from './store.js'

/**
 * The store on the shards of a shard map: each key's statements go to the physical table its key
 * hashes to (`{posts}` → `posts_07` in `microblog_03`); a write of several steps is one transaction
 * per run of steps on one database, in order.
 */
export function shardedStore(router: ShardRouter): Store {
  return new ShardedStore(router)
}

class ShardedStore implements Store {
  readonly layout = 'sharded'
  readonly #router: ShardRouter

  constructor(router: ShardRouter) {
    this.#router = router
  }

  on(table: Table, key: string): Statements {
    return new HandleStatements(this.#router.shard(table, key))
  }

  byShard(table: Table, keys: readonly string[]) {
    const groups = new Map<string, { statements: Statements; keys: string[] }>()
    for (const key of keys) {
      const label = this.#router.map.resolve(table, key).label
      const group = groups.get(label)
      if (group) group.keys.push(key)
      else groups.set(label, { statements: this.on(table, key), keys: [key] })
    }
    return [...groups.values()]
  }

  colocated(table: Table, key: string, other: Table, otherKey: string): boolean {
    const map = this.#router.map
    return map.resolve(table, key).databaseIndex === map.resolve(other, otherKey).databaseIndex
  }

  everywhere(table: Table): Reader[] {
    return this.#router.targets(table, { readOnly: true }).map((target) => ({
      read: <Row>(sql: string, params?: readonly unknown[], options?: DbCallOptions) =>
        timed(options?.timing, target.query<Row>(sql, params, options)),
    }))
  }

  writeGroups(table: Table, keys: readonly string[]) {
    return [...new Set(keys)].map((key) => ({ statements: this.on(table, key), keys: [key] }))
  }

  async steps(steps: readonly WriteStep[], options?: DbCallOptions): Promise<void> {
    for (const step of steps) {
      await this.on(step.table, step.key).transaction((tx) => step.run(tx), options)
    }
  }

  async ping(options?: DbCallOptions): Promise<void> {
    await Promise.all(this.#router.databases().map((d) => d.cluster.query('SELECT 1', [], options)))
  }
}

class HandleStatements implements Statements {
  readonly #handle: ShardHandle

  constructor(handle: ShardHandle) {
    this.#handle = handle
  }

  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return timed(options?.timing, this.#handle.query<Row>(sql, params, options))
  }

  load<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return primaryElseReplica<Row>(this, sql, params, options)
  }

  read<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return timed(options?.timing, this.#handle.read<Row>(sql, params, options))
  }

  write<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: DbCallOptions) {
    return timed(options?.timing, this.#handle.write<Row>(sql, params, options))
  }

  async transaction<T>(fn: (tx: TxStatements) => Promise<T>, options?: DbCallOptions): Promise<T> {
    const timing = options?.timing
    const start = performance.now()
    const counter = { statements: 2 } // BEGIN, and COMMIT or ROLLBACK
    try {
      return await this.#handle.transaction((shardTx) => fn(txStatements(shardTx, shardTx, counter)), options)
    } finally {
      timing?.db(start, counter.statements)
    }
  }
}

/**
 * A transaction's statements. Its database is the one it runs on (a write held by a switch runs where
 * its key lives after it), so another key is here when the transaction's map puts it in that database
 * (not `router.map`, which may have moved on: `shard()` would refuse the key then).
 */
function txStatements(
  shardTx: ShardTransaction,
  statements: ShardStatements,
  counter: { statements: number },
): TxStatements {
  return {
    query: <Row>(sql: string, params?: readonly unknown[]) => {
      counter.statements++
      return statements.query<Row>(sql, params) as Promise<QueryResult<Row>>
    },
    on: (table, key) =>
      shardTx.map.resolve(table, key).database === shardTx.database
        ? txStatements(shardTx, shardTx.shard(table, key), counter)
        : undefined,
  }
}
