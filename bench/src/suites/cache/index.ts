import { randomBytes } from 'node:crypto'
import { createCache as createHfCache, memoryStore } from '@hundredfold/cache'
import { redisStore } from '@hundredfold/cache/redis'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisDriver } from 'bentocache/drivers/redis'
import { createCache as createCacheManager } from 'cache-manager'
import { Redis } from 'ioredis'
import type { BenchOptions } from '../../options.js'
import { type MetricValue, writeResults } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { databaseUrl, dropDatabase, postgresReachable, recreateDatabase } from '../../target/postgres-db.js'
import { RACE, type RaceResult, runStaleRace } from './cache-race.js'

const NAME = 'cache'
const KEYS = 1000
const L2_CONCURRENCY = 32
const RACE_DATABASE = 'hf_bench_cache_race'

type Get = (key: string) => Promise<unknown>

/**
 * The hot paths of a read cache, ours beside bentocache and cache-manager in the same run: an L1 hit
 * (one caller, back to back: the per-call cost) and an L2 hit on Redis with L1 off (32 callers).
 * Rounds alternate between libraries so they share the machine's noise. Then the stale-set race on
 * Redis and PostgreSQL: the keys left stale by plain cache-aside and delayed double delete beside
 * ours (leases), which the tests assert to be zero (skipped when PostgreSQL is unreachable).
 */
export const cacheSuite: Suite = {
  name: NAME,
  description:
    '@hundredfold/cache L1-hit and Redis L2-hit get-or-load vs bentocache and cache-manager; stale keys after a write race vs plain cache-aside and delayed double delete',
  run: runCache,
}

async function runCache(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const redisUrl = process.env['HF_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
  const { hostname, port } = new URL(redisUrl)
  const prefix = `hf-bench:${randomBytes(4).toString('hex')}:`
  const rounds = options.smoke ? 2 : 5
  const roundMs = options.smoke ? 500 : Math.max(1000, Math.round(options.durationMs / 4))
  const keys = Array.from({ length: KEYS }, (_, i) => `user:${i}`)
  const value = (key: string) => ({ id: key, name: `name of ${key}`, created_at: '2026-01-01T00:00:00Z' })

  const ours = createHfCache({ l2: memoryStore() })
  const store = redisStore({ connection: redisUrl, prefix })
  const oursL2 = createHfCache({ l2: store, l1Max: false })
  const bento = new BentoCache({
    default: 'l1',
    stores: {
      l1: bentostore().useL1Layer(memoryDriver({ maxItems: 10_000, serialize: false })),
      l2: bentostore().useL2Layer(
        redisDriver({ connection: { host: hostname, port: Number(port), keyPrefix: `${prefix}bento:` } }),
      ),
    },
  })
  const manager = createCacheManager()
  const load = async (key: string) => value(key)
  const runs: Record<string, Get> = {
    ours_l1: (key) => ours.getOrLoad(key, load),
    bento_l1: (key) => bento.use('l1').getOrSet({ key, factory: () => value(key) }),
    manager_l1: (key) => manager.wrap(key, () => load(key)),
    ours_l2: (key) => oursL2.getOrLoad(key, load),
    bento_l2: (key) => bento.use('l2').getOrSet({ key, factory: () => value(key) }),
  }
  try {
    log('warming every key in every cache')
    for (const key of keys) for (const get of Object.values(runs)) await get(key)
    const totals: Record<string, { ops: number; seconds: number }> = {}
    for (const name of Object.keys(runs)) totals[name] = { ops: 0, seconds: 0 }
    log(
      `${rounds} alternating rounds of ${roundMs} ms per library: L1 with 1 caller, L2 with ${L2_CONCURRENCY}`,
    )
    for (let round = 0; round < rounds && !signal.aborted; round++) {
      for (const [name, get] of Object.entries(runs)) {
        const concurrency = name.endsWith('_l2') ? L2_CONCURRENCY : 1
        const { ops, seconds } = await measure(get, keys, concurrency, roundMs, signal)
        totals[name]!.ops += ops
        totals[name]!.seconds += seconds
      }
    }
    const rate = (name: string) => Math.round(totals[name]!.ops / totals[name]!.seconds)
    const metrics: Record<string, MetricValue> = {
      l1_hit_ops_per_s: rate('ours_l1'),
      peer_bentocache_l1_hit_ops_per_s: rate('bento_l1'),
      peer_cache_manager_l1_hit_ops_per_s: rate('manager_l1'),
      l1_hit_vs_bentocache: Math.round((rate('ours_l1') / rate('bento_l1')) * 100) / 100,
      l2_get_or_load_ops_per_s: rate('ours_l2'),
      peer_bentocache_l2_get_or_set_ops_per_s: rate('bento_l2'),
      l2_concurrency: L2_CONCURRENCY,
      l1_hits_counted: ours.stats().l1Hits,
    }
    log(
      `L1 hit: ours ${metrics['l1_hit_ops_per_s']} ops/s, bentocache ${metrics['peer_bentocache_l1_hit_ops_per_s']}, cache-manager ${metrics['peer_cache_manager_l1_hit_ops_per_s']} (×${metrics['l1_hit_vs_bentocache']} bentocache) | L2 hit: ours ${metrics['l2_get_or_load_ops_per_s']}, bentocache ${metrics['peer_bentocache_l2_get_or_set_ops_per_s']}`,
    )
    const race = await staleRace(options, redisUrl, log, signal)
    Object.assign(metrics, raceMetrics(race))
    if (race) {
      log(
        `race: stale keys of ${RACE.keys}: ours (leases) ${race['leases']!.stale}, cache-aside ${race['cache_aside']!.stale}, double delete ${race['double_delete']!.stale}; ${race['leases']!.staleSetsRefused} stale fills refused`,
      )
    }
    const file = await writeResults(
      NAME,
      {
        description: cacheSuite.description,
        metrics,
        notes: [
          `${KEYS} keys, all warm; a value is a small user object`,
          'L1: one caller awaiting each get back to back (the per-call cost); bentocache memory driver with serialize: false (its fastest); cache-manager 7 over its default in-memory Keyv',
          `L2: Redis at ${redisUrl}, L1 off in both (bentocache: an L2-only store), ${L2_CONCURRENCY} callers`,
          'floor (issue 6): l1_hit_vs_bentocache >= 1.5',
          `race (issue 12): ${RACE.workers} workers, ${RACE.keys} hot keys, ${RACE.writeRate * 100} % writes, a 0–6 ms pause after each database read; then quiesce 300 ms and compare every cached value (L2, and both nodes' L1 for ours) with PostgreSQL`,
          `race peers: plain cache-aside (GET, load, SET EX 60; write then DEL) and delayed double delete (a second DEL ${RACE.doubleDeleteDelayMs} ms later); ours: leases over two nodes sharing Redis L2 and bus`,
          'race floor: race_stale_keys = 0 (asserted by packages/cache/test/race.test.ts)',
        ],
        extra: race ? { race } : {},
      },
      options,
    )
    return { metrics, files: [file] }
  } finally {
    await ours.close()
    await oursL2.close()
    await store.close()
    await bento.disconnectAll().catch(() => {})
    const admin = new Redis(redisUrl)
    const stale = await admin.keys(`${prefix}*`)
    if (stale.length > 0) await admin.del(...stale)
    await admin.quit()
  }
}

/** The stale-set race in a database of its own, or undefined when PostgreSQL is unreachable. */
async function staleRace(
  options: Readonly<BenchOptions>,
  redisUrl: string,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<Record<string, RaceResult> | undefined> {
  if (!(await postgresReachable(options.postgresUrl))) {
    log(`PostgreSQL unreachable at ${options.postgresUrl}: the stale-set race is skipped`)
    return undefined
  }
  await recreateDatabase(options.postgresUrl, RACE_DATABASE, signal)
  try {
    const databaseUrlOfRace = databaseUrl(options.postgresUrl, RACE_DATABASE)
    const ops = options.smoke ? 5_000 : 100_000
    return await runStaleRace({ databaseUrl: databaseUrlOfRace, redisUrl, ops, signal, log })
  } finally {
    await dropDatabase(options.postgresUrl, RACE_DATABASE)
  }
}

/** The race's figures under flat keys: ours first, peers prefixed `peer_`; null when skipped. */
function raceMetrics(race: Record<string, RaceResult> | undefined): Record<string, MetricValue> {
  const of = (name: string) => race?.[name]
  const rate = (name: string) => {
    const result = of(name)
    return result ? Math.round(result.ops / result.seconds) : null
  }
  return {
    race_stale_keys: of('leases')?.stale ?? null,
    peer_cache_aside_race_stale_keys: of('cache_aside')?.stale ?? null,
    peer_double_delete_race_stale_keys: of('double_delete')?.stale ?? null,
    race_stale_sets_refused: of('leases')?.staleSetsRefused ?? null,
    race_ops_per_s: rate('leases'),
    peer_cache_aside_race_ops_per_s: rate('cache_aside'),
    peer_double_delete_race_ops_per_s: rate('double_delete'),
    race_ops_per_strategy: of('leases')?.ops ?? null,
    race_hot_keys: RACE.keys,
    race_workers: RACE.workers,
    race_write_rate: RACE.writeRate,
  }
}

/** Closed loop: `concurrency` callers each await gets back to back for `ms`. */
async function measure(
  get: Get,
  keys: readonly string[],
  concurrency: number,
  ms: number,
  signal: AbortSignal,
): Promise<{ ops: number; seconds: number }> {
  let ops = 0
  const started = performance.now()
  const deadline = started + ms
  const worker = async (seed: number) => {
    let i = seed
    while (!signal.aborted) {
      // Check the clock every 64 calls: reading it costs about as much as an L1 hit.
      for (let n = 0; n < 64; n++) {
        i = (i + 7919) % keys.length
        await get(keys[i]!)
      }
      ops += 64
      if (performance.now() >= deadline) break
    }
  }
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)))
  return { ops, seconds: (performance.now() - started) / 1000 }
}
