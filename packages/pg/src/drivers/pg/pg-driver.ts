import type pg from 'pg'
import { abortable } from '../../abortable.js'
import type { Driver, DriverConnection, QueryResult, StatementOptions } from '../../driver.js'
import { abortError, PgError, queryError } from '../../errors.js'
import { sendCancelRequest } from './cancel-request.js'
import { Client } from './pg-client.js'
import {
  type PgDriverOptions,
  type ResolvedPgDriverOptions,
  resolvePgDriverOptions,
} from './pg-driver-options.js'

// node-postgres parses int8 and numeric as strings already; json, timestamptz and float8 as we want.

class PgConnection implements DriverConnection {
  readonly #client: pg.Client
  readonly #options: ResolvedPgDriverOptions
  #broken = false
  #busy = false
  #brokenListener: ((err: unknown) => void) | undefined
  /** Set once the session is on its way out: the cancel request (if any), then `end()`. */
  #closing: Promise<void> | undefined

  constructor(client: pg.Client, options: ResolvedPgDriverOptions) {
    this.#client = client
    this.#options = options
    const { label } = options
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
    options: StatementOptions = {},
  ): Promise<QueryResult<Row>> {
    const { rowMode, types, name } = options
    const result = await this.#run(
      () =>
        rowMode === 'array' || types !== undefined || name !== undefined
          ? this.#client.query({
              text: sql,
              values: params as unknown[],
              ...(rowMode === 'array' ? { rowMode: 'array' as const } : {}),
              ...(types === undefined ? {} : { types: types as pg.CustomTypesConfig }),
              ...(name === undefined ? {} : { name }),
            })
          : this.#client.query(sql, params as unknown[]),
      options.signal,
      sql,
    )
    return {
      rows: result.rows as Row[],
      rowCount: result.rowCount ?? result.rows.length,
      fields: result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      ...(result.command ? { command: result.command } : {}),
    }
  }

  async exec(sql: string, signal?: AbortSignal): Promise<void> {
    await this.#run(() => this.#client.query(sql), signal, sql)
  }

  async close(): Promise<void> {
    this.#broken = true
    this.#closing ??= this.#client.end().catch(() => {})
    await this.#closing
  }

  async #run<T>(run: () => Promise<T>, signal: AbortSignal | undefined, sql: string): Promise<T> {
    const { label } = this.#options
    if (this.#broken) {
      throw new PgError('E_CONNECTION_LOST', `connection to ${label} is closed`, { context: { host: label } })
    }
    this.#busy = true
    try {
      return await abortable(run, signal, { host: label }, () => this.#abandon())
    } catch (err) {
      if (err instanceof PgError) throw err
      if (this.#broken || isSocketFailure(err)) {
        this.#broken = true
        throw new PgError('E_CONNECTION_LOST', `connection to ${label} was lost`, {
          cause: err,
          context: { host: label },
        })
      }
      throw queryError(err, {
        host: label,
        statement: sql.slice(0, 200),
        ...(this.#options.statementTimeoutMs === undefined
          ? {}
          : { statementTimeoutMs: this.#options.statementTimeoutMs }),
      })
    } finally {
      this.#busy = false
    }
  }

  /**
   * The caller gave up on a running statement. Closing the socket alone would not stop it: the server
   * notices a gone client only when it next reads. So the statement is cancelled first, then the
   * session (in an unknown state now) is closed.
   */
  #abandon(): void {
    this.#broken = true
    this.#closing ??= sendCancelRequest(this.#client, this.#options.cancelTimeoutMs)
      .then(() => this.#client.end())
      .catch(() => {})
  }

  #markBroken(err: unknown): void {
    if (this.#broken) return
    this.#broken = true
    if (!this.#busy) this.#brokenListener?.(err)
  }
}

/**
 * Sessions with a PostgreSQL server through node-postgres (`pg`). Options are validated here, at
 * once; `statementTimeoutMs` bounds every statement on the server.
 *
 * @example
 * const cluster = createCluster({
 *   driver: pgDriver({ connectionString: 'postgres://postgres@127.0.0.1/app', statementTimeoutMs: 5000 }),
 * })
 */
export function pgDriver(options: PgDriverOptions): Driver {
  const resolved = resolvePgDriverOptions(options)
  const { config, label } = resolved
  return {
    name: label,
    maxConnections: Number.POSITIVE_INFINITY,
    async connect(signal) {
      if (signal?.aborted) throw abortError(signal, { host: label })
      const client = new Client(config)
      const conn = new PgConnection(client, resolved)
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
