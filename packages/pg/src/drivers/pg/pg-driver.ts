import pg from 'pg'
import { abortable } from '../../abortable.js'
import type { Driver, DriverConnection, QueryResult, RowMode } from '../../driver.js'
import { abortError, PgError, queryError } from '../../errors.js'

/** Options of `pgDriver`: a connection string or node-postgres client settings. */
export interface PgDriverOptions {
  /** `postgres://user@host:port/db`; `config` wins where both set a field. */
  connectionString?: string
  /** Anything `new pg.Client(config)` takes. */
  config?: pg.ClientConfig
  /** Label for errors and metrics. @default host:port/database */
  label?: string
}

// node-postgres parses int8 and numeric as strings already; json, timestamptz and float8 as we want.

class PgConnection implements DriverConnection {
  readonly #client: pg.Client
  readonly #label: string
  #broken = false
  #busy = false
  #brokenListener: ((err: unknown) => void) | undefined

  constructor(client: pg.Client, label: string) {
    this.#client = client
    this.#label = label
    // An idle session's socket error must never reach the process as an unhandled 'error' event.
    client.on('error', (err) => this.#markBroken(err))
    client.on('end', () => this.#markBroken(new PgError('E_CONNECTION_LOST', `connection to ${label} ended`)))
  }

  get broken(): boolean {
    return this.#broken
  }

  onBroken(listener: (err: unknown) => void): void {
    this.#brokenListener = listener
  }

  async query<Row>(
    sql: string,
    params: readonly unknown[],
    signal?: AbortSignal,
    rowMode: RowMode = 'object',
  ): Promise<QueryResult<Row>> {
    const result = await this.#run(
      () =>
        rowMode === 'array'
          ? this.#client.query({ text: sql, values: params as unknown[], rowMode: 'array' })
          : this.#client.query(sql, params as unknown[]),
      signal,
      sql,
    )
    return {
      rows: result.rows as Row[],
      rowCount: result.rowCount ?? result.rows.length,
      fields: result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
    }
  }

  async exec(sql: string, signal?: AbortSignal): Promise<void> {
    await this.#run(() => this.#client.query(sql), signal, sql)
  }

  async close(): Promise<void> {
    this.#broken = true
    await this.#client.end().catch(() => {})
  }

  async #run<T>(run: () => Promise<T>, signal: AbortSignal | undefined, sql: string): Promise<T> {
    if (this.#broken) {
      throw new PgError('E_CONNECTION_LOST', `connection to ${this.#label} is closed`, {
        context: { host: this.#label },
      })
    }
    this.#busy = true
    try {
      return await abortable(run, signal, { host: this.#label }, () => {
        // The statement may still be running on the server: this session cannot be reused.
        this.#broken = true
        void this.#client.end().catch(() => {})
      })
    } catch (err) {
      if (err instanceof PgError) throw err
      if (this.#broken || isSocketFailure(err)) {
        this.#broken = true
        throw new PgError('E_CONNECTION_LOST', `connection to ${this.#label} was lost`, {
          cause: err,
          context: { host: this.#label },
        })
      }
      throw queryError(err, { host: this.#label, statement: sql.slice(0, 200) })
    } finally {
      this.#busy = false
    }
  }

  #markBroken(err: unknown): void {
    if (this.#broken) return
    this.#broken = true
    if (!this.#busy) this.#brokenListener?.(err)
  }
}

/**
 * Sessions with a PostgreSQL server through node-postgres (`pg`).
 *
 * @example
 * const cluster = createCluster({ driver: pgDriver({ connectionString: 'postgres://postgres@127.0.0.1/app' }) })
 */
export function pgDriver(options: PgDriverOptions): Driver {
  const config: pg.ClientConfig = {
    ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
    ...options.config,
  }
  const label = options.label ?? describe(config)
  return {
    name: label,
    maxConnections: Number.POSITIVE_INFINITY,
    async connect(signal) {
      if (signal?.aborted) throw abortError(signal, { host: label })
      const client = new pg.Client(config)
      const conn = new PgConnection(client, label)
      const onAbort = () => void client.end().catch(() => {})
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        await client.connect()
      } catch (err) {
        await conn.close()
        if (signal?.aborted) throw abortError(signal, { host: label })
        throw new PgError('E_CONNECT', `cannot connect to ${label}: ${(err as Error).message}`, {
          cause: err,
          context: { host: label },
        })
      } finally {
        signal?.removeEventListener('abort', onAbort)
      }
      return conn
    },
    async close() {},
  }
}

/** An error with no SQLSTATE that says the socket went away (node-postgres reports these as plain Errors). */
function isSocketFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const { code, message } = err as { code?: unknown; message?: unknown }
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return false
  return (
    (typeof code === 'string' && /^E(CONNRESET|PIPE|CONNREFUSED|TIMEDOUT)$/.test(code)) ||
    (typeof message === 'string' && /terminated|connection.*(closed|ended)|not queryable/i.test(message))
  )
}

function describe(config: pg.ClientConfig): string {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString)
      return `${url.hostname || 'localhost'}:${url.port || 5432}${url.pathname}`
    } catch {
      return 'postgres'
    }
  }
  return `${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`
}
