import type { CallOptions, QueryResult } from '@hundredfold/pg'
import { abortedError, ShardError } from '../errors.js'
import type { ShardLocation } from '../map/shard-location.js'
import type { ShardRuntime } from './shard-runtime.js'

/**
 * A broadcast table: a copy in every database, so any shard's statements can join it. Reads go to one
 * database (in turn); writes go to all of them at once — **not atomically**: if some databases fail
 * after others applied the write, `E_BROADCAST_PARTIAL` says which, and the write must be rerun
 * (so make broadcast writes idempotent: upserts, `ON CONFLICT`).
 *
 * @example
 * const countries = router.broadcast('countries')
 * await countries.write('INSERT INTO {countries} VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET name = $2', ['fr', 'France'])
 * const { rows } = await countries.read('SELECT name FROM {countries} WHERE code = $1', ['fr'])
 */
export class BroadcastHandle {
  /** The logical (and physical) table. */
  readonly table: string
  readonly #runtime: ShardRuntime
  readonly #locations: readonly ShardLocation[]
  #next = 0

  /** @internal Made by `router.broadcast()`. */
  constructor(runtime: ShardRuntime, table: string) {
    this.#runtime = runtime
    this.table = table
    this.#locations = runtime.map.locations(table)
  }

  /** The databases holding a copy. */
  get databases(): string[] {
    return this.#locations.map((l) => l.database)
  }

  /** A read-only statement on one database's copy (databases take turns). */
  read<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: CallOptions,
  ): Promise<QueryResult<Row>> {
    const location = this.#locations[this.#next++ % this.#locations.length]!
    return this.#runtime.run<Row>(location, 'read', sql, params, options)
  }

  /**
   * A statement on every database's copy, in parallel; the results in database order. Fails with the
   * single error when no database applied it, else with `E_BROADCAST_PARTIAL`.
   */
  async write<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: CallOptions,
  ): Promise<QueryResult<Row>[]> {
    if (options?.signal?.aborted) throw abortedError(options.signal)
    const runtime = this.#runtime
    const databases = this.#locations.map((l) => l.databaseIndex)
    await runtime.gate.enterAll(databases, options?.signal)
    // The router changed maps (while this write was held, or since this handle was made): the copies
    // to write are the new map's.
    if (runtime.superseded) {
      for (const d of databases) runtime.gate.leave(d)
      return new BroadcastHandle(runtime.current(), this.table).write<Row>(sql, params, options)
    }
    let settled: PromiseSettledResult<QueryResult<Row>>[]
    try {
      settled = await Promise.allSettled(
        this.#locations.map((location) => runtime.runAdmitted<Row>(location, sql, params, options)),
      )
    } finally {
      for (const d of databases) runtime.gate.leave(d)
    }
    const failed: string[] = []
    const applied: string[] = []
    let firstError: unknown
    settled.forEach((outcome, i) => {
      const database = this.#locations[i]!.database
      if (outcome.status === 'fulfilled') applied.push(database)
      else {
        failed.push(database)
        firstError ??= outcome.reason
      }
    })
    if (failed.length === 0) return settled.map((s) => (s as PromiseFulfilledResult<QueryResult<Row>>).value)
    if (applied.length === 0) throw firstError
    throw new ShardError(
      'E_BROADCAST_PARTIAL',
      `the write to broadcast table ${this.table} applied on ${applied.length} of ${settled.length} databases (failed: ${failed.join(', ')}); rerun it`,
      { table: this.table, database: failed[0]!, applied, failed },
      { cause: firstError },
    )
  }
}
