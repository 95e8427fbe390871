import { Registry } from '@hundredfold/metrics'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createShardRouter,
  ensurePeriods,
  loadPeriods,
  type Migration,
  migrate,
  periodName,
  type ShardRouter,
} from '../src/index.js'
import { rejection, thrown } from './support/caught.js'
import { routerFixture, smallMap, testConnect } from './support/shard-fixture.js'

// Posts listed by month over a fake clock that crosses month ends, December into January included.

const document = smallMap(
  'hf_shard_range',
  {
    posts: {
      type: 'range',
      key: 'author_id',
      rangeColumn: 'created_at',
      interval: 'month',
      ahead: 2,
      tables: 2,
    },
    audit: { type: 'range', rangeColumn: 'at', interval: 'day', ahead: 1 },
  },
  2,
)

const migrations: Migration[] = [
  {
    name: '001_posts',
    sql: 'CREATE TABLE {posts} (author_id bigint NOT NULL, created_at timestamptz NOT NULL, body text)',
  },
  { name: '002_audit', sql: 'CREATE TABLE {audit} (at timestamptz NOT NULL, what text)' },
]

const insert = 'INSERT INTO {posts} (author_id, created_at, body) VALUES ($1, $2, $3)'

describe('range tables', () => {
  const registry = new Registry()
  let clock = Date.parse('2026-11-15T12:00:00Z')
  let router: ShardRouter & AsyncDisposable
  const gauge = (name: string) => {
    const match = new RegExp(`${name}\\{router="range",table="posts"\\} (-?\\d+)`).exec(registry.metrics())
    return match ? Number(match[1]) : undefined
  }

  beforeAll(() => {
    router = routerFixture(document, { metrics: registry, name: 'range', now: () => clock, horizonAlarm: 1 })
  })
  afterAll(async () => {
    await router?.[Symbol.asyncDispose]()
  })

  it('refuses a period whose tables were never made with E_RANGE_MISSING, and raises the alarm', () => {
    const error = thrown(() => router.shard('posts', 1, clock))
    expect(error).toMatchObject({ code: 'E_RANGE_MISSING', table: 'posts' })
    expect(error.physicalTable).toMatch(/^posts_0[01]_202611$/)
    expect(router.horizon('posts')).toBe(-1)
    expect(gauge('shard_range_horizon_alarm')).toBe(1)
  })

  it('makes the current period and `ahead` more, for every database and table index', async () => {
    const report = await migrate(router, migrations, { now: clock })
    const posts = report.steps.filter((s) => s.migration === '001_posts').flatMap((s) => s.physicalTables)
    expect(posts.map((t) => t.slice(-6)).sort()).toEqual([
      '202611',
      '202611',
      '202611',
      '202611',
      '202612',
      '202612',
      '202612',
      '202612',
      '202701',
      '202701',
      '202701',
      '202701',
    ])
    expect(router.periods.list('posts').map((p) => periodName('month', p))).toEqual([
      '202611',
      '202612',
      '202701',
    ])
    expect(router.horizon('posts')).toBe(2)
    expect(gauge('shard_range_horizon_periods')).toBe(2)
    expect(gauge('shard_range_horizon_alarm')).toBe(0)
    const lastSecond = new Date('2026-12-31T23:59:59.999Z')
    const december = router.shard('posts', 1, lastSecond)
    expect(december.table).toMatch(/_202612$/)
    await december.write(insert, [1, lastSecond, 'new year soon'])
    expect(thrown(() => router.shard('posts', 1, '2027-02-01T00:00:00Z')).code).toBe('E_RANGE_MISSING')
    const audit = router.shard('audit', undefined, clock)
    expect([audit.database, audit.table]).toEqual([router.map.databases[0]!.name, 'audit_20261115'])
  })

  it('lowers the horizon as the clock crosses month ends, until the alarm is raised in January', () => {
    clock = Date.parse('2026-11-30T23:59:59.999Z')
    expect(router.horizon('posts')).toBe(2)
    clock = Date.parse('2026-12-01T00:00:00Z')
    expect(router.horizon('posts')).toBe(1)
    expect(gauge('shard_range_horizon_alarm')).toBe(0)
    clock = Date.parse('2027-01-01T00:00:00Z')
    expect(router.horizon('posts')).toBe(0)
    expect(gauge('shard_range_horizon_periods')).toBe(0)
    expect(gauge('shard_range_horizon_alarm')).toBe(1)
  })

  it('ensurePeriods makes the periods ahead again, with every migration, and clears the alarm', async () => {
    const report = await ensurePeriods(router, migrations, { now: clock })
    expect(report.horizons['posts']).toBe(2)
    expect(router.periods.list('posts').map((p) => periodName('month', p))).toEqual([
      '202611',
      '202612',
      '202701',
      '202702',
      '202703',
    ])
    expect(gauge('shard_range_horizon_alarm')).toBe(0)
    const february = router.shard('posts', 1, '2027-02-28T10:00:00Z')
    await february.write(insert, [1, '2027-02-28T10:00:00Z', 'later'])
    const again = await ensurePeriods(router, migrations, { now: clock })
    expect(again.steps).toEqual([])
  })

  it('applies a later migration to every period made, old ones included', async () => {
    const next = [
      ...migrations,
      { name: '003_likes', sql: 'ALTER TABLE {posts} ADD COLUMN likes int NOT NULL DEFAULT 0' },
    ]
    const report = await migrate(router, next, { now: clock })
    expect(report.steps.flatMap((s) => s.physicalTables)).toHaveLength(5 * 2 * 2)
    const { rows } = await router
      .shard('posts', 1, '2026-12-15T00:00:00Z')
      .read<{ likes: number }>('SELECT likes FROM {posts} WHERE author_id = $1', [1])
    expect(rows).toEqual([{ likes: 0 }])
  })

  it('fans out over every period made, and another router learns the periods from the records', async () => {
    expect(router.targets('posts')).toHaveLength(5 * 2 * 2)
    let rows = 0
    for (const target of router.targets('posts', { readOnly: true })) {
      rows += Number((await target.query<{ n: string }>('SELECT count(*) AS n FROM {table}')).rows[0]!.n)
    }
    expect(rows).toBe(2)
    const reader = createShardRouter({ map: document, connect: testConnect })
    try {
      expect(thrown(() => reader.shard('posts', 1, '2026-12-15T00:00:00Z')).code).toBe('E_RANGE_MISSING')
      await loadPeriods(reader)
      expect(reader.periods.list('posts')).toEqual(router.periods.list('posts'))
      expect(reader.periods.list('audit')).toEqual(router.periods.list('audit'))
      await reader.shard('posts', 1, '2026-12-15T00:00:00Z').read('SELECT 1 FROM {posts}')
    } finally {
      await reader.end()
    }
  })

  it('does not count a period half made as made', async () => {
    const [, second] = router.databases()
    const table = router.map.locations('posts', [router.periods.last('posts')! + 1])[3]!
    expect(table.database).toBe(second!.name)
    // A record of one physical table of the next period only (written by hand, say).
    await second!.cluster.query(
      "INSERT INTO hf_shard_migrations (name, physical_table) VALUES ('001_posts', $1)",
      [table.physicalTable],
    )
    const reader = createShardRouter({ map: document, connect: testConnect })
    try {
      await loadPeriods(reader)
      expect(reader.periods.list('posts')).toEqual(router.periods.list('posts'))
    } finally {
      await reader.end()
    }
    await second!.cluster.query('DELETE FROM hf_shard_migrations WHERE physical_table = $1', [
      table.physicalTable,
    ])
    const missing = await rejection(
      Promise.resolve().then(() => router.shard('posts', 1, '2027-04-02T00:00:00Z')),
    )
    expect(missing.code).toBe('E_RANGE_MISSING')
  })
})
