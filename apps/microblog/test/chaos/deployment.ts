import { randomBytes } from 'node:crypto'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import type { QueueDriver } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import { type NatsServer, startNatsServer } from '@hundredfold/queue/testing'
import { Redis } from 'ioredis'
import pg from 'pg'
import {
  EDGES_CONSUMER,
  followsStream,
  postsStream,
  TIMELINE_CONSUMER,
} from '../../src/storage/write-queue.js'
import { type MicroblogProcess, spawnMicroblog } from './microblog-process.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/**
 * The settings every process of a chaos deployment shares. The first backoff is also the ack wait: a
 * killed consumer's batch is redelivered after 1 s. Ten deliveries, because a crash counts as a failed
 * delivery and the drill kills consumers far more often than any deployment would.
 */
const SHARED_ENV = {
  HF_QUEUE: 'on',
  HF_PORT: '0',
  HF_LOG_LEVEL: 'warn',
  HF_DB_POOL_MAX: '8',
  HF_HOME_TIMELINE_MAX: '100000',
  HF_QUEUE_BACKOFF_MS: '1000,2000,4000',
  HF_QUEUE_MAX_DELIVERIES: '10',
  // The drill signs its whole social graph up and in from this one address, then composes as fast as it
  // can while its machine is busy killing and restarting processes: what it checks is the queue, not the
  // inbound limit, which would shed some of those composes (a client would resend them).
  HF_REGISTER_LIMIT_IP: 'off',
  HF_LOGIN_LIMIT_IP: 'off',
  HF_GUARD_CONCURRENCY: 'off',
}

/**
 * A queued microblog of the test's own: its nats-server, a temporary PostgreSQL database, a Redis
 * namespace, one API process that only publishes (`HF_CONSUMERS=off`) and worker processes that
 * consume (they listen on port 0 too; nobody calls them). Disposing it removes all of it.
 */
export interface Deployment extends AsyncDisposable {
  readonly namespace: string
  readonly nats: NatsServer
  readonly database: TemporaryDatabase
  /** The environment of every process. */
  readonly env: Readonly<Record<string, string>>
  readonly api: MicroblogProcess
  readonly apiUrl: string
  /** Workers not (yet) stopped. */
  readonly workers: ReadonlySet<MicroblogProcess>
  /** Workers started since the beginning. */
  readonly workersStarted: number
  /** The test's own connections: SQL on the deployment's database, and Redis. */
  readonly sql: pg.Pool
  readonly redis: Redis
  /** Starts a worker; it counts in `workers` until `stopWorker()`. */
  startWorker(): MicroblogProcess
  /** SIGKILLs a worker (or sends `signal`) and waits for it to exit. */
  stopWorker(worker: MicroblogProcess, signal?: NodeJS.Signals): Promise<void>
  /**
   * Unfinished messages (pending + unacknowledged) of the timeline and edges consumers, and how many of
   * the timeline's unacknowledged ones were delivered more than once.
   */
  backlog(): Promise<{ timeline: number; edges: number; redelivered: number }>
  /** Messages parked in the posts stream's dead-letter stream. */
  deadLetters(): Promise<number>
  /** The Redis key of a user's home timeline. */
  homeKey(userId: string): string
}

export async function startDeployment(options: { workers: number }): Promise<Deployment> {
  const namespace = `chaos_${process.pid}_${randomBytes(3).toString('hex')}`
  const cleanups: Array<() => Promise<unknown>> = []
  const dispose = async () => {
    const errors: unknown[] = []
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => errors.push(err))
    cleanups.length = 0
    if (errors.length > 0) throw new AggregateError(errors, 'chaos deployment cleanup failed')
  }
  try {
    const nats = await startNatsServer()
    cleanups.push(async () => nats[Symbol.asyncDispose]())
    const database = await temporaryDatabase({ prefix: 'hf_chaos' })
    cleanups.push(() => database.drop())
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 })
    cleanups.push(async () => {
      await deleteKeys(redis, `hf:${namespace}:*`)
      await redis.quit()
    })
    const sql = new pg.Pool({ connectionString: database.url, max: 4 })
    sql.on('error', () => {}) // the database is dropped with FORCE at the end
    cleanups.push(() => sql.end())
    const driver: QueueDriver = jetstreamDriver({ servers: nats.url, name: 'chaos-test' })
    cleanups.push(() => driver.close(AbortSignal.timeout(2000)))

    const env = {
      ...SHARED_ENV,
      HF_NATS_URL: nats.url,
      HF_REDIS_URL: REDIS_URL,
      HF_DATABASE_URL: database.url,
      HF_NAMESPACE: namespace,
    }
    const workers = new Set<MicroblogProcess>()
    let workersStarted = 0
    const stopWorker = async (worker: MicroblogProcess, signal?: NodeJS.Signals) => {
      workers.delete(worker)
      await worker.stop(signal)
    }
    cleanups.push(() => Promise.all([...workers].map((w) => stopWorker(w))))
    // The API process first: it applies the schema that the workers then find in place.
    const api = spawnMicroblog('api', { ...env, HF_CONSUMERS: 'off' })
    cleanups.push(() => api.stop())
    const apiUrl = await api.listening
    const startWorker = () => {
      const worker = spawnMicroblog(`worker-${++workersStarted}`, env)
      workers.add(worker)
      return worker
    }
    await Promise.all(Array.from({ length: options.workers }, () => startWorker().listening))

    return {
      namespace,
      nats,
      database,
      env,
      api,
      apiUrl,
      workers,
      get workersStarted() {
        return workersStarted
      },
      sql,
      redis,
      startWorker,
      stopWorker,
      async backlog() {
        const signal = AbortSignal.timeout(5000)
        const [timeline, edges] = await Promise.all([
          driver.consumerInfo(postsStream(namespace), TIMELINE_CONSUMER, signal),
          driver.consumerInfo(followsStream(namespace), EDGES_CONSUMER, signal),
        ])
        return {
          timeline: timeline.pending + timeline.ackPending,
          edges: edges.pending + edges.ackPending,
          redelivered: timeline.redelivered,
        }
      },
      async deadLetters() {
        const info = await driver.streamInfo(`${postsStream(namespace)}_dlq`, AbortSignal.timeout(5000))
        return info.messages
      },
      homeKey: (userId) => `hf:${namespace}:home:${userId}`,
      [Symbol.asyncDispose]: dispose,
    }
  } catch (err) {
    await dispose().catch(() => {})
    throw err
  }
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    if (keys.length > 0) await redis.unlink(...keys)
    cursor = next
  } while (cursor !== '0')
}
