import { abortedError, IdError } from '../../errors.js'
import { MAX_WORKER_ID } from '../../layout.js'
import type { AcquireRequest, LeaseGrant, LeaseKey, LeaseStore } from '../../lease/lease-store.js'

/** The subset of `@hundredfold/pg`'s `Cluster` (or anything alike) the store uses. */
export interface PgQueryable {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: { signal?: AbortSignal },
  ): Promise<{ rows: Row[]; rowCount: number }>
  transaction<T>(
    fn: (tx: {
      query<Row = Record<string, unknown>>(
        sql: string,
        params?: readonly unknown[],
        options?: { signal?: AbortSignal },
      ): Promise<{ rows: Row[]; rowCount: number }>
    }) => Promise<T>,
    options?: { signal?: AbortSignal },
  ): Promise<T>
}

/** Options of {@link pgLeaseStore}. */
export interface PgLeaseStoreOptions {
  /** A `@hundredfold/pg` cluster (`createCluster({ driver: pgDriver({ connectionString }) })`). Required. */
  cluster: PgQueryable
  /**
   * The lease table; created with its 1024 rows on first use.
   * @default 'hundredfold_id_worker_leases'
   */
  table?: string
  /**
   * Close the cluster in `close()` (when the store made it or owns it).
   * @default false
   */
  ownsCluster?: boolean
}

interface GrantRow {
  worker_id: number
  fencing_token: string
  last_timestamp: string
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,50}$/

/**
 * A {@link LeaseStore} in PostgreSQL: one row per worker id (holder, fencing token, expiry, last timestamp),
 * with every expiry computed on the database's clock so that hosts whose clocks disagree still agree on
 * who holds what. Acquisition is a single `UPDATE … FOR UPDATE SKIP LOCKED`, so concurrent starts never
 * take the same worker id.
 *
 * @example
 * import { createCluster } from '@hundredfold/pg'
 * import { pgDriver } from '@hundredfold/pg/node-postgres'
 * import { pgLeaseStore } from '@hundredfold/id/pg'
 * const cluster = createCluster({ driver: pgDriver({ connectionString: process.env.DATABASE_URL }) })
 * const lease = await acquireWorkerLease({ store: pgLeaseStore({ cluster }) })
 */
export function pgLeaseStore(options: PgLeaseStoreOptions): PgLeaseStore {
  return new PgLeaseStore(options)
}

/** The class behind {@link pgLeaseStore}. */
export class PgLeaseStore implements LeaseStore {
  readonly name = 'postgres'
  readonly #cluster: PgQueryable
  readonly #table: string
  readonly #sequence: string
  readonly #ownsCluster: boolean
  #schema: Promise<void> | undefined

  constructor(options: PgLeaseStoreOptions) {
    if (!options || typeof options.cluster?.query !== 'function') {
      throw new IdError('E_INVALID_OPTION', 'options.cluster must be a @hundredfold/pg cluster', {
        option: 'options.cluster',
        value: options?.cluster,
      })
    }
    const table = options.table ?? 'hundredfold_id_worker_leases'
    if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
      throw new IdError('E_INVALID_OPTION', 'options.table must match [a-z_][a-z0-9_]{0,50}', {
        option: 'options.table',
        value: table,
      })
    }
    this.#cluster = options.cluster
    this.#table = table
    this.#sequence = `${table}_fencing`
    this.#ownsCluster = options.ownsCluster ?? false
  }

  /**
   * Creates the table, its fencing-token sequence and the 1024 rows if they are missing. Runs once per store
   * (the first `acquire` calls it); concurrent processes serialise on an advisory lock.
   */
  ensureSchema(signal?: AbortSignal): Promise<void> {
    this.#schema ??= this.#createSchema(signal).catch((error: unknown) => {
      this.#schema = undefined
      throw error
    })
    return this.#schema
  }

  async acquire(request: AcquireRequest, signal?: AbortSignal): Promise<LeaseGrant | undefined> {
    await this.ensureSchema(signal)
    // The hint first if free, then never-used rows, then the one that has rested longest.
    const { rows } = await this.#run(
      () =>
        this.#cluster.query<GrantRow>(
          `WITH candidate AS (
             SELECT worker_id, last_timestamp AS previous FROM ${this.#table}
              WHERE expires_at IS NULL
                 OR expires_at + make_interval(secs => $3::float8 / 1000) <= clock_timestamp()
              ORDER BY worker_id = $4 DESC NULLS LAST, expires_at ASC NULLS FIRST, worker_id
              LIMIT 1
              FOR UPDATE SKIP LOCKED
           )
           UPDATE ${this.#table} AS l
              SET holder = $1,
                  fencing_token = nextval('${this.#sequence}'),
                  acquired_at = clock_timestamp(),
                  renewed_at = clock_timestamp(),
                  expires_at = clock_timestamp() + make_interval(secs => $2::float8 / 1000),
                  last_timestamp = GREATEST(l.last_timestamp, $5)
             FROM candidate
            WHERE l.worker_id = candidate.worker_id
        RETURNING l.worker_id, l.fencing_token, candidate.previous AS last_timestamp`,
          [request.holder, request.ttlMs, request.quarantineMs, request.hint ?? null, request.issueUntil],
          { signal },
        ),
      signal,
    )
    const row = rows[0]
    if (!row) return undefined
    return {
      workerId: row.worker_id,
      fencingToken: Number(row.fencing_token),
      holder: request.holder,
      lastTimestamp: Number(row.last_timestamp),
    }
  }

  async renew(
    key: LeaseKey,
    update: { ttlMs: number; issueUntil: number },
    signal?: AbortSignal,
  ): Promise<void> {
    const { rowCount } = await this.#run(
      () =>
        this.#cluster.query(
          `UPDATE ${this.#table}
              SET expires_at = clock_timestamp() + make_interval(secs => $4::float8 / 1000),
                  renewed_at = clock_timestamp(),
                  last_timestamp = GREATEST(last_timestamp, $5)
            WHERE worker_id = $1 AND fencing_token = $2 AND holder = $3 AND expires_at > clock_timestamp()`,
          [key.workerId, key.fencingToken, key.holder, update.ttlMs, update.issueUntil],
          { signal },
        ),
      signal,
    )
    if (rowCount === 0) {
      throw new IdError('E_LEASE_LOST', `worker id ${key.workerId} is no longer held by this lease`, {
        workerId: key.workerId,
        fencingToken: key.fencingToken,
      })
    }
  }

  async release(key: LeaseKey, lastTimestamp: number, signal?: AbortSignal): Promise<void> {
    await this.#run(
      () =>
        this.#cluster.query(
          `UPDATE ${this.#table}
              SET holder = NULL,
                  expires_at = LEAST(expires_at, clock_timestamp()),
                  last_timestamp = $4
            WHERE worker_id = $1 AND fencing_token = $2 AND holder = $3`,
          [key.workerId, key.fencingToken, key.holder, lastTimestamp],
          { signal },
        ),
      signal,
    )
  }

  async close(): Promise<void> {
    if (this.#ownsCluster) await (this.#cluster as { end?: () => Promise<void> }).end?.()
  }

  async #createSchema(signal?: AbortSignal): Promise<void> {
    await this.#run(
      () =>
        this.#cluster.transaction(
          async (tx) => {
            await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.#table])
            await tx.query(`CREATE SEQUENCE IF NOT EXISTS ${this.#sequence}`)
            await tx.query(
              `CREATE TABLE IF NOT EXISTS ${this.#table} (
                 worker_id integer PRIMARY KEY CHECK (worker_id BETWEEN 0 AND ${MAX_WORKER_ID}),
                 holder text,
                 fencing_token bigint NOT NULL DEFAULT 0,
                 acquired_at timestamptz,
                 renewed_at timestamptz,
                 expires_at timestamptz,
                 last_timestamp bigint NOT NULL DEFAULT 0
               )`,
            )
            await tx.query(
              `INSERT INTO ${this.#table} (worker_id)
               SELECT g FROM generate_series(0, ${MAX_WORKER_ID}) AS g
               ON CONFLICT (worker_id) DO NOTHING`,
            )
          },
          { signal },
        ),
      signal,
    )
  }

  async #run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw abortedError(signal)
    try {
      return await fn()
    } catch (error) {
      if (error instanceof IdError) throw error
      if (signal?.aborted) throw abortedError(signal)
      const message = error instanceof Error ? error.message : String(error)
      throw new IdError('E_LEASE_STORE', `lease store (postgres) failed: ${message}`, {}, { cause: error })
    }
  }
}
