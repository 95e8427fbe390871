import pg from 'pg'
import { BenchError } from '../errors.js'

/** Default server for `--target postgres`: the Debian PostgreSQL on its standard port. */
export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/** A database name we may drop and recreate: lowercase identifier only. */
const SAFE_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Returns `serverUrl` pointed at another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/**
 * Drops and recreates `database` on the server, so every bench run starts from an empty schema.
 *
 * @example
 * await recreateDatabase(DEFAULT_POSTGRES_URL, 'hf_bench', signal)
 */
export async function recreateDatabase(
  serverUrl: string,
  database: string,
  signal: AbortSignal,
): Promise<void> {
  if (!SAFE_NAME.test(database)) {
    throw new BenchError('E_BENCH_OPTION', 'options.database must be a lowercase identifier', {
      context: { database },
    })
  }
  const client = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') })
  try {
    await client.connect()
    signal.throwIfAborted()
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
    await client.query(`CREATE DATABASE ${database}`)
  } catch (cause) {
    throw new BenchError('E_BENCH_TARGET', `cannot recreate database ${database} on ${redact(serverUrl)}`, {
      context: { database },
      cause,
    })
  } finally {
    await client.end().catch(() => {})
  }
}

/** Drops `database`; failures are ignored (best-effort cleanup). */
export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') })
  try {
    await client.connect()
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  } catch {
    // The next run recreates it anyway.
  } finally {
    await client.end().catch(() => {})
  }
}

/** True when a PostgreSQL server answers at `serverUrl` within a second. */
export async function postgresReachable(serverUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 1000 })
  try {
    await client.connect()
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

function redact(url: string): string {
  const parsed = new URL(url)
  if (parsed.password) parsed.password = '***'
  return parsed.toString()
}
