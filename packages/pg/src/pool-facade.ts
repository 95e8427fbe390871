import type { CallOptions, Cluster, ReservedSession } from './cluster.js'
import type { QueryResult, RowMode } from './driver.js'
import type { Session } from './session.js'

/** A statement as node-postgres takes it: text and values, or a config object. */
export type PgQueryConfig = { text: string; values?: readonly unknown[]; rowMode?: RowMode }

/** What `pg.Pool#query` and `PoolClient#query` resolve to, as far as query builders read it. */
export interface PgLikeResult<Row = Record<string, unknown>> {
  command: string
  rowCount: number
  rows: Row[]
  fields: Array<{ name: string; dataTypeID: number }>
}

/** The subset of `pg.PoolClient` that Kysely's `PostgresDialect` and Drizzle's node-postgres driver call. */
export interface PgLikeClient {
  query<Row = Record<string, unknown>>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>>
  release(err?: Error | boolean): void
}

/** The subset of `pg.Pool` those query builders call. */
export interface PgLikePool {
  connect(): Promise<PgLikeClient>
  query<Row = Record<string, unknown>>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>>
  end(): Promise<void>
  on(event: string, listener: (...args: unknown[]) => void): PgLikePool
}

/** Options of `asPool`. */
export interface AsPoolOptions {
  /** Read-your-writes for everything sent through this facade (one facade per request, say). */
  session?: Session
  /** Whether `end()` also ends the cluster. @default false */
  endsCluster?: boolean
}

/**
 * A `pg.Pool` look-alike over a cluster, so Kysely (and node-postgres-style code) get the routing
 * unchanged: outside a transaction, each read-only statement (`SELECT`, `WITH` without writes,
 * `SHOW`, `VALUES`, `TABLE`) goes where reads go, every other statement to the primary; from `BEGIN`
 * to `COMMIT`/`ROLLBACK` the client holds one primary session.
 *
 * @example
 * const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: asPool(cluster) }) })
 */
export function asPool(cluster: Cluster, options: AsPoolOptions = {}): PgLikePool {
  const callOptions: CallOptions = options.session ? { session: options.session } : {}
  const route = <Row>(sql: string, values: readonly unknown[], rowMode: RowMode | undefined) => {
    const opts = rowMode ? { ...callOptions, rowMode } : callOptions
    return isReadOnly(sql) ? cluster.read<Row>(sql, values, opts) : cluster.write<Row>(sql, values, opts)
  }
  const facade: PgLikePool = {
    async connect() {
      return new FacadeClient(cluster, callOptions, route)
    },
    async query<Row>(textOrConfig: string | PgQueryConfig, values?: readonly unknown[]) {
      const { text, params, rowMode } = normalise(textOrConfig, values)
      return toPgResult(text, await route<Row>(text, params, rowMode))
    },
    async end() {
      if (options.endsCluster) await cluster.end()
    },
    on() {
      return facade
    },
  }
  return facade
}

class FacadeClient implements PgLikeClient {
  readonly #cluster: Cluster
  readonly #options: CallOptions
  readonly #route: <Row>(
    sql: string,
    values: readonly unknown[],
    rowMode: RowMode | undefined,
  ) => Promise<QueryResult<Row>>
  #pinned: ReservedSession | undefined

  constructor(
    cluster: Cluster,
    options: CallOptions,
    route: <Row>(
      sql: string,
      values: readonly unknown[],
      rowMode: RowMode | undefined,
    ) => Promise<QueryResult<Row>>,
  ) {
    this.#cluster = cluster
    this.#options = options
    this.#route = route
  }

  async query<Row>(
    textOrConfig: string | PgQueryConfig,
    values?: readonly unknown[],
  ): Promise<PgLikeResult<Row>> {
    const { text, params, rowMode } = normalise(textOrConfig, values)
    const keyword = firstKeyword(text)
    if (!this.#pinned && (keyword === 'BEGIN' || keyword === 'START'))
      this.#pinned = await this.#cluster.reserve(this.#options)
    if (!this.#pinned) return toPgResult(text, await this.#route<Row>(text, params, rowMode))
    const pinned = this.#pinned
    try {
      const result = toPgResult(text, await pinned.query<Row>(text, params, rowMode))
      if (keyword === 'COMMIT' || keyword === 'ROLLBACK' || keyword === 'END' || keyword === 'ABORT') {
        this.#pinned = undefined
        pinned.release()
      }
      return result
    } catch (err) {
      if (keyword === 'COMMIT' || keyword === 'ROLLBACK' || keyword === 'END' || keyword === 'ABORT') {
        this.#pinned = undefined
        pinned.release(true)
      }
      throw err
    }
  }

  release(err?: Error | boolean): void {
    // A client released mid-transaction has a dirty session: close it rather than reuse it.
    this.#pinned?.release(true)
    this.#pinned = undefined
    void err
  }
}

function normalise(
  textOrConfig: string | PgQueryConfig,
  values?: readonly unknown[],
): { text: string; params: readonly unknown[]; rowMode: RowMode | undefined } {
  if (typeof textOrConfig === 'string')
    return { text: textOrConfig, params: values ?? [], rowMode: undefined }
  return {
    text: textOrConfig.text,
    params: textOrConfig.values ?? values ?? [],
    rowMode: textOrConfig.rowMode,
  }
}

function toPgResult<Row>(text: string, result: QueryResult<Row>): PgLikeResult<Row> {
  return {
    command: firstKeyword(text),
    rowCount: result.rowCount,
    rows: result.rows,
    fields: result.fields ?? [],
  }
}

/** The statement's first keyword, upper-cased, past leading spaces, comments and parentheses. */
function firstKeyword(sql: string): string {
  const match = /^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql)
  return match ? match[1]!.toUpperCase() : ''
}

const readKeywords = new Set(['SELECT', 'SHOW', 'VALUES', 'TABLE', 'WITH'])
const writeInside =
  /\b(INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b|\bINTO\b|\bnextval\s*\(/i

/** Whether a statement only reads: a read keyword, and nothing in it that writes or locks. */
export function isReadOnly(sql: string): boolean {
  return readKeywords.has(firstKeyword(sql)) && !writeInside.test(sql)
}
