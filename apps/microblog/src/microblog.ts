import { setTimeout as sleep } from 'node:timers/promises'
import { acquireWorkerLease, Snowflake, statefulSetOrdinal, type WorkerLease } from '@hundredfold/id'
import { pgLeaseStore } from '@hundredfold/id/lease-pg'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { MicroblogConfig } from './config.js'
import { buildApp } from './http/app.js'
import type { HttpGuard } from './http/guard.js'
import { createServices, type Services } from './services/index.js'
import { type AppCache, openCache } from './storage/cache.js'
import { type Database, openDatabase } from './storage/database.js'
import type { HomeTimelines } from './storage/home-timelines.js'
import { breakerHomeTimelines } from './storage/home-timelines-breaker.js'
import { memoryHomeTimelines } from './storage/home-timelines-memory.js'
import { redisHomeTimelines } from './storage/home-timelines-redis.js'
import { openWriteQueue, type WriteQueue } from './storage/write-queue.js'
import { type RunningConsumers, startConsumers } from './workers/consumers.js'

/** A running microblog: its address, and how to stop it. */
export interface Microblog {
  readonly url: string
  readonly app: FastifyInstance
  /** The edge's guards: the inbound limit, the throttles, the antispam check and its degrade switch. */
  readonly guard: HttpGuard
  readonly database: Database
  readonly services: Services
  /** The write queue, when `HF_QUEUE` is on. */
  readonly queue: WriteQueue | undefined
  /** The write path's consumers in this process, when `HF_QUEUE` and `HF_CONSUMERS` are on. */
  readonly consumers: RunningConsumers | undefined
  /** This process's Snowflake worker id: leased on PostgreSQL, `HF_WORKER_ID` on the embedded default. */
  readonly workerId: number
  /** Aborts when the process can no longer work safely (its worker-id lease was lost): stop it. */
  readonly fatal: AbortSignal
  /**
   * Drains, then stops: `/readyz` answers 503 at once; for `drainMs` the process keeps serving (each
   * answer with `Connection: close`, so a proxy's kept-alive connections end) while its proxy or load
   * balancer stops sending; then it stops accepting, finishes the requests in flight and closes the
   * database. Safe to call twice (the second call's options are ignored).
   */
  close(options?: CloseOptions): Promise<void>
}

/** How {@link Microblog.close} drains. */
export interface CloseOptions {
  /**
   * How long to keep serving after readiness turned 503, before the listener closes: at least the time
   * the proxy in front takes to notice (its health-check interval, or a reload). @default 0
   */
  drainMs?: number
}

/**
 * Opens the database (applying the schema), wires the services, and listens.
 *
 * @example
 * const blog = await startMicroblog(loadConfig({ HF_PORT: '0' }))
 * console.log(blog.url)
 * await blog.close()
 */
export async function startMicroblog(config: MicroblogConfig, signal?: AbortSignal): Promise<Microblog> {
  const database = await openDatabase(config, signal)
  let closing = false
  let app: FastifyInstance | undefined
  let lease: WorkerLease | undefined
  let cache: AppCache | undefined
  let queue: WriteQueue | undefined
  let homes: HomeTimelines | undefined
  let consumers: RunningConsumers | undefined
  let services: Services | undefined
  const fatal = new AbortController()
  // One logger for the process: the app's requests, and what start-up has to say before the app exists.
  const log = pino({ level: config.logLevel })
  try {
    // On a server, several processes share the id space: each leases its worker id (with fencing)
    // from the database; HF_WORKER_ID or a StatefulSet ordinal is only a hint. Embedded: one process.
    let ids: Snowflake
    if (config.databaseUrl || config.databaseHosts.length > 0 || config.shardMap) {
      const hint = statefulSetOrdinal() ?? (process.env['HF_WORKER_ID'] ? config.workerId : undefined)
      lease = await acquireWorkerLease({
        store: pgLeaseStore({ cluster: database.cluster }),
        ttlMs: config.leaseTtlMs,
        ...(hint === undefined ? {} : { hint }),
        ...(signal ? { signal } : {}),
      })
      // Releasing the lease on close aborts `lost` too (E_LEASE_RELEASED): only a loss is fatal.
      lease.lost.addEventListener(
        'abort',
        () => {
          if (!closing) fatal.abort(lease!.lost.reason)
        },
        { once: true },
      )
      ids = lease.generator()
    } else {
      ids = new Snowflake({ workerId: config.workerId })
    }
    cache = await openCache(config)
    if (config.queue) {
      queue = await openWriteQueue(config, { log, signal })
      homes = config.redisUrl
        ? breakerHomeTimelines(
            redisHomeTimelines({
              connection: config.redisUrl,
              max: config.homeTimelineMax,
              prefix: `hf:${config.namespace}:home:`,
            }),
          )
        : memoryHomeTimelines({ max: config.homeTimelineMax })
    }
    services = await createServices(database.store, {
      geo: database.geo,
      ids,
      tokenTtlSeconds: config.tokenTtlSeconds,
      ...(config.tokenSecret
        ? {
            tokenKeys: [
              config.tokenSecret,
              ...(config.tokenSecretPrevious ? [config.tokenSecretPrevious] : []),
            ],
          }
        : {}),
      ...(cache ? { cache: cache.cache } : {}),
      ...(queue && homes ? { queue, homes, maxBacklog: config.queueMaxBacklog } : {}),
      ...(signal ? { signal } : {}),
    })
    const built = buildApp({ config, database, services, log, isClosing: () => closing })
    app = built.app
    await built.guard.ready()
    if (queue && config.consumers)
      consumers = startConsumers(queue, services, database.store, app.log, {
        lingerMs: config.consumerLingerMs,
      })
    const url = await app.listen({ host: config.host, port: config.port })
    let closed: Promise<void> | undefined
    const started = services
    return {
      url,
      app,
      guard: built.guard,
      database,
      services,
      queue,
      consumers,
      workerId: ids.workerId,
      fatal: fatal.signal,
      close(options = {}) {
        closing = true
        const drainMs = options.drainMs ?? 0
        closed ??= (async () => {
          if (drainMs > 0) await sleep(drainMs)
          await app!.close()
          // Consumers settle the batch in hand; the queue hands back what was fetched and not begun.
          await consumers?.stop()
          started.writes.close()
          await queue?.close().catch(() => {})
          await homes?.close()
          await cache?.close()
          database.maintain?.stop()
          await lease?.release().catch(() => {})
          await database.end()
        })()
        return closed
      },
    }
  } catch (err) {
    await app?.close().catch(() => {})
    await consumers?.stop().catch(() => {})
    services?.writes.close()
    await queue?.close().catch(() => {})
    await homes?.close().catch(() => {})
    await cache?.close().catch(() => {})
    await lease?.release().catch(() => {})
    await database.end()
    throw err
  }
}
