/** What a statement returns, the same shape for every driver. */
export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[]
  /** Rows returned or affected. */
  rowCount: number
  /** The result's columns, in order. */
  fields?: Array<{ name: string; dataTypeID: number }>
}

/** How a statement's rows come back: objects keyed by column name (the default) or arrays in column order. */
export type RowMode = 'object' | 'array'

/**
 * One session with a PostgreSQL server. Type mapping is the same for every driver:
 * `int8` and `numeric` arrive as strings (no precision loss), `timestamptz` as `Date`,
 * `json`/`jsonb` parsed, `float8` as number.
 */
export interface DriverConnection {
  /** Runs one statement with `$n` parameters. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
    signal?: AbortSignal,
    rowMode?: RowMode,
  ): Promise<QueryResult<Row>>
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string, signal?: AbortSignal): Promise<void>
  /** True once the session is unusable: the server closed it, a statement was aborted mid-flight. */
  readonly broken: boolean
  /** Called at most once when the session breaks while nobody is using it. */
  onBroken(listener: (err: unknown) => void): void
  close(): Promise<void>
}

/** Opens sessions. `pgDriver` speaks to a server; `pgliteDriver` runs PostgreSQL in-process. */
export interface Driver {
  readonly name: string
  /** The most sessions this driver can hold at once (PGlite: 1). */
  readonly maxConnections: number
  connect(signal?: AbortSignal): Promise<DriverConnection>
  /** Releases what the driver itself holds (PGlite's instance). */
  close(): Promise<void>
}
