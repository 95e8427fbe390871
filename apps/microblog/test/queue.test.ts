import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PostMessage } from '../src/services/write-path.js'
import {
  client,
  eventually,
  queuedBlogPerSuite,
  queuedSetups,
  type RunningBlog,
  rowCounts,
  signUp,
  startBlog,
} from './support.js'

const texts = (res: { body: { posts: Array<{ text: string }> } }) => res.body.posts.map((p) => p.text)

describe.each(queuedSetups)('the write path through the queue (%s)', (target, env) => {
  const retries = { HF_QUEUE_BACKOFF_MS: '300,300,300', HF_QUEUE_MAX_DELIVERIES: '3' }
  const run = queuedBlogPerSuite(target, { ...env, ...retries }, 't')
  const { api, namespace } = run

  it('accepts a post with 202 and its id, then stores it and fans it out to followers', async () => {
    const author = await signUp(api, `qa_${namespace}`)
    const fan = await signUp(api, `qf_${namespace}`)
    expect((await api.post(`/api/v1/users/${author.id}/follow`, undefined, fan.token)).status).toBe(200)
    // The second direction is written by the edges consumer.
    await eventually(async () => {
      const res = await api.get(`/api/v1/users/${author.id}`)
      expect(res.body.followers).toBe(1)
    })
    expect(texts(await api.get('/api/v1/timeline', fan.token))).toEqual([]) // built (empty), now warm
    const accepted = await api.post('/api/v1/posts', { text: 'queued hello' }, author.token)
    expect(accepted.status).toBe(202)
    expect(accepted.body.post_id).toMatch(/^\d+$/)
    expect(accepted.body.text).toBe('queued hello')
    await eventually(async () => {
      expect(texts(await api.get('/api/v1/timeline', fan.token))).toEqual(['queued hello'])
      expect(texts(await api.get(`/api/v1/users/${author.id}/posts`))).toEqual(['queued hello'])
    })
    const profile = await api.get(`/api/v1/users/${author.id}`)
    expect(profile.body.posts).toBe(1)
    // The page came from the fan-out store, not a query.
    expect(await run.blog.services.timelines.store!.dump(fan.id)).toEqual([
      { post_id: accepted.body.post_id, author_id: author.id },
    ])
  })

  it('rebuilds a cold timeline from the database, and again after a follow changes its sources', async () => {
    const reader = await signUp(api, `qr_${namespace}`)
    const writers = [await signUp(api, `qw1_${namespace}`), await signUp(api, `qw2_${namespace}`)]
    expect((await api.post(`/api/v1/users/${writers[0]!.id}/follow`, undefined, reader.token)).status).toBe(
      200,
    )
    for (const [i, w] of writers.entries()) {
      expect((await api.post('/api/v1/posts', { text: `w${i}` }, w.token)).status).toBe(202)
    }
    await eventually(async () =>
      expect(texts(await api.get(`/api/v1/users/${writers[1]!.id}/posts`))).toEqual(['w1']),
    )
    const store = run.blog.services.timelines.store!
    await store.invalidate([reader.id]) // evicted
    await eventually(async () =>
      expect(texts(await api.get('/api/v1/timeline', reader.token))).toEqual(['w0']),
    )
    // Following the second writer drops the timeline; its next read has both.
    expect((await api.post(`/api/v1/users/${writers[1]!.id}/follow`, undefined, reader.token)).status).toBe(
      200,
    )
    expect(texts(await api.get('/api/v1/timeline', reader.token))).toEqual(['w1', 'w0'])
    expect((await api.del(`/api/v1/users/${writers[0]!.id}/follow`, reader.token)).status).toBe(200)
    await eventually(async () => {
      expect(texts(await api.get('/api/v1/timeline', reader.token))).toEqual(['w1'])
      expect((await api.get(`/api/v1/users/${writers[0]!.id}`)).body.followers).toBe(0)
    })
  })

  it('stores and fans out a post once however often it is delivered', async () => {
    const author = await signUp(api, `qd_${namespace}`)
    const fan = await signUp(api, `qdf_${namespace}`)
    await api.post(`/api/v1/users/${author.id}/follow`, undefined, fan.token)
    await eventually(async () => expect((await api.get(`/api/v1/users/${author.id}`)).body.followers).toBe(1))
    await api.get('/api/v1/timeline', fan.token)
    const { blog } = run
    const post = await blog.services.posts.prepare({ authorId: author.id, text: 'twice' })
    const message: PostMessage = { v: 1, post }
    const before = await rowCounts(blog)
    // As if a consumer had stored it and died before its ack: stored already, then delivered twice more
    // under different message ids (so the broker's dedupe does not hide the repeats).
    await blog.services.posts.persist([post])
    for (const id of ['a', 'b']) {
      await blog.queue!.posts.publish({
        key: author.id,
        id: `${post.post_id}-${id}`,
        data: JSON.stringify(message),
      })
    }
    await eventually(async () => {
      const stats = await blog.queue!.timeline.stats()
      expect(stats.backlog).toBe(0)
      expect(await blog.services.timelines.store!.dump(fan.id)).toEqual([
        { post_id: post.post_id, author_id: author.id },
      ])
    })
    const after = await rowCounts(blog)
    expect(after['posts']).toBe(before['posts']! + 1)
    expect((await api.get(`/api/v1/users/${author.id}`)).body.posts).toBe(1)
  })

  it('parks a poison message in the dead-letter stream after the last delivery, and goes on', async () => {
    const { blog } = run
    const dlq = blog.queue!.posts.deadLetters!
    const parked = (await dlq.info()).messages
    await blog.queue!.posts.publish({
      key: '1',
      id: `poison-${namespace}`,
      data: '{"v":1,"post":{"nonsense":true}}',
    })
    await eventually(async () => expect((await dlq.info()).messages).toBe(parked + 1), 15_000)
    expect(blog.services.consumed.timeline.failed).toBeGreaterThanOrEqual(3)
    // The consumer is still working.
    const author = await signUp(api, `qp_${namespace}`)
    expect((await api.post('/api/v1/posts', { text: 'after poison' }, author.token)).status).toBe(202)
    await eventually(async () =>
      expect(texts(await api.get(`/api/v1/users/${author.id}/posts`))).toEqual(['after poison']),
    )
  }, 30_000)

  it('dead-letters a message the database refuses, alone, and stores the good ones fetched with it', async () => {
    const { blog } = run
    const author = await signUp(api, `qn_${namespace}`)
    const dlq = blog.queue!.posts.deadLetters!
    const parked = (await dlq.info()).messages
    const good = [
      await blog.services.posts.prepare({ authorId: author.id, text: 'good 1' }),
      await blog.services.posts.prepare({ authorId: author.id, text: 'good 2' }),
    ]
    // Valid JSON, valid shape, but PostgreSQL text cannot hold NUL: the insert fails every time.
    const bad = {
      ...(await blog.services.posts.prepare({ authorId: author.id, text: 'x' })),
      text: 'nul \u0000',
    }
    for (const post of [good[0]!, bad, good[1]!]) {
      await blog.queue!.posts.publish({
        key: author.id,
        id: post.post_id,
        data: JSON.stringify({ v: 1, post }),
      })
    }
    await eventually(async () => {
      expect(texts(await api.get(`/api/v1/users/${author.id}/posts`))).toEqual(['good 2', 'good 1'])
      expect((await dlq.info()).messages).toBe(parked + 1)
    }, 15_000)
    expect((await api.get(`/api/v1/users/${author.id}`)).body.posts).toBe(2)
  }, 30_000)

  it('keeps the DeathStarBench shapes: compose answers 200 text, and the post reaches the home timeline', async () => {
    const base = 800_000 + (Date.now() % 1000) * 10 + (target === 'pglite' ? 0 : 5)
    for (const [i, name] of ['qdsb_a', 'qdsb_b'].entries()) {
      const res = await api.form('/wrk2-api/user/register', {
        first_name: 'd',
        last_name: 's',
        username: `${name}_${namespace}`,
        password: 'pw',
        user_id: String(base + i),
      })
      expect(res.status).toBe(200)
    }
    const follow = await api.form('/wrk2-api/user/follow', {
      user_id: String(base),
      followee_id: String(base + 1),
    })
    expect(follow.text).toBe('Success!')
    const read = () => api.get(`/wrk2-api/home-timeline/read?user_id=${base}&start=0&stop=10`)
    expect((await read()).body).toEqual([])
    const compose = await api.form('/wrk2-api/post/compose', {
      username: `qdsb_b_${namespace}`,
      user_id: String(base + 1),
      text: 'via wrk2',
      post_type: '0',
    })
    expect(compose.status).toBe(200)
    expect(compose.text).toBe('Successfully upload post')
    await eventually(async () => {
      const page = (await read()).body as Array<{ text: string; creator: { username: string } }>
      expect(page.map((p) => [p.text, p.creator.username])).toEqual([['via wrk2', `qdsb_b_${namespace}`]])
    })
  })

  it('shows the backlog and fan-out lag in /metrics', async () => {
    const res = await api.get('/metrics')
    expect(res.text).toMatch(/^queue_backlog \d+/m)
    expect(res.text).toMatch(/^fanout_lag_seconds_count \d+/m)
    expect(res.text).toMatch(/^home_timeline_reads_total\{source="rebuild"\} [1-9]/m)
  })
})

describe('back-pressure', () => {
  let run: RunningBlog
  beforeAll(async () => {
    // No consumers in this process: the backlog only grows.
    run = await startBlog('pglite', { HF_QUEUE: 'on', HF_CONSUMERS: 'off', HF_QUEUE_MAX_BACKLOG: '5' })
  }, 60_000)
  afterAll(() => run?.stop())

  it('answers 503 E_BACKLOG with Retry-After once the backlog passes the limit, and loses nothing accepted', async () => {
    const api = client(run.url)
    const author = await signUp(api, 'bp_author')
    const accepted: string[] = []
    let refused: { status: number; contentType: string; body: any; headers: Headers } | undefined
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await api.post('/api/v1/posts', { text: `p${i}` }, author.token)
      if (res.status === 202) accepted.push(res.body.post_id)
      else refused = res
      await sleep(30) // let the backlog poll see it
    }
    expect(refused?.status).toBe(503)
    expect(refused?.contentType).toContain('application/problem+json')
    expect(refused?.body.code).toBe('E_BACKLOG')
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(accepted.length).toBeGreaterThan(5)
    // Every accepted post is in the stream.
    expect((await run.blog.queue!.posts.info()).messages).toBe(accepted.length)
  })
})

describe('Redis away while posts fan out', () => {
  let dir: string
  let redis: ChildProcess | undefined
  let port: number
  let run: RunningBlog

  const startRedis = async () => {
    redis = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      { cwd: dir, stdio: 'ignore' },
    )
    await eventually(async () => {
      const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
      try {
        await probe.connect()
        await probe.ping()
      } finally {
        probe.disconnect()
      }
    })
  }
  const stopRedis = async () => {
    const exited = new Promise((resolve) => redis!.once('exit', resolve))
    redis!.kill('SIGKILL')
    await exited
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-redis-'))
    port = await freePort()
    await startRedis()
    run = await startBlog('pglite', {
      HF_QUEUE: 'on',
      HF_REDIS_URL: `redis://127.0.0.1:${port}`,
      HF_QUEUE_BACKOFF_MS: '300,300,300',
      HF_QUEUE_MAX_DELIVERIES: '3',
    })
  }, 60_000)
  afterAll(async () => {
    await run?.stop()
    redis?.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
  })

  it('serves home timelines by query, dead-letters nothing, and applies everything once Redis is back', async () => {
    const api = client(run.url)
    const author = await signUp(api, 'ro_author')
    const fan = await signUp(api, 'ro_fan')
    await api.post(`/api/v1/users/${author.id}/follow`, undefined, fan.token)
    await eventually(async () => expect((await api.get(`/api/v1/users/${author.id}`)).body.followers).toBe(1))
    expect(texts(await api.get('/api/v1/timeline', fan.token))).toEqual([]) // warm, and on disk
    await stopRedis()
    for (const text of ['one', 'two', 'three']) {
      expect((await api.post('/api/v1/posts', { text }, author.token)).status).toBe(202)
    }
    // The timeline consumer pauses (the posts wait in the stream, acknowledged); home timelines
    // degrade to the query and keep answering.
    for (let i = 0; i < 5; i++) {
      const res = await api.get('/api/v1/timeline', fan.token)
      expect(res.status).toBe(200)
    }
    await sleep(2000) // several backoffs: a consumer that kept fetching would have dead-lettered them
    await startRedis()
    await eventually(async () => {
      const stored = await run.blog.services.timelines.store!.dump(fan.id)
      expect(stored?.map((e) => e.author_id)).toEqual([author.id, author.id, author.id])
    }, 20_000)
    expect((await run.blog.queue!.posts.deadLetters!.info()).messages).toBe(0)
    expect(texts(await api.get('/api/v1/timeline', fan.token))).toEqual(['three', 'two', 'one'])
    expect((await api.get('/metrics')).text).toMatch(/^home_timeline_reads_total\{source="degraded"\} [1-9]/m)
  }, 60_000)
})

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}
