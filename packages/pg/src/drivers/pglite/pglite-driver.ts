import type { Extensions, PGlite, PGliteOptions } from '@electric-sql/pglite'
import { abortable } from '../../abortable.js'
import type { Driver, DriverConnection, QueryResult, StatementOptions, TypeParsers } from '../../driver.js'
import { abortError, PgError, queryError } from '../../errors.js'
import { createPglite } from './pglite-client.js'

/** Options of `pgliteDriver`: a data directory to open, or an instance you already have. */
export interface PgliteDriverOptions {
  /** Where PGlite keeps its files; created on first use. Omit for an in-memory database. */
  dataDir?: string
  /** Extensions to load, e.g. `{ cube, earthdistance }` from `@electric-sql/pglite/contrib/*`. */
  extensions?: Extensions
  /** Use this instance instead of opening one; `close()` then leaves it open. */
  instance?: PGlite
  /** Label for errors and metrics. @default 'pglite' */
  label?: string
}

// OIDs of int8 and numeric: parsed as strings, as node-postgres does.
const INT8 = 20
const NUMERIC = 1700
const parsers = { [INT8]: (value: string) => value, [NUMERIC]: (value: string) => value }
const asText = (value: string) => value

/** Per instance: a parser for every type PGlite knows that hands back the column's text unparsed. */
const rawParsers = new WeakMap<PGlite, { size: number; parsers: Record<number, (value: string) => string> }>()

/**
 * Parsers that make PGlite return every column as its text, so a statement's own `types` can parse
 * it as node-postgres would. PGlite takes parsers only as a map by OID, merged over its own; a
 * `getTypeParser` function cannot be handed to it, so every OID it would parse is mapped to the text.
 */
function textParsers(db: PGlite): Record<number, (value: string) => string> {
  const size = Object.keys(db.parsers).length
  let cached = rawParsers.get(db)
  if (!cached || cached.size !== size) {
    // Array types are added to db.parsers once their OIDs are known: rebuild when the set grows.
    const map: Record<number, (value: string) => string> = {}
    for (const key of Object.keys(db.parsers)) if (/^\d+$/.test(key)) map[Number(key)] = asText
    cached = { size, parsers: map }
    rawParsers.set(db, cached)
  }
  return cached.parsers
}

/** Applies a statement's `types` to rows whose columns are all still text, as node-postgres does. */
function applyTypes<Row>(
  rows: unknown[],
  fields: ReadonlyArray<{ name: string; dataTypeID: number }>,
  types: TypeParsers,
  arrays: boolean,
): Row[] {
  const parse = fields.map((f) => types.getTypeParser(f.dataTypeID, 'text'))
  const at = (value: unknown, i: number) =>
    value === null || value === undefined ? null : parse[i]!(value as string)
  if (arrays) return (rows as unknown[][]).map((row) => row.map(at)) as Row[]
  return (rows as Record<string, unknown>[]).map((row) => {
    const out: Record<string, unknown> = {}
    fields.forEach((f, i) => {
      out[f.name] = at(row[f.name], i)
    })
    return out as Row
  })
}

/**
 * PGlite holds one session, so the driver hands out one connection at a time (`maxConnections: 1`)
 * and the pool serialises callers, transactions included.
 */
class PgliteConnection implements DriverConnection {
  readonly #db: PGlite
  readonly #label: string
  #broken = false

  constructor(db: PGlite, label: string) {
    this.#db = db
    this.#label = label
  }

  get broken(): boolean {
    return this.#broken
  }

  onBroken(): void {}

  /** `name` is not used: PGlite runs every statement unnamed, with the same result. */
  async query<Row>(
    sql: string,
    params: readonly unknown[],
    options: StatementOptions = {},
  ): Promise<QueryResult<Row>> {
    const { types } = options
    const rowMode = options.rowMode ?? 'object'
    const result = await this.#run(
      () =>
        this.#db.query<Row>(sql, params as unknown[], {
          parsers: types === undefined ? parsers : textParsers(this.#db),
          rowMode,
        }),
      options.signal,
      sql,
    )
    const fields = result.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }))
    return {
      rows:
        types === undefined ? result.rows : applyTypes<Row>(result.rows, fields, types, rowMode === 'array'),
      rowCount: result.affectedRows || result.rows.length,
      fields,
      ...(result.command ? { command: result.command } : {}),
    }
  }

  async exec(sql: string, signal?: AbortSignal): Promise<void> {
    await this.#run(() => this.#db.exec(sql), signal, sql)
  }

  async close(): Promise<void> {
    if (this.#broken) {
      // An aborted statement may have left a transaction open on the one shared session.
      await this.#db.query('ROLLBACK').catch(() => {})
    }
    this.#broken = true
  }

  async #run<T>(run: () => Promise<T>, signal: AbortSignal | undefined, sql: string): Promise<T> {
    if (this.#broken) {
      throw new PgError('E_CONNECTION_LOST', 'connection is closed', { context: { host: this.#label } })
    }
    try {
      return await abortable(run, signal, { host: this.#label }, () => {
        this.#broken = true
      })
    } catch (err) {
      throw queryError(err, { host: this.#label, statement: sql.slice(0, 200) })
    }
  }
}

/**
 * PostgreSQL in-process (PGlite, WebAssembly): the embedded default, no server to install.
 *
 * @example
 * const cluster = createCluster({ driver: pgliteDriver({ dataDir: './data/pglite' }) })
 */
export function pgliteDriver(options: PgliteDriverOptions = {}): Driver {
  const label = options.label ?? 'pglite'
  let opening: Promise<PGlite> | undefined
  const open = (): Promise<PGlite> => {
    if (options.instance) return Promise.resolve(options.instance)
    const settings: PGliteOptions = options.extensions ? { extensions: options.extensions } : {}
    opening ??= createPglite(options.dataDir ?? 'memory://', settings)
    return opening
  }
  return {
    name: label,
    maxConnections: 1,
    async connect(signal) {
      if (signal?.aborted) throw abortError(signal, { host: label })
      try {
        return new PgliteConnection(await open(), label)
      } catch (err) {
        opening = undefined
        throw new PgError('E_CONNECT', `cannot open PGlite: ${(err as Error).message}`, {
          cause: err,
          context: { host: label, dataDir: options.dataDir },
        })
      }
    },
    async close() {
      if (options.instance || !opening) return
      const db = await opening.catch(() => undefined)
      opening = undefined
      await db?.close()
    },
  }
}
