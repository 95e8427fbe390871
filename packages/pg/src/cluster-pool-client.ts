import { EventEmitter } from 'node:events'
import type { Cluster, ReservedSession } from './cluster.js'
import { PgError } from './errors.js'
import {
  type FacadeStatement,
  nativeError,
  normalise,
  type PgLikeClient,
  type PgLikeResult,
  type PgQueryConfig,
  route,
  toPgResult,
} from './pool-facade.js'
import type { Session } from './session.js'
import { isReadOnly, transactionEffect } from './statement-kind.js'

/**
 * What `ClusterPool#connect()` hands out: one client, like a `pg.PoolClient`. Until its first
 * statement that is not read-only, each statement is routed like `pool.query()` (so Kysely, which
 * connects for every query, still reads from replicas). From that statement — `BEGIN` included —
 * until `release()` it holds one primary session (`cluster.reserve()`), so a transaction's
 * statements, and session state such as `SET`, stay together. Statements run one after another in
 * the order they were sent, as on a node-postgres client.
 */
export class ClusterPoolClient extends EventEmitter implements PgLikeClient {
  readonly #cluster: Cluster
  readonly #session: Session | undefined
  #held: Promise<ReservedSession> | undefined
  #inTransaction = false
  #released = false
  /** The last statement sent: the next one starts after it settles. */
  #tail: Promise<unknown> = Promise.resolve()

  /** @internal Made by `ClusterPool#connect()`. */
  constructor(cluster: Cluster, session: Session | undefined) {
    super()
    this.#cluster = cluster
    this.#session = session
  }

  /** Runs a statement, after those sent before it on this client. */
  query<Row = Record<string, unknown>>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>> {
    const run = this.#tail.then(
      () => this.#run<Row>(textOrConfig, values),
      () => this.#run<Row>(textOrConfig, values),
    )
    this.#tail = run.catch(() => {})
    return run
  }

  /**
   * Gives the held session back. Inside a transaction (the caller gave up on it) or with `err` it is
   * closed rather than reused; calls after this fail with `E_POOL_CLOSED`.
   */
  release(err?: Error | boolean): void {
    if (this.#released) return
    this.#released = true
    const held = this.#held
    this.#held = undefined
    if (!held) return
    const destroy = Boolean(err) || this.#inTransaction
    // After the statements already sent, so none of them runs on a session someone else holds.
    void this.#tail
      .then(() => held)
      .then(
        (session) => session.release(destroy),
        () => {},
      )
  }

  async #run<Row>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>> {
    if (this.#released) {
      throw new PgError('E_POOL_CLOSED', 'this client was released; take another with connect()')
    }
    const statement = normalise(textOrConfig, values, this.#session)
    if (!this.#held && isReadOnly(statement.text)) {
      try {
        return toPgResult(statement.text, await route<Row>(this.#cluster, statement))
      } catch (err) {
        throw nativeError(err)
      }
    }
    return this.#onHeld<Row>(statement)
  }

  async #onHeld<Row>(statement: FacadeStatement): Promise<PgLikeResult<Row>> {
    const held = await this.#hold()
    const { text, params, options } = statement
    const effect = transactionEffect(text)
    try {
      const result = await held.query<Row>(text, params, options)
      if (effect === 'begin') this.#inTransaction = true
      else if (effect === 'end') this.#inTransaction = false
      if (effect === 'end' || (!this.#inTransaction && effect === undefined && !isReadOnly(text))) {
        await this.#observe(held)
      }
      return toPgResult(text, result)
    } catch (err) {
      // A failed COMMIT ends the transaction as well: the server rolled it back.
      if (effect === 'end') this.#inTransaction = false
      throw nativeError(err)
    }
  }

  #hold(): Promise<ReservedSession> {
    if (!this.#held) {
      const held = this.#cluster.reserve(this.#session ? { session: this.#session } : {})
      this.#held = held
      held.catch(() => {
        if (this.#held === held) this.#held = undefined
      })
    }
    return this.#held
  }

  /** Read-your-writes: a committed write's position goes into the facade's session. */
  async #observe(held: ReservedSession): Promise<void> {
    if (!this.#session) return
    try {
      const { rows } = await held.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn')
      if (rows[0]) this.#session.observe(rows[0].lsn)
    } catch {
      // The statement itself succeeded; a caller must not take it for failed. Reads then may lag it.
    }
  }
}
