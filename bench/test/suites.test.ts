import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BenchOptions, resolveOptions } from '../src/options.js'
import { APP_ENTRY } from '../src/paths.js'
import { findSuite, SUITES } from '../src/registry.js'
import type { ResultsDocument } from '../src/results.js'
import { postgresReachable } from '../src/target/postgres-db.js'
import { startMiniMicroblog } from '../src/target/synthetic/mini-microblog.js'

const hasWrk = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' })
    return true
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { status?: number }).status === 1
  }
})()
const hasPostgres = await postgresReachable('postgres://postgres@127.0.0.1:5432/postgres')

let outDir: string
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'hf-bench-test-'))
})
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true })
})

/** A few-seconds variant of a suite: tiny graph, sub-second windows, two steps per search. */
const tiny = (target: string, extra: Partial<BenchOptions> = {}): Readonly<BenchOptions> =>
  resolveOptions({
    smoke: true,
    target,
    generate: true,
    graphUsers: 30,
    graphEdges: 80,
    maxPostsPerUser: 3,
    warmupMs: 200,
    durationMs: 600,
    drainMs: 500,
    startRate: 40,
    maxSteps: 2,
    closedConnections: 8,
    outDir,
    log: () => {},
    ...extra,
  })

const signal = new AbortController().signal

async function readDoc(name: string): Promise<ResultsDocument> {
  return JSON.parse(await readFile(join(outDir, `${name}.json`), 'utf8')) as ResultsDocument
}

describe('suites (smoke)', () => {
  it('registers every suite under a unique name', () => {
    const names = SUITES.map((s) => s.name)
    expect(new Set(names).size).toBe(names.length)
    expect(names).toEqual(
      expect.arrayContaining([
        'dsb-mixed',
        'dsb-home',
        'dsb-user',
        'dsb-compose',
        'api-mixed',
        'ceiling',
        'pg',
      ]),
    )
  })

  it('dsb-mixed loads the graph, measures ceiling and MST, and writes JSON, HTML and PNG', async () => {
    await using server = await startMiniMicroblog()
    const outcome = await findSuite('dsb-mixed')!.run(tiny(server.baseUrl, { load: true }), signal)
    const doc = await readDoc('dsb-mixed')
    for (const key of [
      'mst_rps_p99_50ms',
      'mst_rps_p99_10ms',
      'ceiling_rps',
      'mst_to_ceiling',
      'p50_ms',
      'p99_ms',
      'p999_ms',
      'empty_page_rate',
      'error_rate',
    ]) {
      expect(doc.metrics).toHaveProperty(key)
    }
    expect(doc.metrics['dataset_users']).toBe(30)
    expect(doc.metrics['dataset_posts']).toBeGreaterThan(0)
    expect(doc.metrics['empty_page_rate']).toBeGreaterThanOrEqual(0)
    expect(doc.steps.map((s) => s.phase)).toEqual([
      'ceiling',
      'ceiling',
      'mst',
      'mst',
      'low-ceiling',
      'low-mst',
    ])
    // The mix and /ceiling at 200 req/s on the same process: what an idle request costs beyond the route.
    expect(doc.metrics['low_load_p99_ratio']).toBeGreaterThan(0)
    // Every step says where the cores went; a server the kit did not start has no server figures.
    for (const step of doc.steps) {
      expect(step.cpu_us_per_request).toHaveProperty('total')
      expect(step.cpu_us_per_request?.server).toBeNull()
    }
    expect(doc).toHaveProperty('cpu_us_per_request')
    expect(doc).toHaveProperty('server_rss_mb', null)
    expect(doc).toHaveProperty('cpu_us_per_request_by_process')
    expect(doc.target).toEqual({ kind: 'url', base_url: server.baseUrl })
    expect(doc.machine.cores).toBeGreaterThan(0)
    expect(doc.machine.node).toBe(process.version)
    expect(outcome.files.map((f) => f.slice(-4))).toEqual(['json', 'html', '.png'])
    const html = await readFile(join(outDir, 'dsb-mixed.html'), 'utf8')
    expect(html).toContain('<svg')
    const png = await readFile(join(outDir, 'dsb-mixed.png'))
    expect(png.subarray(1, 4).toString()).toBe('PNG')
  })

  it('api-mixed logs the users in and reads and posts with bearer tokens', async () => {
    await using server = await startMiniMicroblog()
    await findSuite('api-mixed')!.run(tiny(server.baseUrl, { load: true, ceiling: 'skip', rate: 40 }), signal)
    const doc = await readDoc('api-mixed')
    expect(doc.steps).toHaveLength(1)
    expect(doc.metrics['error_rate']).toBe(0)
    expect(Object.keys(doc.steps[0]!.endpoints).sort()).toEqual(['compose', 'home', 'user'])
    expect(doc.metrics['ceiling_rps']).toBeNull()
  })

  it('pg runs routed reads beside a plain pg.Pool on a real replica', async () => {
    await findSuite('pg')!.run(tiny('postgres'), signal)
    const doc = await readDoc('pg')
    for (const key of ['routed_qps', 'raw_qps', 'overhead_ratio', 'routed_p50_us', 'raw_p50_us']) {
      expect(typeof doc.metrics[key]).toBe('number')
    }
    expect(doc.metrics['routed_reads_on_replica']).toBeGreaterThan(0)
  })

  it('ceiling compares our closed loop with wrk on the same route', async () => {
    await using server = await startMiniMicroblog()
    await findSuite('ceiling')!.run(tiny(server.baseUrl, { wrk: hasWrk }), signal)
    const doc = await readDoc('ceiling')
    expect(doc.metrics['ceiling_rps']).toBeGreaterThan(0)
    expect(doc.metrics['closed_loop_rps']).toBeGreaterThan(0)
    expect(typeof doc.metrics['sender_cpu']).toBe('number')
    if (hasWrk) expect(doc.metrics['wrk_rps']).toBeGreaterThan(0)
  })

  it.skipIf(!existsSync(APP_ENTRY))('dsb-mixed runs against the app on its embedded database', async () => {
    await findSuite('dsb-mixed')!.run(
      tiny('embedded', { ceiling: 'skip', rate: 20, durationMs: 1000 }),
      signal,
    )
    const doc = await readDoc('dsb-mixed')
    expect(doc.target?.kind).toBe('embedded')
    expect(doc.target?.stores?.['database']).toBe('pglite')
    expect(doc.target?.app_processes).toBe(1)
    expect(typeof doc.steps[0]?.cpu_us_per_request?.server).toBe('number')
    expect(doc.steps[0]?.server_rss_mb).toBeGreaterThan(0)
    expect(doc.steps[0]?.server_heap_used_mb).toBeGreaterThan(0)
    expect(doc.steps).toHaveLength(1)
    expect(doc.metrics['error_rate']).toBe(0)
    expect(doc.metrics['dataset_posts']).toBeGreaterThan(0)
  })

  it.skipIf(!existsSync(APP_ENTRY) || !hasPostgres)(
    'dsb-mixed runs against the app on PostgreSQL',
    async () => {
      await findSuite('dsb-mixed')!.run(
        tiny('postgres', { ceiling: 'skip', rate: 20, durationMs: 1000, database: 'hf_bench_test' }),
        signal,
      )
      const doc = await readDoc('dsb-mixed')
      expect(doc.target?.kind).toBe('postgres')
      expect(doc.metrics['error_rate']).toBe(0)
    },
  )
})
