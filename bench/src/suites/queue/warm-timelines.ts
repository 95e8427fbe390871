import type { Redis } from 'ioredis'
import { openSetupClient } from '../../dataset/http.js'
import { mapLimit } from '../../dataset/map-limit.js'
import type { ApiSession } from '../../workloads/api.js'
import { homeKey, WARM_MARK } from './write-queue-probe.js'

/** Passes over the users still cold before the warm-up gives up (and reports how many it warmed). */
const WARM_PASSES = 10

/**
 * Reads every user's home timeline through `GET /api/v1/timeline`, so each is built (warm) and fan-out
 * writes to it from then on; returns how many of them Redis then holds as warm. A process rebuilds a
 * few timelines at once and serves the other cold readers by query (they stay cold, `deferred`), so
 * the users still cold after a pass are read again, up to {@link WARM_PASSES} passes.
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
  let cold = sessions
  for (let pass = 0; pass < WARM_PASSES && cold.length > 0; pass++) {
    await mapLimit(
      cold,
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
    const warm = await warmOnes(redis, namespace, cold)
    cold = cold.filter((_, i) => !warm[i])
  }
  return sessions.length - cold.length
}

/** Whether each of these users' home timelines is built in Redis. */
async function warmOnes(
  redis: Redis,
  namespace: string,
  sessions: readonly ApiSession[],
): Promise<boolean[]> {
  const pipeline = redis.pipeline()
  for (const session of sessions) pipeline.zscore(homeKey(namespace, session.userId), WARM_MARK)
  const results = (await pipeline.exec()) ?? []
  return results.map(([error, score]) => !error && score !== null)
}
