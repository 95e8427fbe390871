import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { antispamQueuePressure } from '../src/http/guard.js'
import { blogPerSuite, client, REDIS_URL, type RunningBlog, rowCounts, signUp, startBlog } from './support.js'

const problemType = 'application/problem+json; charset=utf-8'

describe('the microblog guard config', () => {
  it('reads the limits as <n>/<window> or off, and names a bad variable', () => {
    const { guard } = loadConfig({ HF_LOGIN_LIMIT_IP: '5/10s', HF_REGISTER_LIMIT_IP: 'off' })
    expect(guard.loginPerIp).toEqual({ limit: 5, windowMs: 10_000 })
    expect(guard.registerPerIp).toBeUndefined()
    expect(guard.loginPerUser).toEqual({ limit: 10, windowMs: 300_000 })
    expect(guard.concurrency).toBe('vegas')
    expect(() => loadConfig({ HF_LOGIN_LIMIT_USER: '10 per minute' })).toThrow(/HF_LOGIN_LIMIT_USER/)
    expect(() => loadConfig({ HF_GUARD_CONCURRENCY: 'lots' })).toThrow(/HF_GUARD_CONCURRENCY/)
  })
})

describe('sign-in and registration throttles (pglite)', () => {
  const running = blogPerSuite('pglite', {
    HF_LOGIN_LIMIT_USER: '3/1m',
    HF_LOGIN_LIMIT_IP: '8/1m',
    HF_REGISTER_LIMIT_IP: '3/1m',
  })
  const { api } = running

  it('limits sign-ins per username with 429 E_RATE_LIMITED, Retry-After and the RateLimit headers', async () => {
    await signUp(api, 'throttled') // one sign-in of three
    for (let i = 0; i < 2; i++) {
      const wrong = await api.post('/api/v1/sessions', { username: 'throttled', password: 'wrong password' })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('ratelimit-policy')).toContain('login-user')
    }
    const refused = await api.post('/api/v1/sessions', { username: 'throttled', password: 'correct horse' })
    expect(refused.status).toBe(429)
    expect(refused.contentType).toBe(problemType)
    expect(refused.body).toMatchObject({ code: 'E_RATE_LIMITED', status: 429 })
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(refused.headers.get('ratelimit')).toMatch(/r=0/)
    // Usernames are limited apart: the address still has quota left.
    const other = await api.post('/api/v1/sessions', { username: 'nobody', password: 'wrong password' })
    expect(other.status).toBe(401)
  })

  it('limits sign-ins per client address before reading the body', async () => {
    let status = 0
    for (let i = 0; i < 10 && status !== 429; i++) {
      status = (await api.post('/api/v1/sessions', { username: `user${i}`, password: 'wrong password' }))
        .status
    }
    expect(status).toBe(429)
    const refused = await api.post('/api/v1/sessions', { username: 'fresh', password: 'wrong password' })
    expect(refused.body).toMatchObject({ code: 'E_RATE_LIMITED' })
    expect(refused.headers.get('ratelimit-policy')).toContain('login-ip')
  })

  it('limits registrations per client address; a refused one stores nothing', async () => {
    const before = await rowCounts(running.blog)
    const answers: number[] = []
    for (let i = 0; i < 3; i++) {
      const res = await api.post('/api/v1/users', { username: `reg${i}`, password: 'correct horse' })
      answers.push(res.status)
    }
    // The suite's first test registered one user already.
    expect(answers).toEqual([201, 201, 429])
    const after = await rowCounts(running.blog)
    expect(after['users']).toBe(before['users']! + 2)
    expect(after['usernames']).toBe(before['usernames']! + 2)
  })

  it('never limits health, readiness or metrics', async () => {
    for (let i = 0; i < 20; i++) expect((await api.get('/healthz')).status).toBe(200)
    const metrics = await api.get('/metrics')
    expect(metrics.text).toContain('hundredfold_guard')
  })
})

describe('load shedding', () => {
  it('sheds what the inbound limit cannot take with 503 E_CONCURRENCY_LIMITED at once; probes, sign-ins and composes are not under it', async () => {
    // On PostgreSQL, whose round trips let requests overlap (the embedded database computes in this thread).
    const blog = await startBlog('postgres', { HF_GUARD_CONCURRENCY: '1', HF_LOGIN_LIMIT_IP: 'off' })
    try {
      const api = client(blog.url)
      const { id, token } = await signUp(api, 'shed')
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => api.get(`/api/v1/users/${id}/posts?limit=${1 + (i % 20)}`)),
      )
      const shed = answers.filter((a) => a.status === 503)
      expect(shed.length).toBeGreaterThan(0)
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0)
      expect(shed[0]!.body).toMatchObject({ code: 'E_CONCURRENCY_LIMITED' })
      expect(shed[0]!.contentType).toBe(problemType)
      expect(shed[0]!.headers.get('retry-after')).toBe('1')
      expect(answers.every((a) => a.status === 200 || a.status === 503)).toBe(true)
      expect((await api.get('/readyz')).status).toBe(200)
      // Composes have their own bulkhead (a wait on the broker must not take the reads' permits): a
      // burst of them is not shed by the limit of 1.
      const composes = await Promise.all(
        Array.from({ length: 40 }, (_, i) => api.post('/api/v1/posts', { text: `post ${i}` }, token)),
      )
      expect(composes.map((c) => c.status)).toEqual(Array(40).fill(201))
      // Sign-ins have their own bounded pool instead: a burst of them is queued there, not shed here.
      const logins = await Promise.all(
        Array.from({ length: 8 }, () =>
          api.post('/api/v1/sessions', { username: 'shed', password: 'correct horse' }),
        ),
      )
      expect(logins.map((l) => l.status)).toEqual(Array(8).fill(200))
    } finally {
      await blog.stop()
    }
  })

  it('refuses a sign-in at once with 503 E_BULKHEAD_FULL when every password-hash slot is busy and the queue is full', async () => {
    const blog = await startBlog('pglite', {
      HF_GUARD_CONCURRENCY: 'off',
      HF_PASSWORD_HASH_QUEUE: '0',
      HF_LOGIN_LIMIT_IP: 'off',
      HF_LOGIN_LIMIT_USER: 'off',
    })
    try {
      const api = client(blog.url)
      await signUp(api, 'pool')
      const answers = await Promise.all(
        Array.from({ length: 16 }, () =>
          api.post('/api/v1/sessions', { username: 'pool', password: 'correct horse' }),
        ),
      )
      const full = answers.filter((a) => a.status === 503)
      expect(full.length).toBeGreaterThan(0)
      expect(full[0]!.body).toMatchObject({ code: 'E_BULKHEAD_FULL' })
      // At most four hashes run at once, none waits: the first four always get through.
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(4)
    } finally {
      await blog.stop()
    }
  })
})

describe('cluster-wide limits on Redis (postgres)', () => {
  const namespace = `guard_${randomBytes(3).toString('hex')}`
  const env = { HF_REDIS_URL: REDIS_URL, HF_NAMESPACE: namespace, HF_LOGIN_LIMIT_USER: '3/1m' }
  let a: RunningBlog
  let b: RunningBlog
  beforeAll(async () => {
    ;[a, b] = await Promise.all([startBlog('postgres', env), startBlog('postgres', env)])
  })
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()])
  })

  it('two app processes share one quota per username', async () => {
    const first = client(a.url)
    const second = client(b.url)
    for (let i = 0; i < 3; i++) {
      expect(
        (await first.post('/api/v1/sessions', { username: 'shared', password: 'wrong password' })).status,
      ).toBe(401)
    }
    const refused = await second.post('/api/v1/sessions', { username: 'shared', password: 'wrong password' })
    expect(refused.status).toBe(429)
    expect(refused.body).toMatchObject({ code: 'E_RATE_LIMITED' })
  })
})

describe('the antispam degrade signal', () => {
  it("reads the pool's queue against eight waiting checks per thread", () => {
    expect(antispamQueuePressure({ queued: 0 }, 1)).toBe(0)
    expect(antispamQueuePressure({ queued: 4 }, 1)).toBe(0.5)
    expect(antispamQueuePressure({ queued: 16 }, 2)).toBe(1)
    expect(antispamQueuePressure({ queued: 0 }, 0)).toBe(0) // inline: nothing ever waits
  })
})

describe('the antispam check on compose (pglite)', () => {
  const running = blogPerSuite('pglite', { HF_LOGIN_LIMIT_IP: 'off' })
  const { api } = running
  const spam =
    'BUY NOW!!! cheap v1agra at http://best-pills.example.ru and http://bit.ly/xyz call +1 555 0100'

  it('refuses a post that reads as spam with 422 E_SPAM and stores nothing; keeps the rest', async () => {
    const { token } = await signUp(api, 'poster')
    const before = await rowCounts(running.blog)
    const refused = await api.post('/api/v1/posts', { text: spam }, token)
    expect(refused.status).toBe(422)
    expect(refused.contentType).toBe(problemType)
    expect(refused.body).toMatchObject({ code: 'E_SPAM' })
    expect((await rowCounts(running.blog))['posts']).toBe(before['posts'])
    const ham = await api.post('/api/v1/posts', { text: 'lunch by the river with the team today' }, token)
    expect(ham.status).toBe(201)
    // The check's time is a stage of its own in Server-Timing.
    expect(ham.headers.get('server-timing')).toMatch(/(^|, )antispam;dur=[\d.]+(, |$)/)
    const metrics = (await api.get('/metrics')).text
    expect(metrics).toMatch(/antispam_checks_total\{verdict="spam"\} [1-9]/)
  })

  it('is skipped, and the skip counted, while its degrade switch is on', async () => {
    const { token } = await signUp(api, 'degraded')
    const degrade = running.blog.guard.antispamSwitch!
    degrade.force('on')
    try {
      const accepted = await api.post('/api/v1/posts', { text: spam }, token)
      expect(accepted.status).toBe(201)
      expect(accepted.headers.get('server-timing')).toMatch(/antispam;dur=[\d.]+;desc="1 skipped"/)
      const metrics = (await api.get('/metrics')).text
      expect(metrics).toMatch(/hundredfold_guard_degrade_skipped_total\{policy="antispam"\} [1-9]/)
      expect(metrics).toMatch(/hundredfold_guard_degrade_on\{policy="antispam"\} 1/)
      degrade.force('off')
      expect((await api.post('/api/v1/posts', { text: spam }, token)).status).toBe(422)
    } finally {
      degrade.force('auto')
    }
  })
})
