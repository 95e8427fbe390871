import { describe, expect, it } from 'vitest'
import { RequestTiming } from '../src/request-timing.js'
import { blogPerSuite, eventually, queuedBlogPerSuite, queuedSetups, signUp, targets } from './support.js'

interface Entry {
  name: string
  dur: number
  desc: string | undefined
}

const token = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const value = `(?:${token}|"(?:[^"\\\\]|\\\\.)*")`
const param = `${token}[ \\t]*=[ \\t]*${value}`
const metric = new RegExp(`^(${token})((?:[ \\t]*;[ \\t]*${param})*)$`)
const params = new RegExp(`;[ \\t]*(${token})[ \\t]*=[ \\t]*(${value})`, 'g')

/**
 * A `Server-Timing` value parsed by the W3C grammar (`metric *( OWS ";" OWS name OWS "=" OWS value )`,
 * comma-separated), throwing on anything it does not match. Every entry must carry a numeric `dur`.
 */
function parseServerTiming(header: string | null): Map<string, Entry> {
  if (header === null) throw new Error('no Server-Timing header')
  const entries = new Map<string, Entry>()
  // Commas inside quoted strings do not separate entries.
  for (const raw of header.match(/(?:[^,"]|"(?:[^"\\]|\\.)*")+/g) ?? []) {
    const text = raw.trim()
    const match = metric.exec(text)
    if (!match) throw new Error(`not a server-timing metric: ${JSON.stringify(text)}`)
    const fields = new Map<string, string>()
    for (const [, name, v] of match[2]!.matchAll(params)) {
      fields.set(name!, v!.startsWith('"') ? v!.slice(1, -1).replace(/\\(.)/g, '$1') : v!)
    }
    const dur = Number(fields.get('dur'))
    if (!/^\d+(\.\d{1,3})?$/.test(fields.get('dur') ?? '')) throw new Error(`dur of ${text}`)
    if (entries.has(match[1]!)) throw new Error(`${match[1]} listed twice`)
    entries.set(match[1]!, { name: match[1]!, dur, desc: fields.get('desc') })
  }
  return entries
}

/** `"l1=3 l2=0 miss=1"` → `{ l1: 3, l2: 0, miss: 1 }`. */
function counts(desc: string | undefined): Record<string, number> {
  return Object.fromEntries((desc ?? '').split(' ').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])]))
}

/** The statement count of a `db` entry (`"3 statements"`). */
function statements(entry: Entry | undefined): number {
  const match = /^(\d+) statements?$/.exec(entry?.desc ?? '')
  if (!match) throw new Error(`no statement count in ${JSON.stringify(entry)}`)
  return Number(match[1])
}

describe('RequestTiming', () => {
  it('writes only the stages used, in a fixed order, with at most 3 decimals and counts as desc', () => {
    const timing = new RequestTiming()
    timing.dbMs = 1.23456
    timing.statements = 3
    timing.cacheMs = 0.2
    timing.cacheCalls = 2
    timing.cacheKeys = 5
    timing.l1Hits = 3
    timing.cacheLoaded = 1
    timing.totalMs = 2.1
    expect(timing.header()).toBe(
      'cache;dur=0.2;desc="l1=3 l2=1 miss=1", db;dur=1.235;desc="3 statements", total;dur=2.1',
    )
    timing.statements = 1
    timing.queuePublishes = 1
    timing.cacheDeletes = 1
    expect(timing.header()).toBe(
      'cache;dur=0.2;desc="l1=3 l2=1 miss=1 del=1", db;dur=1.235;desc="1 statement", queue;dur=0;desc="1 publish", total;dur=2.1',
    )
  })
})

describe.each(targets)('Server-Timing on %s', (target) => {
  const running = blogPerSuite(target)
  const { api } = running

  it('answers every API request with the stages it used: a cold read goes to the database, a repeat does not', async () => {
    const author = await signUp(api, `st_${target}`)
    expect((await api.post('/api/v1/posts', { text: 'timed' }, author.token)).status).toBe(201)

    const cold = await api.get(`/api/v1/users/${author.id}/posts`)
    expect(cold.status).toBe(200)
    const first = parseServerTiming(cold.headers.get('server-timing'))
    expect(statements(first.get('db'))).toBeGreaterThanOrEqual(1)
    expect(counts(first.get('cache')?.desc).miss).toBeGreaterThanOrEqual(1)
    expect([...first.keys()]).toEqual(expect.arrayContaining(['serialize', 'total']))
    expect([...first.keys()].at(-1)).toBe('total')

    const warm = parseServerTiming(
      (await api.get(`/api/v1/users/${author.id}/posts`)).headers.get('server-timing'),
    )
    expect(warm.has('db')).toBe(false)
    const cache = counts(warm.get('cache')?.desc)
    expect(cache.miss).toBe(0)
    expect(cache.l1).toBeGreaterThanOrEqual(3) // the profile, the newest keys, the post, its author
  })

  it('counts a transaction by its statements, BEGIN and COMMIT included, and the cache delete after it', async () => {
    const author = await signUp(api, `stw_${target}`)
    const composed = await api.post('/api/v1/posts', { text: 'counted' }, author.token)
    expect(composed.status).toBe(201)
    const timing = parseServerTiming(composed.headers.get('server-timing'))
    expect(statements(timing.get('db'))).toBeGreaterThanOrEqual(3)
    expect(counts(timing.get('cache')?.desc).del).toBe(1) // the author's newest keys
  })

  it('shows a read past L1 as l2 when the client carries its consistency token', async () => {
    const author = await signUp(api, `stl_${target}`)
    await api.get(`/api/v1/users/${author.id}`) // the profile is now in L1 and L2
    const composed = await api.post('/api/v1/posts', { text: 'mine' }, author.token)
    const res = await fetch(new URL(`/api/v1/users/${author.id}/posts`, running.url), {
      headers: { 'x-consistency-token': composed.headers.get('x-consistency-token')! },
    })
    expect(res.status).toBe(200)
    expect(
      counts(parseServerTiming(res.headers.get('server-timing')).get('cache')?.desc).l2,
    ).toBeGreaterThanOrEqual(1)
  })

  it('times error answers too', async () => {
    const missing = await api.get('/api/v1/users/123456789')
    expect(missing.status).toBe(404)
    const timing = parseServerTiming(missing.headers.get('server-timing'))
    expect(timing.has('total')).toBe(true)
    expect(timing.has('serialize')).toBe(true)
  })

  it('exposes the stages as histograms in /metrics, beside event-loop delay and GC pauses', async () => {
    const metrics = (await api.get('/metrics')).text
    const route = '/api/v1/users/:user_id/posts'
    expect(metrics).toContain('# TYPE http_stage_duration_seconds histogram')
    for (const stage of ['db', 'cache', 'serialize', 'total']) {
      expect(metrics).toMatch(
        new RegExp(`http_stage_duration_seconds_count\\{route="${route}",stage="${stage}"\\} [1-9]`),
      )
    }
    expect(metrics).toMatch(
      /http_stage_duration_seconds_bucket\{route="\/api\/v1\/posts",stage="db",le="\+Inf"\} [1-9]/,
    )
    expect(metrics).toContain('# TYPE db_statements_per_request histogram')
    expect(metrics).toMatch(/db_statements_per_request_count\{route="\/api\/v1\/posts"\} [1-9]/)
    expect(metrics).toMatch(/^nodejs_eventloop_lag_p99_seconds /m)
    expect(metrics).toContain('# TYPE nodejs_gc_duration_seconds histogram')
  })
})

describe('HF_SERVER_TIMING=off', () => {
  const { api } = blogPerSuite('pglite', { HF_SERVER_TIMING: 'off' })

  it('answers without the header and keeps no stage series', async () => {
    const author = await signUp(api, 'untimed')
    const res = await api.get(`/api/v1/users/${author.id}/posts`)
    expect(res.status).toBe(200)
    expect(res.headers.get('server-timing')).toBeNull()
    const metrics = (await api.get('/metrics')).text
    expect(metrics).not.toContain('http_stage_duration_seconds')
    expect(metrics).not.toContain('db_statements_per_request')
    expect(metrics).toContain('http_request_duration_seconds_count')
  })
})

describe.each(queuedSetups)('Server-Timing with the queue (%s)', (target, env) => {
  const { api, namespace } = queuedBlogPerSuite(target, env, 'st')

  it('shows the publish under queue, and a compose with a warm cache never reaches the database', async () => {
    const author = await signUp(api, `qa_${namespace}`)
    await api.get(`/api/v1/users/${author.id}`) // the profile in the cache, for the token check
    const accepted = await api.post('/api/v1/posts', { text: 'through the queue' }, author.token)
    expect(accepted.status).toBe(202)
    const timing = parseServerTiming(accepted.headers.get('server-timing'))
    expect(timing.get('queue')?.desc).toBe('1 publish')
    expect(timing.has('db')).toBe(false)
  })

  it('shows home-timeline store calls under timeline: a cold read rebuilds from the database, a warm one does not', async () => {
    const reader = await signUp(api, `qr_${namespace}`)
    await api.get(`/api/v1/users/${reader.id}`)
    const cold = parseServerTiming(
      (await api.get('/api/v1/timeline', reader.token)).headers.get('server-timing'),
    )
    expect(cold.get('timeline')?.desc).toMatch(/^[2-9] calls$/) // read, begin and finish the build
    expect(statements(cold.get('db'))).toBeGreaterThanOrEqual(1)

    const warm = parseServerTiming(
      (await api.get('/api/v1/timeline', reader.token)).headers.get('server-timing'),
    )
    expect(warm.get('timeline')?.desc).toBe('1 call')
    expect(warm.has('db')).toBe(false)
  })

  it("finds an author's timeline warm after a queued post is stored: the consumer filled it, not the next reader", async () => {
    const author = await signUp(api, `qw_${namespace}`)
    await api.get(`/api/v1/users/${author.id}`)
    const acked = async () =>
      Number(
        /queue_messages_total\{consumer="timeline",outcome="acked"\} (\d+)/.exec(
          (await api.get('/metrics')).text,
        )?.[1] ?? 0,
      )
    const before = await acked()
    expect((await api.post('/api/v1/posts', { text: 'warm me' }, author.token)).status).toBe(202)
    // Acknowledged once stored, fanned out and the author's newest keys filled again.
    await eventually(async () => expect(await acked()).toBeGreaterThan(before))
    const read = await api.get(`/api/v1/users/${author.id}/posts`)
    expect(read.body).toMatchObject({ posts: [{ text: 'warm me' }] })
    const timing = parseServerTiming(read.headers.get('server-timing'))
    expect(counts(timing.get('cache')?.desc).miss).toBe(0)
    expect(timing.has('db')).toBe(false)
  })

  it('shows a follow as its database half, the timeline it drops and the edge it publishes', async () => {
    const a = await signUp(api, `qf_${namespace}`)
    const b = await signUp(api, `qg_${namespace}`)
    const followed = await api.post(`/api/v1/users/${a.id}/follow`, undefined, b.token)
    expect(followed.status).toBe(200)
    const timing = parseServerTiming(followed.headers.get('server-timing'))
    expect(statements(timing.get('db'))).toBeGreaterThanOrEqual(3)
    expect(timing.get('timeline')?.desc).toBe('1 call')
    expect(timing.get('queue')?.desc).toBe('1 publish')
  })
})
