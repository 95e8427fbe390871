import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import type { BenchOptions } from '../../options.js'
import { writeResults } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { redisUnfit } from '../../target/service-probes.js'
import { closedBreakers, GUARDED, openBreakers } from './breakers.js'
import { type Comparison, figuresOf, flatMetrics, type PolicyFigures, ratiosOf } from './figures.js'
import { HTTP_CONNECTIONS, KEYS, REDIS_CONCURRENCY } from './limits.js'
import { localRateLimit, redisRateLimit } from './rate-limit-direct.js'
import { measureRoutes } from './route-rate-limit.js'
import { alternateRounds, type Contenders, type Sample } from './sample.js'

const NAME = 'guard'

/** How long each part runs: rounds of one window per contender, after one warm-up round. */
const SHAPES = {
  full: { rounds: 5, callMs: 200, redisMs: 400, route: { rounds: 3, warmupMs: 1_000, windowMs: 2_000 } },
  smoke: { rounds: 1, callMs: 50, redisMs: 100, route: { rounds: 1, warmupMs: 200, windowMs: 300 } },
}

const COMPARISONS: readonly Comparison[] = [
  ...['rate_limit_local', 'rate_limit_redis'].flatMap((policy) => [
    { policy, ours: 'ours', peer: 'fastify_rate_limit' },
    { policy, ours: 'ours_sliding_window', peer: 'fastify_rate_limit' },
  ]),
  { policy: 'rate_limit_route', ours: 'ours', peer: 'fastify_rate_limit' },
  { policy: 'rate_limit_route_redis', ours: 'ours', peer: 'fastify_rate_limit' },
  ...['breaker_closed_resolved', 'breaker_closed_deferred', 'breaker_open'].flatMap((policy) => [
    { policy, ours: 'ours', peer: 'cockatiel' },
    { policy, ours: 'ours', peer: 'opossum' },
  ]),
]

/**
 * `@hundredfold/guard`'s rate limiter and circuit breaker beside `@fastify/rate-limit`, cockatiel and
 * opossum, in one run on the same paths: rate limits as direct calls (in process and on Redis) and as a
 * fastify route under each plugin; breakers closed around a resolved and a deferred function, and open.
 */
export const guardSuite: Suite = {
  name: NAME,
  description:
    '@hundredfold/guard rate limits (memory, Redis, fastify route) beside @fastify/rate-limit; circuit breakers (closed, open) beside cockatiel and opossum',
  run: runGuard,
}

async function runGuard(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const log = (line: string): void => options.log(`[${NAME}] ${line}`)
  const started = performance.now()
  const shape = options.smoke ? SHAPES.smoke : SHAPES.full
  const unfit = await redisUnfit(options.redisUrl, signal)
  const redisUrl = unfit ? undefined : options.redisUrl
  const prefix = `hf-bench:guard:${randomBytes(4).toString('hex')}:`
  const notes = [
    `limits never reached (10^9 per minute), so every take is granted: the path every admitted request pays; direct calls cycle through ${KEYS} client addresses, the routes are keyed by the client address (one)`,
    'ours: token bucket (the default) unless named sliding_window; @fastify/rate-limit counts a fixed window',
    `direct in process: one caller awaiting back to back; bare = awaiting a resolved promise. On Redis: ${REDIS_CONCURRENCY} callers; bare = PING on a connection of its own. ours on Redis uses onStoreError: 'closed' so that a failure counts as an error, not a local answer`,
    `routes: each server in its own process, ${HTTP_CONNECTIONS} closed-loop clients on undici (pipelining 1); baseline = the same route unguarded; ours = guardPlugin({ concurrency: false }) with a route rateLimit; @fastify/rate-limit registered with global: false and a route config.rateLimit`,
    'breakers: one caller back to back; ours circuitBreaker({ consecutiveFailures: 5, failureRatio: false }), cockatiel circuitBreaker(handleAll, { breaker: new ConsecutiveBreaker(5) }), opossum new CircuitBreaker(fn, { timeout: false }) (it opens on an error percentage; its default 10 s timeout per call is off); bare = calling the function',
    'breaker_open: each breaker opened by 5 failures in a row, then every call refused; bare = calling the resolved function',
    'added_* = p50/p99 minus the baseline of the same policy (bare call, unguarded route), measured in the same alternating rounds; latencies in µs from process.hrtime.bigint (in process) or performance.now (HTTP)',
  ]
  if (unfit) notes.push(`${unfit}: the Redis contenders were skipped`)
  const policies: Record<string, PolicyFigures> = {}
  const report = (policy: string, figures: PolicyFigures | undefined): void => {
    if (!figures) return
    policies[policy] = figures
    const line = Object.entries(figures)
      .map(([name, f]) => `${name} ${f.ops_per_s}/s p50 ${f.p50_us} p99 ${f.p99_us} µs`)
      .join(' | ')
    log(`${policy}: ${line}`)
  }
  try {
    log(`rate limits in process, ${shape.rounds} rounds of ${shape.callMs} ms per contender`)
    report('rate_limit_local', await measure(await localRateLimit(shape.callMs), shape.rounds, signal))
    if (redisUrl) {
      const contenders = await redisRateLimit(shape.redisMs, redisUrl, prefix)
      report('rate_limit_redis', await measure(contenders, shape.rounds, signal))
    }
    log(`routes: ${shape.route.rounds} rounds of ${shape.route.windowMs} ms per server`)
    const routes = await measureRoutes(shape.route, redisUrl, prefix, signal)
    report('rate_limit_route', routes.rate_limit_route)
    report('rate_limit_route_redis', routes.rate_limit_route_redis)
    for (const [name, fn] of Object.entries(GUARDED)) {
      report(`breaker_closed_${name}`, await measure(closedBreakers(fn, shape.callMs), shape.rounds, signal))
    }
    report('breaker_open', await measure(await openBreakers(shape.callMs), shape.rounds, signal))
  } finally {
    if (redisUrl) await deleteKeys(redisUrl, prefix)
  }
  const ratios = ratiosOf(policies, COMPARISONS)
  const metrics = {
    ...flatMetrics(policies),
    ...ratios,
    run_s: Math.round((performance.now() - started) / 100) / 10,
  }
  const file = await writeResults(
    NAME,
    {
      description: guardSuite.description,
      metrics,
      notes,
      extra: { policies, ratios, shape, redis: redisUrl ?? null },
    },
    options,
  )
  return { metrics, files: [file] }
}

/** One warm-up round (not counted), then the rounds; figures against the contender named `bare`. */
async function measure<K extends string>(
  contenders: Contenders<K>,
  rounds: number,
  signal: AbortSignal,
): Promise<PolicyFigures> {
  try {
    await alternateRounds(contenders.windows, 1, signal)
    const samples = await alternateRounds(contenders.windows, rounds, signal)
    return figuresOf(samples, (samples as Record<string, Sample>)['bare'])
  } finally {
    await contenders.close()
  }
}

async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const admin = new Redis(redisUrl)
  try {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(...keys)
  } finally {
    await admin.quit()
  }
}
