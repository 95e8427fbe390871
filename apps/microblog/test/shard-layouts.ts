import { writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { testServerUrl } from '@hundredfold/pg/testing'
import { parseShardMap } from '@hundredfold/shard'
import pg from 'pg'
import { inject } from 'vitest'

/** A shard map written for one test's microblog, and its servers. */
export interface ShardLayout {
  readonly path: string
  readonly document: Record<string, unknown>
}

let made = 0

/** The system's PostgreSQL server, as a shard map names it (no database). */
export function firstServerUrl(): string {
  const url = new URL(testServerUrl())
  url.pathname = ''
  return url.toString().replace(/\/$/, '')
}

/**
 * The microblog's shard map: `databases` × `tables` (users' binding group), spread round-robin over
 * the system's server and the run's second one, under a name of its own.
 */
export function microblogShardMap(
  options: {
    databases?: number
    tables?: number
    name?: string
    servers?: Record<string, { primary: string }>
  } = {},
) {
  const tables = options.tables ?? 4
  const user = (key: string) => ({ type: 'hash', key, tables, binding: 'user' })
  return {
    version: 1,
    name: options.name ?? `hfmb${process.pid}x${made++}`,
    servers: options.servers ?? {
      a: { primary: firstServerUrl() },
      b: { primary: inject('secondServerUrl') },
    },
    databases: { count: options.databases ?? 4, servers: 'round-robin' },
    tables: {
      users: user('user_id'),
      user_counters: user('user_id'),
      posts: user('author_id'),
      mentions: user('user_id'),
      following: user('follower_id'),
      followers: user('followee_id'),
      usernames: { type: 'lookup', key: 'username', value: 'user_id', target: 'users', tables },
      user_external_ids: { type: 'lookup', key: 'external_id', value: 'user_id', target: 'users', tables },
      post_locations: { type: 'hash', key: 'post_id', tables: 1 },
      app_secrets: { type: 'hash', key: 'name', tables: 1 },
    },
  }
}

/** Writes a map (default: 4 × 4 over two servers) to a temporary file for `HF_SHARD_MAP`. */
export async function writeShardMap(
  document: Record<string, unknown> = microblogShardMap(),
): Promise<ShardLayout> {
  const path = join(tmpdir(), `${String(document['name'])}.json`)
  await writeFile(path, JSON.stringify(document, null, 2))
  return { path, document }
}

/** Drops a layout's databases on their servers. */
export async function dropShardDatabases(layout: ShardLayout): Promise<void> {
  const map = parseShardMap(layout.document)
  for (const server of new Set(map.databases.map((d) => d.server.primary))) {
    const client = new pg.Client({ connectionString: `${server}/postgres` })
    client.on('error', () => {})
    await client.connect()
    try {
      for (const d of map.databases.filter((db) => db.server.primary === server)) {
        await client.query(`DROP DATABASE IF EXISTS ${d.name} WITH (FORCE)`)
      }
    } finally {
      await client.end()
    }
  }
}
