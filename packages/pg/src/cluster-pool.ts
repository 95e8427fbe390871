import { EventEmitter } from 'node:events'
import type { Cluster } from './cluster.js'
import { ClusterPoolClient } from './cluster-pool-client.js'
import { PgError } from './errors.js'
import {
  nativeError,
  normalise,
  type PgLikePool,
  type PgLikeResult,
  type PgQueryConfig,
  route,
  toPgResult,
} from './pool-facade.js'
import type { Session } from './session.js'
import { transactionControl } from './statement-kind.js'

/** Options of `asPool`. */
export interface AsPoolOptions {
  /** Read-your-writes for everything sent through this pool (one pool per request, say). */
  session?: Session
  /** Whether `end()` also ends the cluster. @default false */
  endsCluster?: boolean
}

/**
 * A `pg.Pool` look-alike over a cluster, for Kysely, Drizzle and other node-postgres users. Its
 * class name ends in `Pool`, which is how Drizzle's node-postgres driver tells a pool (check out a
 * client per transaction) from a client. `query()` routes each statement on its own — read-only
 * ones where reads go, the rest to the primary — so it refuses transaction control with
 * `E_TRANSACTION_CONTROL`; transactions go through `connect()`, whose client holds one primary
 * session. Per-statement `rowMode`, `types` and `name` are honoured.
 *
 * @example
 * const pool = asPool(cluster)
 * const db = drizzle(pool as unknown as pg.Pool) // or new Kysely({ dialect: new PostgresDialect({ pool }) })
 * await db.transaction(async (tx) => { … }) // one primary session, BEGIN to COMMIT
 */
export class ClusterPool extends EventEmitter implements PgLikePool {
  readonly #cluster: Cluster
  readonly #session: Session | undefined
  readonly #endsCluster: boolean
  #ended = false

  constructor(cluster: Cluster, options: AsPoolOptions = {}) {
    super()
    if (typeof cluster?.reserve !== 'function') throw invalid('asPool() takes a Cluster from createCluster()')
    if (options.session !== undefined && typeof options.session?.observe !== 'function') {
      throw invalid('options.session must be a Session')
    }
    if (options.endsCluster !== undefined && typeof options.endsCluster !== 'boolean') {
      throw invalid('options.endsCluster must be a boolean')
    }
    this.#cluster = cluster
    this.#session = options.session
    this.#endsCluster = options.endsCluster ?? false
  }

  /** A client for several statements in a row — a transaction — on one primary session. */
  async connect(): Promise<ClusterPoolClient> {
    if (this.#ended) throw closed()
    return new ClusterPoolClient(this.#cluster, this.#session)
  }

  /**
   * Runs one routed statement. Transaction control (`BEGIN`, `COMMIT`, `SAVEPOINT`, `SET
   * TRANSACTION`…) fails with `E_TRANSACTION_CONTROL`: the next statement may run on another session.
   */
  async query<Row = Record<string, unknown>>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>> {
    if (this.#ended) throw closed()
    const statement = normalise(textOrConfig, values, this.#session)
    const control = transactionControl(statement.text)
    if (control !== undefined) {
      throw new PgError(
        'E_TRANSACTION_CONTROL',
        `${control} cannot run through pool.query(), where each statement may run on another session; ` +
          'run the transaction on a client from pool.connect(), which holds one primary session until release()',
        { context: { statement: control } },
      )
    }
    try {
      return toPgResult(statement.text, await route<Row>(this.#cluster, statement))
    } catch (err) {
      throw nativeError(err)
    }
  }

  /** Refuses further calls; with `endsCluster`, ends the cluster too. */
  async end(): Promise<void> {
    this.#ended = true
    if (this.#endsCluster) await this.#cluster.end()
  }
}

/**
 * A `pg.Pool` look-alike over a cluster: see `ClusterPool`. For `@prisma/adapter-pg`, which wants an
 * `instanceof pg.Pool`, use `asPgPool` from `@hundredfold/pg/node-postgres`.
 *
 * @example
 * const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: asPool(cluster) }) })
 */
export function asPool(cluster: Cluster, options: AsPoolOptions = {}): ClusterPool {
  return new ClusterPool(cluster, options)
}

function closed(): PgError {
  return new PgError('E_POOL_CLOSED', 'this pool was ended')
}

function invalid(message: string): PgError {
  return new PgError('E_INVALID_OPTION', message)
}
