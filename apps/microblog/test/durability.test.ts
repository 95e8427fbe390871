import { createQueue, type Queue } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import { type NatsServer, startNatsServer } from '@hundredfold/queue/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/index.js'
import { followsStream, openWriteQueue, postsStream, TIMELINE_CONSUMER } from '../src/storage/write-queue.js'
import { type RunningConsumers, startConsumers } from '../src/workers/consumers.js'
import { client, eventually, type Response, type RunningBlog, signUp, startBlog } from './support.js'

/**
 * What "202 Accepted" survives. Each test runs the microblog on PostgreSQL against a nats-server of
 * its own (own port, own store directory), so killing the broker touches nothing else.
 */
describe('durability of acknowledged writes (JetStream, file storage)', () => {
  let nats: NatsServer
  let admin: Queue

  beforeAll(async () => {
    nats = await startNatsServer()
    admin = createQueue({ driver: jetstreamDriver({ servers: nats.url, name: 'durability-test' }) })
  }, 30_000)
  afterAll(async () => {
    await admin?.drain()
    await nats?.[Symbol.asyncDispose]()
  })

  const namespace = (tag: string) => `d${tag}${process.pid}${Date.now() % 100_000}`
  /**
   * The microblog on PostgreSQL, queued on this file's broker, with no consumers: what compose
   * acknowledged stays in the stream until the test looks.
   */
  const startPublisher = (ns: string, env: Record<string, string> = {}) =>
    startBlog('postgres', {
      HF_QUEUE: 'on',
      HF_NATS_URL: nats.url,
      HF_CONSUMERS: 'off',
      HF_NAMESPACE: ns,
      ...env,
    })

  it('every post answered 202 is still in the stream after nats-server is SIGKILLed and restarted, and is then stored', async () => {
    const ns = namespace('k')
    const run = await startPublisher(ns)
    let consumers: RunningConsumers | undefined
    try {
      const api = client(run.url)
      const author = await signUp(api, `dk_${ns}`)
      const accepted: string[] = []
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            api.post('/api/v1/posts', { text: `durable ${round}.${i}` }, author.token),
          ),
        )
        for (const res of answers) {
          expect(res.status).toBe(202)
          accepted.push(res.body.post_id as string)
        }
      }
      expect(new Set(accepted).size).toBe(200)

      await nats.kill() // SIGKILL: no shutdown, no flush
      await nats.start() // same port, same store directory

      const driver = admin.driver
      const info = await eventually(() => driver.streamInfo(postsStream(ns)), 20_000)
      expect(info.messages).toBe(accepted.length)
      expect((await driver.consumerInfo(postsStream(ns), TIMELINE_CONSUMER)).pending).toBe(accepted.length)
      expect(await storedPostIds(run)).toEqual([]) // nothing was persisted before the restart

      // Consumers in the same process, over its own (reconnected) connection to the restarted broker.
      const { blog } = run
      consumers = startConsumers(blog.queue!, blog.services, blog.database.store, blog.app.log)
      await eventually(async () => expect(await storedPostIds(run)).toHaveLength(accepted.length), 60_000)
      expect(await storedPostIds(run)).toEqual([...accepted].sort())
      // Workqueue retention: what the consumer acknowledged has left the stream.
      await eventually(
        async () => expect((await driver.streamInfo(postsStream(ns))).messages).toBe(0),
        20_000,
      )
    } finally {
      await consumers?.stop()
      await run.stop()
      await deleteStreams(admin, ns)
    }
  }, 120_000)

  it('creates both streams with file storage, work-queue retention, discard new, and the configured limits', async () => {
    const ns = namespace('c')
    const run = await startPublisher(ns)
    try {
      const expected = {
        storage: 'file',
        retention: 'workqueue',
        discard: 'new',
        maxAgeMs: 7 * 86_400_000,
        maxBytes: 2 ** 30,
        maxMessages: Number.POSITIVE_INFINITY,
        replicas: 1,
      }
      for (const stream of [postsStream(ns), followsStream(ns)]) {
        expect((await admin.driver.streamInfo(stream)).config).toMatchObject(expected)
        // Dead letters are kept for people to read: same limits, never removed by an ack.
        expect((await admin.driver.streamInfo(`${stream}_dlq`)).config).toMatchObject({
          ...expected,
          retention: 'limits',
        })
      }
    } finally {
      await run.stop()
    }
    // Reopened with other limits (a restart with new settings): the broker's streams follow them.
    const config = loadConfig({
      HF_QUEUE: 'on',
      HF_NATS_URL: nats.url,
      HF_NAMESPACE: ns,
      HF_QUEUE_MAX_AGE_S: '3600',
      HF_QUEUE_MAX_BYTES: '10485760',
    })
    const warnings: string[] = []
    const queue = await openWriteQueue(config, { log: { warn: (_f, message) => warnings.push(message) } })
    try {
      expect(warnings).toEqual([]) // a broker that keeps what it acknowledged: nothing to warn about
      expect((await queue.posts.info()).config).toMatchObject({ maxAgeMs: 3_600_000, maxBytes: 10_485_760 })
      expect((await queue.follows.info()).config).toMatchObject({ maxAgeMs: 3_600_000, maxBytes: 10_485_760 })
    } finally {
      await queue.close()
      await deleteStreams(admin, ns)
    }
  }, 60_000)

  it('answers 503 E_BACKLOG with Retry-After once the stream is at HF_QUEUE_MAX_BYTES, and keeps every post it accepted', async () => {
    const ns = namespace('f')
    // Posts of 200 'x's fill the stream fastest; the antispam check would rightly refuse them.
    const run = await startPublisher(ns, { HF_QUEUE_MAX_BYTES: '65536', HF_ANTISPAM: 'off' })
    try {
      const api = client(run.url)
      const author = await signUp(api, `df_${ns}`)
      const accepted: string[] = []
      let refused: Response<{ code: string }> | undefined
      for (let i = 0; i < 1000 && !refused; i++) {
        const res = await api.post('/api/v1/posts', { text: `${i} ${'x'.repeat(200)}` }, author.token)
        if (res.status === 202) accepted.push(res.body.post_id)
        else refused = res as Response<{ code: string }>
      }
      expect(refused?.status).toBe(503)
      expect(refused?.contentType).toContain('application/problem+json')
      expect(refused?.body.code).toBe('E_BACKLOG')
      expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(accepted.length).toBeGreaterThan(50)
      const info = await admin.driver.streamInfo(postsStream(ns))
      expect(info.messages).toBe(accepted.length) // refused, not stored; nothing accepted was dropped
      expect(info.bytes).toBeLessThanOrEqual(65_536)
    } finally {
      await run.stop()
      await deleteStreams(admin, ns)
    }
  }, 60_000)
})

describe('the in-process write queue', () => {
  it('warns at start that what it acknowledges is lost if the process dies', async () => {
    const warnings: string[] = []
    const log = { warn: (_fields: object, message: string) => warnings.push(message) }
    const queue = await openWriteQueue(loadConfig({ HF_QUEUE: 'on', HF_NAMESPACE: 'inproc' }), { log })
    await queue.close()
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/in-process.*lost if it exits or crashes/)
    expect(warnings[0]).toContain('HF_NATS_URL')
  })
})

async function storedPostIds(run: RunningBlog): Promise<string[]> {
  const { rows } = await run.blog.database.cluster.read<{ id: string }>(
    'SELECT post_id::text AS id FROM posts ORDER BY id',
  )
  return rows.map((r) => r.id)
}

async function deleteStreams(queue: Queue, ns: string): Promise<void> {
  for (const stream of [postsStream(ns), followsStream(ns)]) await queue.deleteStream(stream).catch(() => {})
}
