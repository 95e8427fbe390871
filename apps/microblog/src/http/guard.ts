import {
  type Bulkhead,
  bulkhead,
  type ConcurrencyLimiter,
  concurrencyLimiter,
  type DegradeSwitch,
  degradeSwitch,
  fixed,
  GuardError,
  gradient2,
  inFlightSignal,
  optional,
  type RateLimiter,
  type RateLimitStore,
  rateLimiter,
  vegas,
} from '@hundredfold/guard'
import { guardPlugin } from '@hundredfold/guard/fastify'
import type { Registry } from '@hundredfold/metrics'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { type Antispam, type AntispamStats, type AntispamVerdict, createAntispam } from '../antispam/index.js'
import type { GuardConfig, RateRule } from '../guard-config.js'
import type { RequestTiming } from '../request-timing.js'
import { catchUp } from './metric-helpers.js'

/** Routes no guard touches: probes and scrapes must answer however loaded the process is. */
const EXEMPT = ['/healthz', '/readyz', '/metrics']

/**
 * Composes in flight at once per process, past which one is refused with 503 `E_BULKHEAD_FULL`. They are
 * out of the inbound concurrency limit: a compose may wait seconds for the broker (a JetStream cluster
 * electing a stream leader after a node loss) while doing no work, and under the adaptive limit those
 * waits took every permit and lowered the limit, so reads were shed for as long (a `kill-nats-node`
 * drill: every request refused for 4 s).
 */
export const COMPOSES_IN_FLIGHT = 256

/** The HTTP edge's guards: the inbound concurrency limit, the sign-in throttles, the password-hash pool. */
export interface HttpGuard {
  /** The inbound limiter, when `HF_GUARD_CONCURRENCY` is not `off`. */
  readonly concurrency: ConcurrencyLimiter | undefined
  /** Registrations and sign-ins: at most four password hashes at once (libuv's threads), a bounded queue. */
  readonly passwords: Bulkhead
  /** Composes, out of the inbound limit: at most {@link COMPOSES_IN_FLIGHT} at once, no queue. */
  readonly composes: Bulkhead
  /** Per client address, for `POST /api/v1/sessions`; `undefined` when off. */
  readonly loginPerIp: RateLimiter | undefined
  /** Per client address, for `POST /api/v1/users`; `undefined` when off. */
  readonly registerPerIp: RateLimiter | undefined
  /**
   * Takes one sign-in attempt from `username`'s quota, or throws `E_RATE_LIMITED` (429 with
   * `Retry-After`); either way the answer carries the `RateLimit` headers.
   */
  throttleUsername(username: string, request: FastifyRequest, reply: FastifyReply): Promise<void>
  /**
   * The antispam verdict on a post's text, or `undefined` when it was not checked: antispam off, its
   * degrade switch on (the skip is counted), or its pool full. Never fails a compose.
   */
  screen(text: string, signal: AbortSignal, timing?: RequestTiming): Promise<AntispamVerdict | undefined>
  /** The antispam check's degrade switch, when it has one (`HF_ANTISPAM_DEGRADE` not `off`, a limit on). */
  readonly antispamSwitch: DegradeSwitch | undefined
  /** Resolves once the antispam threads are up. */
  ready(): Promise<void>
  close(): Promise<void>
}

/**
 * Makes the edge's guards and registers the inbound plugin (concurrency limit and per-route limits) on
 * `app`, before its routes. The limits count in `store` (Redis: cluster-wide), else in this process.
 */
export function registerGuard(
  app: FastifyInstance,
  config: GuardConfig,
  registry: Registry,
  store: RateLimitStore | undefined,
): HttpGuard {
  const concurrency = inboundLimiter(config, registry)
  const limiter = (name: string, rule: RateRule | undefined) =>
    rule
      ? rateLimiter({
          name,
          algorithm: 'sliding-window',
          limit: rule.limit,
          windowMs: rule.windowMs,
          registry,
          ...(store ? { store } : {}),
        })
      : undefined
  const loginPerIp = limiter('login-ip', config.loginPerIp)
  const loginPerUser = limiter('login-user', config.loginPerUser)
  const registerPerIp = limiter('register-ip', config.registerPerIp)
  const passwords = bulkhead({
    name: 'password-hash',
    maxConcurrent: 4,
    maxQueued: config.passwordHashQueue,
    // Under the 10 s request deadline; the queue's bound, not its wait, is what protects the process.
    queueTimeoutMs: 8_000,
    registry,
  })
  const composes = bulkhead({ name: 'compose', maxConcurrent: COMPOSES_IN_FLIGHT, maxQueued: 0, registry })
  app.register(guardPlugin, {
    concurrency: concurrency ?? false,
    exempt: EXEMPT,
    maxEventLoopDelayMs: config.maxLoopDelayMs ?? false,
  })
  registry.counter({
    name: 'http_shed_total',
    help: 'Requests answered 503 E_CONCURRENCY_LIMITED before any work, by reason (concurrency limit, event-loop delay).',
    labelNames: ['reason'],
    collect: (counter) => {
      const stats = app.guard?.stats()
      if (!stats) return
      catchUp(counter.labels({ reason: 'event-loop-delay' }), stats.shedLoopDelay)
      catchUp(counter.labels({ reason: 'concurrency-limit' }), stats.shed - stats.shedLoopDelay)
    },
  })
  const antispam = config.antispam
    ? createAntispam({
        threads: config.antispamThreads,
        maxQueued: config.antispamQueue,
        registry,
        onError: (err) => app.log.warn({ err }, 'antispam pool error'),
      })
    : undefined
  const antispamSwitch = antispam ? antispamDegrade(config, app, concurrency, antispam, registry) : undefined
  antispamSwitch?.start()
  return {
    concurrency,
    passwords,
    composes,
    loginPerIp,
    registerPerIp,
    async throttleUsername(username, request, reply) {
      if (!loginPerUser) return
      const result = await loginPerUser.take(`user:${username.toLowerCase()}`, { signal: request.ctx.signal })
      reply.headers(loginPerUser.headers(result))
      if (!result.allowed) {
        throw new GuardError('E_RATE_LIMITED', 'too many sign-in attempts for this username; retry later', {
          policy: 'login-user',
          limit: result.limit,
          remaining: result.remaining,
          retryAfterMs: result.retryAfterMs,
        })
      }
    },
    screen: async (text, signal, timing) => {
      if (!antispam) return undefined
      const start = performance.now()
      const verdict = await screen(antispam, antispamSwitch, text, signal)
      timing?.antispam(start, verdict !== undefined)
      return verdict
    },
    antispamSwitch,
    ready: async () => antispam?.ready(),
    async close() {
      antispamSwitch?.stop()
      await antispam?.close()
      await store?.close()
    },
  }
}

/**
 * Checks waiting per antispam thread at which the pool's own signal reads 1: a check takes under a
 * millisecond, so a compose then waits some 8 ms for its turn.
 */
const ANTISPAM_QUEUED_PER_THREAD = 8

/**
 * The antispam pool's own degrade signal: checks waiting for a thread over
 * {@link ANTISPAM_QUEUED_PER_THREAD} per thread (1 = a compose waits some 8 checks for its turn).
 *
 * @example
 * antispamQueuePressure({ ...stats, queued: 4 }, 1) // 0.5
 */
export function antispamQueuePressure(stats: Pick<AntispamStats, 'queued'>, threads: number): number {
  return stats.queued / (ANTISPAM_QUEUED_PER_THREAD * Math.max(1, threads))
}

/**
 * Skips the antispam check while the process is `HF_ANTISPAM_DEGRADE` % loaded — the largest of its
 * inbound limit's fill, its loop delay over the shedding threshold, and the antispam pool's own queue
 * (checks waiting over {@link ANTISPAM_QUEUED_PER_THREAD} per thread) — and back below 60 % of that.
 * The pool's queue is what a compose burst fills: composes run outside the inbound limit, and a
 * thread checking flat out takes a core from the path accepting them without delaying its loop.
 */
function antispamDegrade(
  config: GuardConfig,
  app: FastifyInstance,
  limiter: ConcurrencyLimiter | undefined,
  antispam: Antispam,
  registry: Registry,
): DegradeSwitch | undefined {
  const { antispamDegradePercent, maxLoopDelayMs, antispamThreads } = config
  if (antispamDegradePercent === undefined) return undefined
  const fill = limiter ? inFlightSignal(limiter, { relative: true }) : () => 0
  const late = () => (maxLoopDelayMs ? (app.guard.eventLoopDelayMs() ?? 0) / maxLoopDelayMs : 0)
  const waiting = () => antispamQueuePressure(antispam.stats(), antispamThreads)
  const onAbove = antispamDegradePercent / 100
  return degradeSwitch({
    name: 'antispam',
    signal: () => Math.max(fill(), late(), waiting()),
    onAbove,
    offBelow: onAbove * 0.6,
    minOnMs: 5_000,
    minOffMs: 1_000,
    intervalMs: 250,
    registry,
  })
}

async function screen(
  antispam: Antispam,
  degrade: DegradeSwitch | undefined,
  text: string,
  signal: AbortSignal,
): Promise<AntispamVerdict | undefined> {
  const check = () => antispam.check(text, signal)
  try {
    return await (degrade ? optional(degrade, check, () => undefined) : check())
  } catch (err) {
    // A full pool or a wait too long leaves the post unchecked (counted by the pool), not refused.
    if (err instanceof GuardError && (err.code === 'E_BULKHEAD_FULL' || err.code === 'E_QUEUE_TIMEOUT')) {
      return undefined
    }
    throw err
  }
}

function inboundLimiter(config: GuardConfig, registry: Registry): ConcurrencyLimiter | undefined {
  if (config.concurrency === 'off') return undefined
  // A floor of 32: a burst of arrivals behind one GC pause is not overload (the loop-delay shed takes the rest).
  const bounds = { initialLimit: 64, minLimit: 32, maxLimit: config.concurrencyMax }
  const limit =
    config.concurrency === 'gradient2'
      ? gradient2(bounds)
      : config.concurrency === 'vegas'
        ? vegas(bounds)
        : fixed(config.concurrency)
  return concurrencyLimiter({ name: 'http', limit, registry })
}

/**
 * The `config.guard` of a route that hashes a password: its per-address limit, and out of the inbound
 * concurrency limit. Its own bounded pool (`passwords`) guards it; tens of ms of hashing per request
 * would otherwise read to the adaptive limit as a slow server and shrink it for every route.
 */
/** A compose route's guard config: out of the inbound concurrency limit (see {@link COMPOSES_IN_FLIGHT}). */
export function composeRoute() {
  return { guard: { concurrency: false } }
}

export function passwordRoute(limiter: RateLimiter | undefined, policy: string) {
  return {
    guard: { concurrency: false, rateLimit: limiter ? { limiter, policy } : (false as const) },
  }
}
