import { Session } from '@hundredfold/pg'
import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createShardRouter, type Migration, migrate, pgConnect, type ShardRouter } from '../src/index.js'
import { uniqueName } from './support/shard-fixture.js'

// The default connect on a server with a streaming replica: each physical database's cluster gets the
// database name in the primary's and the replica's urls, writes go to the primary, reads to the replica.

const migrations: Migration[] = [
  { name: '001_users', sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY, name text)' },
]

describe('a server with a replica', () => {
  let set: ReplicaSet
  let router: ShardRouter
  beforeAll(async () => {
    set = await startReplicaSet({ replicas: 1 })
    const bare = (url: string) => url.replace(/\/postgres$/, '')
    router = createShardRouter({
      map: {
        version: 1,
        name: uniqueName('hf_shard_replica'),
        servers: { main: { primary: bare(set.primary.url), replicas: [bare(set.replicas[0]!.url)] } },
        databases: { count: 2 },
        tables: { users: { type: 'hash', key: 'user_id', tables: 2 } },
      },
      // Lag bounds loose enough for a busy machine: this test is about where reads go, not about lag.
      connect: pgConnect({
        pool: { max: 2 },
        routing: { probeIntervalMs: 100, maxLagMs: 30_000, tokenWaitMs: 5_000 },
      }),
    })
  }, 120_000)
  afterAll(async () => {
    await router?.end()
    await set?.destroy()
  })

  it('writes on the primary and reads its own writes from the replica', async () => {
    await migrate(router, migrations)
    const session = new Session()
    for (let id = 1; id <= 20; id++) {
      const user = router.shard('users', id)
      await user.write('INSERT INTO {users} VALUES ($1, $2)', [id, `u${id}`], { session })
      const { rows } = await user.read('SELECT name FROM {users} WHERE user_id = $1', [id], { session })
      expect(rows).toEqual([{ name: `u${id}` }])
    }
    const hostStats = () => router.databases().flatMap((d) => d.cluster.stats().hosts)
    const replicaReads = () =>
      hostStats()
        .filter((h) => h.role === 'replica')
        .reduce((n, h) => n + h.reads, 0)
    // On a busy machine the replica may not have been probed (every 100 ms) or have replayed a token yet
    // when the loop above read: a read without a token goes there once its lag is known.
    await vi.waitFor(
      async () => {
        for (const id of [1, 2]) await router.shard('users', id).read('SELECT 1 FROM {users} LIMIT 1')
        expect(replicaReads()).toBeGreaterThan(0)
      },
      { timeout: 20_000, interval: 100 },
    )
    const hosts = hostStats()
    expect(hosts.map((h) => h.host).sort()).toEqual(
      router.map.databases
        .flatMap((d) => [
          `127.0.0.1:${set.primary.port}/${d.name}`,
          `127.0.0.1:${set.replicas[0]!.port}/${d.name}`,
        ])
        .sort(),
    )
  })
})
