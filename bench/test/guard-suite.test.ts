import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveOptions } from '../src/options.js'
import { findSuite } from '../src/registry.js'
import type { ResultsDocument } from '../src/results.js'

const REDIS_URL = 'redis://127.0.0.1:6379'

let outDir: string
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'hf-bench-guard-'))
})
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true })
})

describe('the guard suite (smoke)', () => {
  it('measures every policy and contender in one run, without errors, and leaves no Redis key', async () => {
    const options = resolveOptions({ smoke: true, redisUrl: REDIS_URL, outDir, log: () => {} })
    await findSuite('guard')!.run(options, new AbortController().signal)
    const doc = JSON.parse(await readFile(join(outDir, 'guard.json'), 'utf8')) as ResultsDocument
    const policies = doc.extra['policies'] as Record<string, Record<string, Record<string, number | null>>>
    expect(Object.keys(policies).sort()).toEqual([
      'breaker_closed_deferred',
      'breaker_closed_resolved',
      'breaker_open',
      'rate_limit_local',
      'rate_limit_redis',
      'rate_limit_route',
      'rate_limit_route_redis',
    ])
    expect(Object.keys(policies['rate_limit_local']!).sort()).toEqual([
      'bare',
      'fastify_rate_limit',
      'ours',
      'ours_sliding_window',
    ])
    expect(Object.keys(policies['rate_limit_route_redis']!).sort()).toEqual([
      'baseline',
      'fastify_rate_limit',
      'ours',
    ])
    expect(Object.keys(policies['breaker_open']!).sort()).toEqual(['bare', 'cockatiel', 'opossum', 'ours'])
    for (const [policy, contenders] of Object.entries(policies)) {
      for (const [contender, figures] of Object.entries(contenders)) {
        expect({ policy, contender, errors: figures['errors'] }).toEqual({ policy, contender, errors: 0 })
        expect(figures['ops_per_s']).toBeGreaterThan(0)
        expect(figures['p99_us']).toBeGreaterThanOrEqual(figures['p50_us']!)
        const isBase = contender === 'bare' || contender === 'baseline'
        expect(figures['added_p50_us'] === null).toBe(isBase)
      }
    }
    const ratios = doc.extra['ratios'] as Record<string, number | null>
    expect(ratios['rate_limit_local_ops_ratio_vs_fastify_rate_limit']).toBeGreaterThan(0)
    expect(ratios['breaker_open_ops_ratio_vs_opossum']).toBeGreaterThan(0)
    expect(doc.metrics['rate_limit_route_ours_server_cpu_us_per_request']).not.toBeUndefined()
    expect(doc.machine.cores).toBeGreaterThan(0)
    const redis = new Redis(REDIS_URL)
    try {
      expect(await redis.keys('hf-bench:guard:*')).toEqual([])
    } finally {
      await redis.quit()
    }
  }, 60_000)
})
