import { randomBytes } from 'node:crypto'
import { testServerUrl } from '@hundredfold/pg/testing'
import pg from 'pg'
import {
  createShardRouter,
  parseShardMap,
  pgConnect,
  type ShardMap,
  type ShardMapDocument,
  type ShardRouter,
  type ShardRouterOptions,
} from '../../src/index.js'

/** The test server's url without a database: what a map's servers take. */
export function serverUrl(): string {
  const url = new URL(testServerUrl())
  url.pathname = ''
  return url.toString().replace(/\/$/, '')
}

/** A unique map name, so test files running in parallel never share databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(3).toString('hex')}`
}

/**
 * A small map on the test server under two server names (`a`, `b`: the same PostgreSQL), so
 * databases spread over "two servers". Defaults: 4 databases × 4 tables.
 */
export function smallMap(
  prefix: string,
  tables: ShardMapDocument['tables'],
  databases = 4,
): ShardMapDocument {
  return {
    version: 1,
    name: uniqueName(prefix),
    servers: { a: { primary: serverUrl() }, b: { primary: serverUrl() } },
    databases: { count: databases },
    tables,
  }
}

/** Small pools: several test files share the server's 100 connections. */
export const testConnect = pgConnect({ pool: { max: 2 } })

/** Drops every database of a map (after the router is ended). */
export async function dropDatabases(map: ShardMap | ShardMapDocument): Promise<void> {
  const parsed = parseShardMap(map)
  const client = new pg.Client({ connectionString: testServerUrl() })
  client.on('error', () => {})
  await client.connect()
  try {
    for (const d of parsed.databases) await client.query(`DROP DATABASE IF EXISTS ${d.name} WITH (FORCE)`)
  } finally {
    await client.end()
  }
}

/** A router on a map, whose disposal ends it and drops the map's databases. */
export function routerFixture(
  map: ShardMapDocument,
  options: Omit<ShardRouterOptions, 'map'> = {},
): ShardRouter & AsyncDisposable {
  const router = createShardRouter({ map, connect: testConnect, ...options })
  return Object.assign(router, {
    [Symbol.asyncDispose]: async () => {
      await router.end()
      await dropDatabases(map)
    },
  })
}
