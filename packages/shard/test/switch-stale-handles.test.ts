import type { Cluster, QueryResult } from '@hundredfold/pg'
import { describe, expect, it } from 'vitest'
import {
  type ConnectShard,
  createShardRouter,
  parseShardMap,
  planDoubling,
  ShardError,
  type ShardMap,
  type ShardMapDocument,
  type ShardRouter,
} from '../src/index.js'
import { rejection } from './support/caught.js'

// A switch as a cutover makes it (hold, useMap, release), on clusters that only record where each
// statement went: no timing, no server. The race it pins down: a request makes its handle under the old
// map, the switch happens while the request does something else (a read, a write on another shard), and
// the handle's write comes after the release — it must go to the key's new home, not the fenced old one
// (which a `complete` empties).

const v1 = parseShardMap({
  version: 1,
  name: 'stale',
  servers: { a: { primary: 'postgres://stub:5432' } },
  databases: { count: 4 },
  tables: {
    users: { type: 'hash', key: 'user_id', tables: 4, binding: 'user' },
    posts: { type: 'hash', key: 'author_id', tables: 4, binding: 'user' },
    usernames: { type: 'lookup', key: 'username', value: 'user_id', target: 'users', tables: 4 },
    countries: { type: 'broadcast' },
  },
} satisfies ShardMapDocument)
const v2 = parseShardMap(planDoubling(v1).to)
/** The reverse: the old layout again, as the next version. */
const v3 = parseShardMap({ ...v1.toJSON(), version: 3 })

/** A key whose `table` row moves between the two maps. */
function movingKey(table: string, from: ShardMap, to: ShardMap, keys: (i: number) => unknown = (i) => i) {
  for (let i = 1; ; i++) {
    const key = keys(i)
    if (from.resolve(table, key).database !== to.resolve(table, key).database) return key
  }
}

/** Clusters that record `database: sql`; reads on a database wait while it is in `stalled`. */
function recording() {
  const log: string[] = []
  const ended: string[] = []
  const stalled = new Map<string, { release: () => void; reached: Promise<void> }>()
  const connect: ConnectShard = (_server, database) => {
    const run = async (sql: string): Promise<QueryResult> => {
      log.push(`${database}: ${sql}`)
      return { rows: [{ ok: true }], rowCount: 1 }
    }
    const stub = {
      query: run,
      read: async (sql: string) => {
        await stalled.get(database)?.reached
        return run(sql)
      },
      transaction: async <T>(fn: (tx: { query: typeof run }) => Promise<T>) => {
        log.push(`${database}: BEGIN`)
        return fn({ query: run })
      },
      end: async () => {
        ended.push(database)
      },
    }
    return stub as unknown as Cluster
  }
  const stall = (database: string) => {
    let release = () => {}
    const reached = new Promise<void>((resolve) => (release = resolve))
    stalled.set(database, { release, reached })
    return () => {
      stalled.delete(database)
      release()
    }
  }
  return { connect, log, ended, stall }
}

/** What a cutover does to a router it switches: hold every database, swap maps, release. */
async function switchTo(router: ShardRouter, map: ShardMap): Promise<void> {
  const hold = await router.hold(router.map.databases.map((d) => d.index))
  try {
    router.useMap(map)
  } finally {
    hold.release()
  }
}

const lastOn = (log: readonly string[]) => log.at(-1)?.split(':')[0]

describe('handles made under the old map, used after a switch', () => {
  it("sends a write made ready before the switch and issued after it to the key's new home", async () => {
    const { connect, log } = recording()
    const router = createShardRouter({ map: v1, connect })
    const key = movingKey('users', v1, v2)
    const handle = router.shard('users', key)
    await switchTo(router, v2) // meanwhile the request was busy elsewhere
    await handle.write('INSERT INTO {users} (user_id) VALUES ($1)', [key])
    expect(lastOn(log)).toBe(v2.resolve('users', key).database)
    expect(log.at(-1)).toContain(v2.resolve('users', key).physicalTable)
    await router.end()
  })

  it('runs a transaction begun after the switch on the new home, with the new map for its other keys', async () => {
    const { connect, log } = recording()
    const router = createShardRouter({ map: v1, connect })
    const key = movingKey('users', v1, v2)
    const handle = router.shard('users', key)
    await switchTo(router, v2)
    const version = await handle.transaction(async (tx) => {
      await tx.shard('posts', key).query('INSERT INTO {posts} (author_id) VALUES ($1)', [key])
      return tx.map.version
    })
    expect(version).toBe(2)
    expect(log.slice(-2).map((l) => l.split(':')[0])).toEqual([
      v2.resolve('users', key).database,
      v2.resolve('users', key).database,
    ])
    await router.end()
  })

  it("sends a lookup's link held by the switch to the value's new home", async () => {
    const { connect, log } = recording()
    const router = createShardRouter({ map: v1, connect })
    const name = movingKey('usernames', v1, v2, (i) => `user${i}`) as string
    const hold = await router.hold([0, 1, 2, 3])
    const linked = router.link('usernames', name, 7)
    router.useMap(v2)
    hold.release()
    await linked
    expect(lastOn(log)).toBe(v2.resolve('usernames', name).database)
    await router.end()
  })

  it("writes a broadcast handle's copies on every database of the new map", async () => {
    const { connect, log } = recording()
    const router = createShardRouter({ map: v1, connect })
    const countries = router.broadcast('countries')
    await switchTo(router, v2)
    await countries.write('INSERT INTO {countries} VALUES ($1) ON CONFLICT DO NOTHING', ['fr'])
    expect(new Set(log.map((l) => l.split(':')[0]))).toEqual(new Set(v2.databases.map((d) => d.name)))
    await router.end()
  })
})

describe('a switch to a map with fewer databases (a reverse)', () => {
  it('answers a read queued on a dropped database, then ends its cluster; later the old handle gets E_MAP_CHANGED', async () => {
    const { connect, log, ended, stall } = recording()
    const router = createShardRouter({ map: v2, connect })
    const key = movingKey('users', v2, v3)
    const dropped = v2.resolve('users', key).database
    expect(v3.databases.map((d) => d.name)).not.toContain(dropped)
    const handle = router.shard('users', key)
    const unstall = stall(dropped)
    const read = handle.read('SELECT * FROM {users} WHERE user_id = $1', [key])
    await switchTo(router, v3)
    expect(ended).toEqual([]) // the read is still running there
    unstall()
    expect((await read).rows).toEqual([{ ok: true }])
    expect(ended).toContain(dropped)
    const late = await rejection(handle.read('SELECT 1'))
    expect(late).toBeInstanceOf(ShardError)
    expect(late.code).toBe('E_MAP_CHANGED')
    expect(late.database).toBe(dropped)
    // Its writes still find the key's home, and new handles are on the new map.
    await handle.write('UPDATE {users} SET name = $2 WHERE user_id = $1', [key, 'x'])
    expect(lastOn(log)).toBe(v3.resolve('users', key).database)
    expect(router.shard('users', key).database).toBe(v3.resolve('users', key).database)
    await router.end()
  })

  it('waits for a handle of a map two switches old that runs again on a database the second one drops', async () => {
    const { connect, ended, stall } = recording()
    const router = createShardRouter({ map: v2, connect })
    const key = movingKey('users', v2, v3)
    const dropped = v2.resolve('users', key).database
    const handle = router.shard('users', key)
    await handle.read('SELECT 1')
    await switchTo(router, parseShardMap({ ...v2.toJSON(), version: 3 })) // same databases
    const unstall = stall(dropped)
    const read = handle.read('SELECT 1')
    await switchTo(router, parseShardMap({ ...v1.toJSON(), version: 4 }))
    expect(ended).toEqual([])
    unstall()
    await read
    expect(ended).toContain(dropped)
    await router.end()
  })

  it('keeps the cluster of a dropped database that the next map has again', async () => {
    const { connect, ended, stall } = recording()
    const router = createShardRouter({ map: v2, connect })
    const key = movingKey('users', v2, v3)
    const dropped = v2.resolve('users', key).database
    const before = router.cluster(dropped)
    const unstall = stall(dropped)
    const read = router.shard('users', key).read('SELECT 1')
    await switchTo(router, v3)
    await switchTo(router, parseShardMap({ ...v2.toJSON(), version: 4 }))
    unstall()
    await read
    expect(ended).toEqual([])
    expect(router.cluster(dropped)).toBe(before)
    await router.end()
  })
})
