import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../src/options.js'
import { svgToPng } from '../src/report/write-report.js'
import type { StepRecord } from '../src/results.js'
import {
  STAGES,
  type StageDefinition,
  selectStages,
  stageEnv,
  stageKnobs,
} from '../src/suites/stages/stage-ladder.js'
import { ladderMetrics, type StageRow, skippedRow, stageRow } from '../src/suites/stages/stage-row.js'
import { probeStores, type StoreAvailability, skipReason } from '../src/suites/stages/stage-stores.js'
import { stagesChart } from '../src/suites/stages/stages-chart.js'
import { renderStagesHtml, writeStagesReport } from '../src/suites/stages/stages-report.js'
import { type StagesDocument, writeStagesResults } from '../src/suites/stages/stages-results.js'
import { describeApp, recordableSettings } from '../src/target/app-record.js'

const stage = (name: string): StageDefinition => STAGES.find((s) => s.name === name)!
const servers = (replicas: number) => ({
  databaseUrl: 'postgres://postgres@127.0.0.1:20000/hf_bench',
  replicaUrls: Array.from(
    { length: replicas },
    (_, i) => `postgres://postgres@127.0.0.1:${20001 + i}/hf_bench`,
  ),
  redisUrl: 'redis://127.0.0.1:6379',
  natsUrl: 'nats://127.0.0.1:4222',
  namespace: 'bench_1_x',
})
const envOf = (name: string) => stageEnv(stage(name), servers(stage(name).replicas))

describe('stage configuration', () => {
  it('runs the ladder in order, each stage keeping what the one before added', () => {
    expect(STAGES.map((s) => s.name)).toEqual(['single', 'pool', 'cache', 'replicas', 'queue'])
    for (let i = 1; i < STAGES.length; i++) {
      const [before, after] = [STAGES[i - 1]!, STAGES[i]!]
      expect(after.replicas).toBeGreaterThanOrEqual(before.replicas)
      if (before.cache) expect(after.cache).toBe(true)
      if (before.queue) expect(after.queue).toBe(true)
    }
  })

  it('maps single to one session on PostgreSQL with no cache, no Redis and no queue', () => {
    expect(envOf('single')).toEqual({
      HF_DATABASE_URL: 'postgres://postgres@127.0.0.1:20000/hf_bench',
      HF_DATABASE_REPLICA_URLS: '',
      HF_DB_POOL_MAX: '1',
      HF_CACHE: 'off',
      HF_QUEUE: 'off',
      HF_REDIS_URL: '',
      HF_NATS_URL: '',
      HF_NAMESPACE: 'bench_1_x',
    })
  })

  it('leaves the pool at the app default from pool on, and adds Redis, replicas and the queue in turn', () => {
    expect(envOf('pool')).toMatchObject({ HF_DB_POOL_MAX: '', HF_CACHE: 'off', HF_REDIS_URL: '' })
    expect(envOf('cache')).toMatchObject({
      HF_CACHE: 'on',
      HF_REDIS_URL: 'redis://127.0.0.1:6379',
      HF_QUEUE: 'off',
    })
    expect(envOf('replicas')).toMatchObject({
      HF_DATABASE_REPLICA_URLS:
        'postgres://postgres@127.0.0.1:20001/hf_bench,postgres://postgres@127.0.0.1:20002/hf_bench',
      HF_NATS_URL: '',
    })
    expect(envOf('queue')).toMatchObject({
      HF_CACHE: 'on',
      HF_QUEUE: 'on',
      HF_NATS_URL: 'nats://127.0.0.1:4222',
      HF_REDIS_URL: 'redis://127.0.0.1:6379',
    })
  })

  it('reads back, the way the app reads its settings, as the stores each stage names', () => {
    const stores = STAGES.map((s) => describeApp(envOf(s.name)))
    expect(stores.map((s) => s.stores.cache)).toEqual(['off', 'off', 'redis', 'redis', 'redis'])
    expect(stores.map((s) => s.stores.database)).toEqual([
      'postgresql',
      'postgresql',
      'postgresql',
      'postgresql + 2 replicas',
      'postgresql + 2 replicas',
    ])
    expect(stores.map((s) => s.queue)).toEqual(['off', 'off', 'off', 'off', 'jetstream'])
    expect(stores.map((s) => s.stores.home_timelines)).toEqual(['query', 'query', 'query', 'query', 'redis'])
  })

  it('refuses servers with another number of replicas than the stage has', () => {
    expect(() => stageEnv(stage('replicas'), servers(1))).toThrow(/needs 2 replicas, got 1/)
  })

  it('selects stages in ladder order and names the unknown ones', () => {
    expect(selectStages(['queue', 'single', 'queue']).map((s) => s.name)).toEqual(['single', 'queue'])
    expect(selectStages(undefined)).toHaveLength(STAGES.length)
    expect(() => selectStages(['single', 'sharding'])).toThrow(
      expect.objectContaining({
        code: 'E_BENCH_OPTION',
        message: expect.stringMatching(/unknown: sharding/),
      }),
    )
    expect(() => resolveOptions({ stages: [] })).toThrow(/options.stages/)
  })

  it('records set settings only, without secrets, passwords masked', () => {
    expect(
      recordableSettings({
        ...stageKnobs(stage('pool')),
        HF_DATABASE_URL: 'postgres://app:hunter2@db:5432/x',
        HF_DATABASE_REPLICA_URLS: 'postgres://app:pw@r1/x,postgres://r2/x',
        HF_TOKEN_SECRET: 'a'.repeat(43),
        HF_TOKEN_SECRET_PREVIOUS: 'b'.repeat(43),
        PATH: '/usr/bin',
      }),
    ).toEqual({
      HF_CACHE: 'off',
      HF_DATABASE_REPLICA_URLS: 'postgres://app:***@r1/x,postgres://r2/x',
      HF_DATABASE_URL: 'postgres://app:***@db:5432/x',
      HF_QUEUE: 'off',
    })
  })
})

describe('skip reasons', () => {
  const everything: StoreAvailability = {
    servers: undefined,
    postgresUrl: undefined,
    redis: undefined,
    nats: undefined,
  }
  const reasons = (stores: StoreAvailability) => STAGES.map((s) => skipReason(s, stores))

  it('skips nothing when every store is there', () => {
    expect(reasons(everything)).toEqual([undefined, undefined, undefined, undefined, undefined])
  })

  it('skips every stage that uses Redis when it does not answer, and only queue without JetStream', () => {
    const noRedis = reasons({ ...everything, redis: 'Redis at redis://127.0.0.1:6379 did not answer' })
    expect(noRedis.slice(0, 2)).toEqual([undefined, undefined])
    for (const reason of noRedis.slice(2)) expect(reason).toMatch(/^needs Redis: Redis at .* did not answer$/)
    const noNats = reasons({ ...everything, nats: 'nats-server at nats://127.0.0.1:4222 has no JetStream' })
    expect(noNats.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined])
    expect(noNats[4]).toBe('needs JetStream: nats-server at nats://127.0.0.1:4222 has no JetStream')
  })

  it('runs the primary-only stages on --postgres-url without the binaries, and skips the replicas', () => {
    const noBinaries = reasons({ ...everything, servers: 'no initdb in /x' })
    expect(noBinaries.slice(0, 3)).toEqual([undefined, undefined, undefined])
    expect(noBinaries[3]).toBe('needs 2 streaming replicas: no initdb in /x')
    const nothing = reasons({
      ...everything,
      servers: 'no initdb in /x',
      postgresUrl: 'PostgreSQL at … did not answer',
    })
    expect(nothing[0]).toBe('needs PostgreSQL: no initdb in /x, and PostgreSQL at … did not answer')
  })

  it('says why each store is missing when probed where nothing answers', async () => {
    // Port 1 on loopback refuses at once.
    const stores = await probeStores(
      {
        postgresUrl: 'postgres://postgres@127.0.0.1:1/postgres',
        redisUrl: 'redis://127.0.0.1:1',
        natsUrl: 'nats://127.0.0.1:1',
      },
      '/nonexistent/bin',
      new AbortController().signal,
    )
    expect(stores.servers).toBe('no initdb, pg_ctl, pg_basebackup, postgres in /nonexistent/bin')
    expect(stores.postgresUrl).toMatch(/did not answer/)
    expect(stores.redis).toMatch(/did not answer/)
    expect(stores.nats).toMatch(/did not answer/)
  })
})

const usage = {
  cpu_us_per_request: 2400,
  server_rss_mb: 120,
  cpu_us_per_request_by_process: {
    server: 1200,
    consumers: null,
    proxy: null,
    postgres: 700,
    redis: null,
    nats: null,
    sender: 300,
    other: 200,
    total: 2400,
  },
}
const measured = (mst50: number, mst10: number, ceiling: number | null) => ({
  metrics: {
    mst_rps_p99_50ms: mst50,
    mst_rps_p99_10ms: mst10,
    mst_to_ceiling: ceiling ? Math.round((mst50 / ceiling) * 1000) / 1000 : null,
    error_rate: 0.0002,
    p99_ms: 41,
    server_rss_mb: 120,
  },
  usage,
  ceilingRps: ceiling,
  ceiling: undefined,
  loaded: { users: 60, follows: 600, posts: 61, seconds: 2.5 },
  steps: [] as StepRecord[],
})
const context = {
  settings: { HF_CACHE: 'off' },
  target: { kind: 'postgres', base_url: 'http://127.0.0.1:1' },
  database: { server: 'started', replicas: 0, settings: { fsync: 'on' } },
  runSeconds: 30,
}

describe('stage rows', () => {
  it('shapes a measured stage: MST at both SLOs, the same ceiling for both ratios, cores at the MST step', () => {
    const row = stageRow(stage('single'), measured(240, 120, 8000), context, [50, 10])
    expect(row).toMatchObject({
      stage: 'single',
      description: stage('single').description,
      settings: { HF_CACHE: 'off' },
      mst_rps_p99_50ms: 240,
      mst_rps_p99_10ms: 120,
      ceiling_rps: 8000,
      mst_to_ceiling: 0.03,
      mst_to_ceiling_p99_10ms: 0.015,
      error_rate: 0.0002,
      cpu_us_per_request: 2400,
      cpu_us_per_request_by_process: usage.cpu_us_per_request_by_process,
      dataset_posts: 61,
      database: { server: 'started', replicas: 0, settings: { fsync: 'on' } },
    })
    expect(row).not.toHaveProperty('skipped')
    expect(row).not.toHaveProperty('mst_to_ceiling_p99_50ms')
  })

  it('marks a ceiling or an MST whose search ran out of steps, and the chart draws it as a lower bound', () => {
    const run = {
      ...measured(1666, 0, 21_476),
      ceiling: { mst: { '50': 21_476 }, capped: { '50': true }, steps: [] },
    }
    run.metrics = { ...run.metrics, mst_capped_p99_50ms: true } as typeof run.metrics
    const row = stageRow(stage('queue'), run, context, [50, 10])
    expect(row.ceiling_capped).toBe(true)
    expect(row.mst_capped_p99_50ms).toBe(true)
    const svg = stagesChart({ stages: [row], slosMs: [50, 10] })
    expect(svg).toContain('≥ 21,476')
    expect(svg).toContain('≥ 1,666')
  })

  it('has no ratios without a ceiling', () => {
    const row = stageRow(stage('pool'), measured(300, 0, null), context, [50, 10])
    expect(row.mst_to_ceiling).toBeNull()
    expect(row.mst_to_ceiling_p99_10ms).toBeNull()
    expect(row.mst_rps_p99_10ms).toBe(0)
  })

  it('gives a skipped stage every key, null, and its reason', () => {
    const row = skippedRow(stage('queue'), 'needs JetStream: …', stageKnobs(stage('queue')), [50, 10])
    expect(row).toMatchObject({
      stage: 'queue',
      skipped: 'needs JetStream: …',
      mst_rps_p99_50ms: null,
      mst_rps_p99_10ms: null,
      ceiling_rps: null,
      mst_to_ceiling: null,
      mst_to_ceiling_p99_10ms: null,
      error_rate: null,
      cpu_us_per_request: null,
      cpu_us_per_request_by_process: null,
      settings: { HF_CACHE: 'on', HF_QUEUE: 'on', HF_DB_POOL_MAX: '' },
    })
  })

  it('flattens the stages that ran into the run metrics', () => {
    const rows = [
      stageRow(stage('single'), measured(240, 120, 8000), context, [50, 10]),
      skippedRow(stage('queue'), 'needs JetStream: …', {}, [50, 10]),
    ]
    expect(ladderMetrics(rows, [50, 10])).toEqual({
      stages_run: 1,
      stages_skipped: 1,
      single_mst_rps_p99_50ms: 240,
      single_mst_rps_p99_10ms: 120,
      single_ceiling_rps: 8000,
      single_mst_to_ceiling: 0.03,
    })
  })
})

const fakeRows = (): StageRow[] => [
  stageRow(stage('single'), measured(233, 90, 7431), context, [50, 10]),
  stageRow(stage('pool'), measured(410, 0, 7600), context, [50, 10]),
  stageRow(stage('cache'), measured(9303, 1969, 7900), context, [50, 10]),
  skippedRow(stage('replicas'), 'needs 2 streaming replicas: no initdb in /x', {}, [50, 10]),
  skippedRow(
    stage('queue'),
    'needs JetStream: nats-server at nats://127.0.0.1:4222 did not answer',
    {},
    [50, 10],
  ),
]

describe('the stages chart', () => {
  const barHeights = (svg: string, slo: number): number[] =>
    [...svg.matchAll(new RegExp(`data-slo="${slo}" [^>]*height="([\\d.]+)"`, 'g'))].map((m) => Number(m[1]))

  it('draws grouped bars per SLO on a log axis, the ceiling as a mark, 0 and skipped stages as text', () => {
    const svg = stagesChart({ stages: fakeRows(), slosMs: [10, 50] })
    for (const name of ['single', 'pool', 'cache', 'replicas', 'queue'])
      expect(svg).toContain(`>${name}</text>`)
    expect(svg).toContain('MST, p99 ≤ 50 ms')
    expect(svg).toContain('MST, p99 ≤ 10 ms')
    expect(svg).toContain('log scale')
    // One bar per SLO per stage that sustained a rate, taller for a higher MST.
    const loose = barHeights(svg, 50)
    expect(loose).toHaveLength(3)
    expect(loose[2]).toBeGreaterThan(loose[1]!)
    expect(loose[1]).toBeGreaterThan(loose[0]!)
    expect(barHeights(svg, 10)).toHaveLength(2) // pool's 10 ms MST of 0 has no bar …
    expect(svg).toMatch(/>0<\/text>/) // … but a 0 on the axis
    expect(svg).toContain('>9,303<')
    expect(svg).toContain('>7,431<') // a ceiling mark
    expect(svg).toContain('skipped: needs 2')
    expect(svg).toContain('>JetStream<')
    expect(svg).not.toContain('did not answer') // the chart gives the short reason; the table the full one
    // Log ticks from a decade below the least figure (90) to above the largest (9,303).
    expect(svg).toMatch(/>10<\/text>/)
    expect(svg).toMatch(/>20k<\/text>/)
    expect(svgToPng(svg).subarray(1, 4).toString()).toBe('PNG')
  })

  it('draws an empty ladder without failing', () => {
    const svg = stagesChart({
      stages: [skippedRow(stage('single'), 'needs PostgreSQL: …', {}, [50, 10])],
      slosMs: [50, 10],
    })
    expect(svg).toContain('skipped: needs PostgreSQL')
  })
})

describe('stages results and report', () => {
  it('writes the JSON with run-level keys and one row per stage, then its HTML and PNG', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'hf-stages-test-'))
    try {
      const options = resolveOptions({ outDir, log: () => {} })
      const path = await writeStagesResults(
        'stages',
        {
          description: 'ladder',
          dataset: {
            name: 'generated-60-300',
            source: 'generated',
            users: 60,
            edges: 300,
            max_posts_per_user: 2,
            seed: 1,
          },
          stages: fakeRows(),
          metrics: ladderMetrics(fakeRows(), [50, 10]),
          steps: [],
          notes: [],
        },
        options,
      )
      const doc = JSON.parse(await readFile(path, 'utf8')) as StagesDocument
      expect(doc.suite).toBe('stages')
      expect(doc.stages.map((row) => row.stage)).toEqual(['single', 'pool', 'cache', 'replicas', 'queue'])
      for (const key of ['date', 'command', 'machine', 'dataset', 'options', 'metrics'])
        expect(doc).toHaveProperty(key)
      expect(doc.options).not.toHaveProperty('log')
      const files = await writeStagesReport(path)
      expect(files.map((file) => file.slice(-4))).toEqual(['html', '.png'])
      const html = await readFile(files[0]!, 'utf8')
      expect(html).toContain('<svg')
      expect(html).toContain('skipped: needs JetStream: nats-server at nats://127.0.0.1:4222 did not answer')
      expect(renderStagesHtml(doc)).toBe(html)
      expect((await readFile(files[1]!)).subarray(1, 4).toString()).toBe('PNG')
    } finally {
      await rm(outDir, { recursive: true, force: true })
    }
  })
})
