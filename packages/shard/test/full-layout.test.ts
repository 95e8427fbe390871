import { afterAll, describe, expect, it } from 'vitest'
import { createShardRouter, type Migration, migrate, pgConnect, shardIndexes } from '../src/index.js'
import { dropDatabases, serverUrl, uniqueName } from './support/shard-fixture.js'

// The default layout, for real: 16 databases × 64 tables = 1024 physical tables, made by migrate
// (one statement per database), then used and dropped.

const document = {
  version: 1,
  name: uniqueName('hf_shard_full'),
  servers: { a: { primary: serverUrl() }, b: { primary: serverUrl() } },
  tables: { users: { type: 'hash' as const, key: 'user_id' } },
}

const migrations: Migration[] = [
  { name: '001_users', sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY, name text NOT NULL)' },
]

describe('the full 16 × 64 layout', () => {
  afterAll(async () => {
    await dropDatabases(document)
  })

  it('creates 16 databases and 1024 tables, and routes 2000 users into them', {
    timeout: 120_000,
  }, async () => {
    const router = createShardRouter({ map: document, connect: pgConnect({ pool: { max: 1 } }) })
    try {
      const report = await migrate(router, migrations)
      expect(report.createdDatabases).toHaveLength(16)
      expect(report.steps).toHaveLength(16)
      expect(report.steps.flatMap((s) => s.physicalTables)).toHaveLength(1024)
      let tables = 0
      for (const d of router.databases()) {
        const { rows } = await d.cluster.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^users_[0-9]{2}$'",
        )
        tables += Number(rows[0]!.n)
      }
      expect(tables).toBe(1024)
      const ids = Array.from({ length: 2000 }, (_, i) => BigInt(i) * 7_919n + 1n)
      await Promise.all(
        ids.map((id) =>
          router
            .shard('users', id)
            .write('INSERT INTO {users} (user_id, name) VALUES ($1, $2)', [id, `u${id}`]),
        ),
      )
      for (const id of ids.slice(0, 50)) {
        const { database, table } = shardIndexes(id, 16, 64)
        const handle = router.shard('users', id)
        expect([handle.location.databaseIndex, handle.location.tableIndex]).toEqual([database, table])
        const { rows } = await handle.read('SELECT name FROM {users} WHERE user_id = $1', [id])
        expect(rows).toEqual([{ name: `u${id}` }])
      }
    } finally {
      await router.end()
    }
  })
})
