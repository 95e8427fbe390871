import type { Redis } from 'ioredis'
import { openSetupClient } from '../../dataset/http.js'
import { mapLimit } from '../../dataset/map-limit.js'
import type { ApiSession } from '../../workloads/api.js'
import { homeKey, WARM_MARK } from './write-queue-probe.js'

/**
 * Reads every user's home timeline once through `GET /api/v1/timeline`, so each is built (warm) and
 * fan-out writes to it from then on; returns how many of them Redis then holds as warm.
 *
 * @example
 * const warm = await warmHomeTimelines(baseUrl, sessions, redis, 'bench_123', 16, signal)
 */
export async function warmHomeTimelines(
  baseUrl: string,
  sessions: readonly ApiSession[],
  redis: Redis,
  namespace: string,
  concurrency: number,
  signal: AbortSignal,
): Promise<number> {
  await using client = openSetupClient(baseUrl, concurrency, signal)
  await mapLimit(
    sessions,
    concurrency,
    async (session) => {
      await client.send({
        method: 'GET',
        path: '/api/v1/timeline?limit=10',
        headers: { authorization: `Bearer ${session.token}` },
      })
    },
    signal,
  )
  return countWarm(redis, namespace, sessions)
}

/** How many of these users' home timelines Redis holds as built. */
export async function countWarm(
  redis: Redis,
  namespace: string,
  sessions: readonly ApiSession[],
): Promise<number> {
  const pipeline = redis.pipeline()
  for (const session of sessions) pipeline.zscore(homeKey(namespace, session.userId), WARM_MARK)
  const results = (await pipeline.exec()) ?? []
  return results.filter(([error, score]) => !error && score !== null).length
}
