import type pg from 'pg'
import { PgError } from '../../errors.js'

/** Options of `pgDriver`: a connection string or node-postgres client settings. Defaults: `pgDriverDefaults`. */
export interface PgDriverOptions {
  /** `postgres://user@host:port/db`; `config` wins where both set a field. */
  connectionString?: string
  /** Anything `new pg.Client(config)` takes. */
  config?: pg.ClientConfig
  /** Label for errors and metrics. @default host:port/database */
  label?: string
  /**
   * The server cancels any statement running longer than this (`statement_timeout`, sent when each
   * session opens) with `E_STATEMENT_TIMEOUT`. Wins over `config.statement_timeout`.
   * @default undefined (the server's setting)
   */
  statementTimeoutMs?: number
  /** How long the cancel request sent for an aborted statement may take to reach the server. @default 2000 */
  cancelTimeoutMs?: number
}

/** The defaults of `PgDriverOptions`. */
export const pgDriverDefaults = Object.freeze({
  statementTimeoutMs: undefined as number | undefined,
  cancelTimeoutMs: 2000,
})

/** What `pgDriver` runs with: validated, frozen. */
export interface ResolvedPgDriverOptions {
  readonly config: pg.ClientConfig
  readonly label: string
  readonly statementTimeoutMs: number | undefined
  readonly cancelTimeoutMs: number
}

/** Validates `options` eagerly (messages name the option) and builds the client config. */
export function resolvePgDriverOptions(options: PgDriverOptions): ResolvedPgDriverOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalid('pgDriver(options) takes an object such as { connectionString }')
  }
  if (options.connectionString !== undefined && typeof options.connectionString !== 'string') {
    throw invalid('options.connectionString must be a string')
  }
  if (options.config !== undefined && (typeof options.config !== 'object' || options.config === null)) {
    throw invalid('options.config must be a pg.ClientConfig object')
  }
  if (options.label !== undefined && (typeof options.label !== 'string' || options.label === '')) {
    throw invalid('options.label must be a non-empty string')
  }
  const statementTimeoutMs = options.statementTimeoutMs ?? pgDriverDefaults.statementTimeoutMs
  if (
    statementTimeoutMs !== undefined &&
    !(Number.isInteger(statementTimeoutMs) && statementTimeoutMs > 0 && statementTimeoutMs <= 2 ** 31 - 1)
  ) {
    throw invalid('options.statementTimeoutMs must be a positive integer (milliseconds)')
  }
  const cancelTimeoutMs = options.cancelTimeoutMs ?? pgDriverDefaults.cancelTimeoutMs
  if (!(Number.isFinite(cancelTimeoutMs) && cancelTimeoutMs > 0)) {
    throw invalid('options.cancelTimeoutMs must be a positive number')
  }
  const config: pg.ClientConfig = {
    ...(options.connectionString === undefined ? {} : { connectionString: options.connectionString }),
    ...options.config,
    ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
  }
  return Object.freeze({
    config: Object.freeze(config),
    label: options.label ?? describe(config),
    statementTimeoutMs,
    cancelTimeoutMs,
  })
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

function invalid(message: string): PgError {
  return new PgError('E_INVALID_OPTION', message)
}
