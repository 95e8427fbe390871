import type pg from 'pg'
import { abortedError, ShardError } from '../errors.js'

let nodePostgres: Promise<typeof pg> | undefined

/** node-postgres, an optional peer, loaded at the first administrative connection. @internal */
export function loadPg(): Promise<typeof pg> {
  nodePostgres ??= import('pg').then(
    (module) => module.default,
    (err) => {
      nodePostgres = undefined
      throw new ShardError(
        'E_SHARD_QUERY',
        'resharding needs node-postgres: npm install pg',
        {},
        { cause: err },
      )
    },
  )
  return nodePostgres
}

/**
 * One administrative connection to one database (DDL, replication slots, subscriptions): statements
 * that may not run in a transaction block or through a pool's session reuse. Opened per step and
 * closed after; a fired signal cancels the statement in flight and closes the connection.
 *
 * @example
 * await withAdmin(url, (sql) => sql('CREATE DATABASE app_16'), signal)
 */
export async function withAdmin<T>(
  url: string,
  fn: (sql: AdminSql) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw abortedError(signal)
  const { Client } = await loadPg()
  const client = new Client({ connectionString: url })
  client.on('error', () => {}) // a dropped connection fails the statement in flight; nothing else to do
  await client.connect()
  const onAbort = () => {
    client.end().catch(() => {})
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await fn(async <Row = Record<string, unknown>>(text: string, params: readonly unknown[] = []) => {
      if (signal?.aborted) throw abortedError(signal)
      try {
        return (await client.query(text, params as unknown[])).rows as Row[]
      } catch (err) {
        if (signal?.aborted) throw abortedError(signal)
        throw new ShardError(
          'E_SHARD_QUERY',
          `${labelOf(url)}: ${(err as Error).message}`,
          { database: labelOf(url) },
          { cause: err },
        )
      }
    })
  } finally {
    signal?.removeEventListener('abort', onAbort)
    await client.end().catch(() => {})
  }
}

/** Runs one statement on an admin connection; rows come back as node-postgres parses them. */
export type AdminSql = <Row = Record<string, unknown>>(
  text: string,
  params?: readonly unknown[],
) => Promise<Row[]>

/** `host:port/database` of a url, for messages (never the credentials). */
export function labelOf(url: string): string {
  const parsed = new URL(url)
  return `${parsed.host}${parsed.pathname}`
}

/** A SQL identifier, double-quoted. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** A SQL string literal. */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`
}
