import type { CallOptions, Cluster } from './cluster.js'
import type { QueryResult, RowMode, TypeParsers } from './driver.js'
import { PgError } from './errors.js'
import type { Session } from './session.js'
import { firstKeyword, isReadOnly } from './statement-kind.js'

export { isReadOnly } from './statement-kind.js'

/** A statement as node-postgres takes it: text and values, or a config object. */
export interface PgQueryConfig {
  text: string
  values?: readonly unknown[] | undefined
  rowMode?: RowMode | undefined
  /** Type parsers for this statement (Drizzle and Prisma pass their own). */
  types?: TypeParsers | undefined
  /** A prepared-statement name. */
  name?: string | undefined
}

/** What `pg.Pool#query` and `PoolClient#query` resolve to, as far as query builders read it. */
export interface PgLikeResult<Row = Record<string, unknown>> {
  command: string
  rowCount: number
  rows: Row[]
  fields: Array<{ name: string; dataTypeID: number }>
}

/** The subset of `pg.PoolClient` that Kysely, Drizzle's node-postgres driver and `@prisma/adapter-pg` call. */
export interface PgLikeClient {
  query<Row = Record<string, unknown>>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>>
  release(err?: Error | boolean): void
}

/** The subset of `pg.Pool` those libraries call. */
export interface PgLikePool {
  connect(): Promise<PgLikeClient>
  query<Row = Record<string, unknown>>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>>
  end(): Promise<void>
  on(event: string | symbol, listener: (...args: unknown[]) => void): this
}

/** One statement of a facade call, normalised. */
export interface FacadeStatement {
  text: string
  params: readonly unknown[]
  options: CallOptions
}

/** Reads `query(text, values)` or `query({ text, values, rowMode, types, name })` the way node-postgres does. */
export function normalise(
  textOrConfig: string | PgQueryConfig,
  values: readonly unknown[] | undefined,
  session: Session | undefined,
): FacadeStatement {
  const options: CallOptions = session ? { session } : {}
  if (typeof values === 'function') {
    throw new PgError('E_INVALID_OPTION', 'query() returns a promise; callbacks are not supported')
  }
  if (typeof textOrConfig === 'string') return { text: textOrConfig, params: values ?? [], options }
  if (
    typeof textOrConfig !== 'object' ||
    textOrConfig === null ||
    typeof textOrConfig.text !== 'string' ||
    typeof (textOrConfig as { submit?: unknown }).submit === 'function'
  ) {
    throw new PgError(
      'E_INVALID_OPTION',
      'query() takes SQL text or a { text, values, rowMode, types, name } config; cursors are not supported',
    )
  }
  if (textOrConfig.rowMode !== undefined) options.rowMode = textOrConfig.rowMode
  if (textOrConfig.types !== undefined) options.types = textOrConfig.types
  if (textOrConfig.name !== undefined) options.name = textOrConfig.name
  return { text: textOrConfig.text, params: textOrConfig.values ?? values ?? [], options }
}

/** Outside a held session: a read-only statement goes where reads go, any other to the primary. */
export function route<Row>(cluster: Cluster, statement: FacadeStatement): Promise<QueryResult<Row>> {
  const { text, params, options } = statement
  return isReadOnly(text)
    ? cluster.read<Row>(text, params, options)
    : cluster.write<Row>(text, params, options)
}

export function toPgResult<Row>(text: string, result: QueryResult<Row>): PgLikeResult<Row> {
  return {
    command: result.command ?? firstKeyword(text),
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields ?? [],
  }
}

/**
 * What a `pg.Pool` user expects when the server rejects a statement: the driver's own error, whose
 * `code` is the SQLSTATE (Prisma maps `23505` to P2002 by it; Drizzle users read `cause.code`).
 * The facade's own failures (pool timeouts, refusals, lost sessions) stay `PgError`.
 */
export function nativeError(err: unknown): unknown {
  if (!(err instanceof PgError) || (err.code !== 'E_QUERY' && err.code !== 'E_STATEMENT_TIMEOUT')) return err
  const cause = err.cause as { code?: unknown } | undefined
  return typeof cause === 'object' && cause !== null && typeof cause.code === 'string' ? cause : err
}
