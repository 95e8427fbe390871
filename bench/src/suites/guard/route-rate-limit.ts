import { figuresOf, type PolicyFigures } from './figures.js'
import { type RouteLoad, routeLoad } from './http-load.js'
import { HTTP_CONNECTIONS } from './limits.js'
import { ROUTE_CONTENDERS, ROUTE_PATH, type RouteContender } from './route-app.js'
import { type RouteServer, startRouteServer } from './route-servers.js'
import { alternateRounds, type Sample, type Window } from './sample.js'

/** How long the route comparison runs. */
export interface RouteShape {
  rounds: number
  warmupMs: number
  windowMs: number
}

/**
 * `GET /limited` on five fastify servers, each in its own process: unguarded, ours (memory, Redis) and
 * `@fastify/rate-limit` (memory, Redis), 32 closed-loop clients on undici, one window per server in
 * turn. The Redis pair is skipped when `redisUrl` is undefined.
 */
export async function measureRoutes(
  shape: RouteShape,
  redisUrl: string | undefined,
  prefix: string,
  signal: AbortSignal,
): Promise<Record<'rate_limit_route' | 'rate_limit_route_redis', PolicyFigures | undefined>> {
  const contenders = ROUTE_CONTENDERS.filter((c) => redisUrl !== undefined || !c.endsWith('_redis'))
  const servers: RouteServer[] = []
  const loads: RouteLoad[] = []
  try {
    const started = await Promise.allSettled(
      contenders.map((contender) =>
        startRouteServer({ contender, redisUrl: redisUrl ?? '', prefix: `${prefix}${contender}:` }, signal),
      ),
    )
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value)
    const failed = started.find((result) => result.status === 'rejected')
    if (failed) throw failed.reason
    const windows = {} as Record<RouteContender, Window>
    const warmups = {} as Record<RouteContender, Window>
    contenders.forEach((contender, i) => {
      const server = servers[i]!
      const load = routeLoad({ ...server, path: ROUTE_PATH, connections: HTTP_CONNECTIONS })
      loads.push(load)
      windows[contender] = load.window(shape.windowMs)
      warmups[contender] = load.window(shape.warmupMs)
    })
    await alternateRounds(warmups, 1, signal)
    const samples = await alternateRounds(windows, shape.rounds, signal)
    const pick = (names: Record<string, RouteContender>): Record<string, Sample> =>
      Object.fromEntries(Object.entries(names).map(([as, contender]) => [as, samples[contender]]))
    const memory = pick({ baseline: 'baseline', ours: 'ours', fastify_rate_limit: 'fastify_rate_limit' })
    return {
      rate_limit_route: figuresOf(memory, samples.baseline),
      rate_limit_route_redis:
        redisUrl === undefined
          ? undefined
          : figuresOf(
              pick({
                baseline: 'baseline',
                ours: 'ours_redis',
                fastify_rate_limit: 'fastify_rate_limit_redis',
              }),
              samples.baseline,
            ),
    }
  } finally {
    await Promise.all(loads.map((load) => load.close()))
    await Promise.all(servers.map((server) => server.close()))
  }
}
