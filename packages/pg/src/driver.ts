/** What a statement returns, the same shape for every driver. */
export interface QueryResult<Row = Record<string, unknown>> {
  rows: Row[]
  /** Rows returned or affected. */
  rowCount: number
  /** The result's columns, in order. */
  fields?: Array<{ name: string; dataTypeID: number }>
  /** The verb of the server's command tag (`INSERT`, `SELECT`, `BEGIN`…), when the driver reports it. */
  command?: string
}

/** How a statement's rows come back: objects keyed by column name (the default) or arrays in column order. */
export type RowMode = 'object' | 'array'

/**
 * Per-statement type parsing, node-postgres's `types` query option: for each result column, the
 * parser of its type OID is asked for and applied to the column's text. Drizzle passes one so that
 * timestamps stay strings; Prisma passes one for its own types.
 *
 * @example
 * const raw: TypeParsers = { getTypeParser: () => (text) => text } // every column as its text
 * await cluster.read('SELECT now() AS t', [], { types: raw })       // rows[0].t is a string
 */
export interface TypeParsers {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown
}

/** How one statement runs. */
export interface StatementOptions {
  /** Aborts the statement; the session is then unusable (a running one is cancelled on the server). */
  signal?: AbortSignal | undefined
  /** Rows as objects (default) or as arrays in column order. */
  rowMode?: RowMode | undefined
  /** Replaces the driver's type mapping for this statement, as node-postgres's `types` does. */
  types?: TypeParsers | undefined
  /**
   * A prepared-statement name, as node-postgres's `name`: node-postgres prepares it once per session;
   * PGlite runs it unnamed (the result is the same).
   */
  name?: string | undefined
}

/**
 * One session with a PostgreSQL server. Type mapping is the same for every driver:
 * `int8` and `numeric` arrive as strings (no precision loss), `timestamptz` as `Date`,
 * `json`/`jsonb` parsed, `float8` as number — unless a statement brings its own `types`.
 */
export interface DriverConnection {
  /** Runs one statement with `$n` parameters. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
    options?: StatementOptions,
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
