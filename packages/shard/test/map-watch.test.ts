import { randomBytes } from 'node:crypto'
import * as diagnostics from 'node:diagnostics_channel'
import { setTimeout as delay } from 'node:timers/promises'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import {
  createShardRouter,
  databaseUrl,
  loadShardMap,
  type MapWatchEvent,
  migrate,
  parseShardMap,
  SHARD_CHANNELS,
  ShardError,
  type ShardRouter,
  saveShardMap,
  type WatchShardMapOptions,
  watchShardMap,
} from '../src/index.js'
import { type SwitchPlan, switchRouters } from '../src/switch/switch-routers.js'
import { RELEASE_SWITCH_SQL } from '../src/switch/switch-tables.js'
import { rejection } from './support/caught.js'
import { routerFixture, serverUrl, smallMap, testConnect } from './support/shard-fixture.js'

/** Two databases, a posts table, the map stored in database 0 (the control database), watchers on it. */
async function fixture() {
  const document = smallMap('hf_watch', { posts: { type: 'hash', key: 'author_id', tables: 2 } }, 2)
  const setup = routerFixture(document)
  await migrate(setup, [
    {
      name: '001_posts',
      sql: 'CREATE TABLE {posts} (author_id bigint NOT NULL, post_id bigint PRIMARY KEY)',
    },
  ])
  await saveShardMap(setup.cluster(0), parseShardMap(document))
  const control = databaseUrl(serverUrl(), `${document.name}_00`)
  const cleanups: (() => Promise<void>)[] = []
  const events: MapWatchEvent[] = []
  const onEvent = (event: unknown) => events.push(event as MapWatchEvent)
  diagnostics.subscribe(SHARD_CHANNELS.mapWatch, onEvent)
  let post = 0
  return {
    control,
    setup,
    events,
    /** A router of its own, watching the control database with a short lease. */
    async watching(name: string, options: WatchShardMapOptions = {}) {
      const router = createShardRouter({ map: document, connect: testConnect })
      const watch = await watchShardMap(router, {
        connection: control,
        name,
        leaseMs: 1500,
        heartbeatMs: 300,
        ...options,
      })
      cleanups.push(async () => {
        await watch.stop()
        await router.end()
      })
      return { router, watch }
    },
    /** One write through a router; resolves with where it went. */
    async write(router: ShardRouter): Promise<number> {
      const id = ++post
      const handle = router.shard('posts', id % 7)
      await handle.write('INSERT INTO {posts} (author_id, post_id) VALUES ($1, $2)', [id % 7, id])
      return router.map.version
    },
    /** Statements on the control database, as an operator (or a crashed coordinator) would leave them. */
    async sql<Row = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<Row[]> {
      const client = new pg.Client({ connectionString: control })
      await client.connect()
      try {
        return (await client.query(text, params)).rows as Row[]
      } finally {
        await client.end()
      }
    },
    /** A switch to the same layout as the next version, data steps given by the test. */
    coordinate(overrides: Partial<SwitchPlan> = {}) {
      return switchRouters({
        control,
        id: `test:${randomBytes(3).toString('hex')}`,
        map: parseShardMap({ ...document, version: 2 }),
        databases: [0, 1],
        routers: [],
        prepareMs: 600,
        holdMs: 1000,
        routerWaitMs: 3000,
        resume: false,
        prepare: async () => {},
        apply: async () => {},
        commit: async () => {},
        signal: undefined,
        ...overrides,
      })
    },
    async [Symbol.asyncDispose]() {
      diagnostics.unsubscribe(SHARD_CHANNELS.mapWatch, onEvent)
      for (const cleanup of cleanups) await cleanup()
      await setup[Symbol.asyncDispose]()
    },
  }
}

/** A `holding` (or `switching`) switch and its announcement, as a coordinator that then died leaves it. */
function holdSql(phase: 'holding' | 'switching', id: string, holdMs: number): [string, unknown[]] {
  const message = JSON.stringify({ op: 'hold', switch: id, databases: [0, 1], version: 2, holdMs })
  return [
    `WITH s AS (INSERT INTO hf_shard_switch (id, phase, databases, version, hold_ms) VALUES ($1, $2, '{0,1}', 2, $3) RETURNING id)
     SELECT pg_notify('hf_shard_map', $4) FROM s`,
    [id, phase, holdMs, message],
  ]
}

async function until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await delay(10)
  }
}

/** Whether a promise is still pending after the event loop had a moment. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  return (await Promise.race([promise.then(() => false), delay(20, true)])) as boolean
}

describe('watchShardMap and the switch protocol', () => {
  it('switches every watching router to the new map, their writes buffered meanwhile and none failed', async () => {
    await using env = await fixture()
    const one = await env.watching('one')
    const two = await env.watching('two')
    let running = true
    const failures: unknown[] = []
    const versions = new Set<number>()
    const load = [one, two].map(async ({ router }) => {
      while (running) {
        await env.write(router).then(
          (v) => versions.add(v),
          (err: unknown) => failures.push(err),
        )
      }
    })
    await delay(50)
    const report = await env.coordinate({ prepare: () => delay(150) })
    await delay(50)
    running = false
    await Promise.all(load)
    expect(failures).toEqual([])
    expect([...versions].sort()).toEqual([1, 2])
    expect(report.version).toBe(2)
    expect(report.routers.map((r) => [r.name, r.version]).sort()).toEqual([
      ['one', 2],
      ['two', 2],
    ])
    for (const r of report.routers) expect(r.pauseMs).toBeGreaterThanOrEqual(150)
    expect(report.pauseMs).toBeLessThan(1000)
    expect(report.bufferedWrites).toBeGreaterThan(0)
    expect([one.router.map.version, two.router.map.version]).toEqual([2, 2])
    expect((await loadShardMap(env.setup.cluster(0))).version).toBe(2)
  })

  it('gives the hold up when the data is not ready: nothing switched, the held write goes on on the old map', async () => {
    await using env = await fixture()
    const { router } = await env.watching('one')
    let held: Promise<number> | undefined
    const error = await rejection(
      env.coordinate({
        prepare: async () => {
          held = env.write(router)
          expect(await pending(held)).toBe(true)
          throw new ShardError('E_RESHARD_STATE', 'not caught up')
        },
      }),
    )
    expect(error.message).toBe('not caught up')
    expect(await held).toBe(1)
    expect(router.map.version).toBe(1)
    expect(await env.sql('SELECT phase FROM hf_shard_switch')).toEqual([{ phase: 'released' }])
  })

  it('a router gives up a hold that outlives its time (its coordinator is gone) and goes on on the old map', async () => {
    await using env = await fixture()
    const { router } = await env.watching('one', { holdGraceMs: 200 })
    await env.sql(...holdSql('holding', 'gone', 200))
    await until('the hold', () => env.events.some((e) => e.event === 'hold'))
    const started = performance.now()
    expect(await env.write(router)).toBe(1)
    expect(performance.now() - started).toBeGreaterThan(250)
    expect(await env.sql('SELECT phase FROM hf_shard_switch')).toEqual([{ phase: 'released' }])
  })

  it('past its point of no return a switch keeps the writes held until it is finished, then they go to the new map', async () => {
    await using env = await fixture()
    const { router } = await env.watching('one', { holdGraceMs: 100 })
    await env.sql(...holdSql('switching', 'crashed', 100))
    await until('the hold', () => env.events.some((e) => e.event === 'hold'))
    const held = env.write(router)
    await delay(500) // past the hold's time: the router asks, sees `switching`, and keeps holding
    expect(await pending(held)).toBe(true)
    const report = await env.coordinate({ id: 'crashed', resume: true })
    expect(await held).toBe(2)
    expect(report.routers.map((r) => [r.name, r.version])).toEqual([['one', 2]])
  })

  it('a router that registers while a switch holds holds too', async () => {
    await using env = await fixture()
    await env.watching('first') // makes the tables
    await env.sql(...holdSql('holding', 'early', 10_000))
    const { router } = await env.watching('late')
    const held = env.write(router)
    expect(await pending(held)).toBe(true)
    await env.sql(RELEASE_SWITCH_SQL, ['early'])
    expect(await held).toBe(1)
  })

  it('a registered router that does not answer fails the switch before anything is held, until its lease runs out', async () => {
    await using env = await fixture()
    const { router } = await env.watching('one')
    await env.sql(
      "INSERT INTO hf_shard_router (id, name, version, lease_ms) VALUES ('ghost', 'ghost', 1, 1000)",
    )
    const refused = await rejection(env.coordinate({ routerWaitMs: 200 }))
    expect(refused.code).toBe('E_RESHARD_STATE')
    expect(refused.message).toMatch(
      /1 router\(s\) did not answer within 200 ms .*ghost \(ghost, \d+ ms left\); nothing was held/,
    )
    expect(await env.sql('SELECT id FROM hf_shard_switch')).toEqual([])
    const report = await env.coordinate({ routerWaitMs: 3000 })
    expect(report.excluded).toEqual([{ id: 'ghost', name: 'ghost' }])
    expect(report.routers.map((r) => [r.name, r.version])).toEqual([['one', 2]])
    expect(router.map.version).toBe(2)
  })

  it('a router whose control connection breaks reconnects and takes part in the next switch', async () => {
    await using env = await fixture()
    const { router, watch } = await env.watching('one')
    await env.sql(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'hundredfold-shard watch one'",
    )
    await until('the loss', () => env.events.some((e) => e.event === 'lost'))
    await until('the reconnection', () => watch.connected)
    expect(await env.write(router)).toBe(1)
    const report = await env.coordinate()
    expect(report.routers.map((r) => [r.name, r.version])).toEqual([['one', 2]])
  })

  it('a router that cannot renew its lease holds its own writes until it can again', async () => {
    await using env = await fixture()
    const { router, watch } = await env.watching('one')
    const lock = new pg.Client({ connectionString: env.control })
    await lock.connect()
    try {
      await lock.query('BEGIN')
      await lock.query('LOCK TABLE hf_shard_router IN ACCESS EXCLUSIVE MODE') // heartbeats wait
      await until('the fence', () => watch.fenced && env.events.some((e) => e.event === 'fenced'))
      const held = env.write(router)
      expect(await pending(held)).toBe(true)
      await lock.query('ROLLBACK')
      await expect(held).resolves.toBe(1)
      await until('the fence let go', () => !watch.fenced)
      expect(env.events.map((e) => e.event)).toContain('unfenced')
    } finally {
      await lock.end()
    }
  })
})
