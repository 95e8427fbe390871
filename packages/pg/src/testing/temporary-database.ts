import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** A database made for one test run; `drop()` removes it. */
export interface TemporaryDatabase {
  readonly name: string
  /** Connection string of the new database. */
  readonly url: string
  drop(): Promise<void>
}

/** The server the tests use: `HF_TEST_PG_URL`, else the local server on 127.0.0.1:5432. */
export function testServerUrl(): string {
  return process.env['HF_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres'
}

/**
 * Creates an empty database on a PostgreSQL server, named `<prefix>_<random>`, so test files can
 * run in parallel without seeing each other's rows.
 *
 * @example
 * const db = await temporaryDatabase({ prefix: 'pg_contract' })
 * try { ... db.url ... } finally { await db.drop() }
 */
export async function temporaryDatabase(
  options: { adminUrl?: string; prefix?: string } = {},
): Promise<TemporaryDatabase> {
  const adminUrl = options.adminUrl ?? testServerUrl()
  const prefix = (options.prefix ?? 'hf_test').replace(/[^a-z0-9_]/gi, '_').toLowerCase()
  const name = `${prefix}_${randomBytes(4).toString('hex')}`
  await admin(adminUrl, `CREATE DATABASE ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: () => admin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  client.on('error', () => {})
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
