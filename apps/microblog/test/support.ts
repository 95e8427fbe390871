import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll } from 'vitest'
import { loadConfig, type Microblog, startMicroblog } from '../src/index.js'
import { tables } from '../src/storage/store.js'
import { dropShardDatabases, microblogShardMap, writeShardMap } from './shard-layouts.js'

/**
 * The three ways the microblog runs: the embedded default, a PostgreSQL server, and shards (4
 * databases × 4 tables over two PostgreSQL servers: the system's and the run's second one).
 */
export const targets = ['pglite', 'postgres', 'sharded'] as const
export type Target = (typeof targets)[number]

export interface RunningBlog {
  blog: Microblog
  url: string
  stop(): Promise<void>
}

/** Starts the microblog on port 0 against a fresh database of the given kind. */
export async function startBlog(target: Target, env: Record<string, string> = {}): Promise<RunningBlog> {
  const base = { HF_PORT: '0', HF_LOG_LEVEL: 'silent', HF_WRK2_API: 'on', ...env }
  if (target === 'pglite') {
    const dir = await mkdtemp(join(tmpdir(), 'hf-microblog-'))
    const blog = await startMicroblog(loadConfig({ ...base, HF_DATA_DIR: dir }))
    return {
      blog,
      url: blog.url,
      stop: async () => {
        await blog.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  }
  if (target === 'sharded') return startBlogOnMap(microblogShardMap(), env)
  const database = await temporaryDatabase({ prefix: 'hf_microblog' })
  const blog = await startMicroblog(
    loadConfig({ ...base, HF_DATABASE_URL: database.url, HF_DB_POOL_MAX: '5' }),
  )
  return {
    blog,
    url: blog.url,
    stop: async () => {
      await blog.close()
      await database.drop()
    },
  }
}

/** Starts the microblog on port 0 on a shard map's fresh databases, dropped when it stops. */
export async function startBlogOnMap(
  document: Record<string, unknown>,
  env: Record<string, string> = {},
): Promise<RunningBlog> {
  const layout = await writeShardMap(document)
  const base = { HF_PORT: '0', HF_LOG_LEVEL: 'silent', HF_WRK2_API: 'on', ...env }
  try {
    const blog = await startMicroblog(loadConfig({ ...base, HF_SHARD_MAP: layout.path }))
    return {
      blog,
      url: blog.url,
      stop: async () => {
        await blog.close()
        await dropShardDatabases(layout)
      },
    }
  } catch (err) {
    await dropShardDatabases(layout)
    throw err
  }
}

/**
 * The enclosing `describe`'s own microblog: started before its tests, stopped after them. `blog` and
 * `url` are there once it started; `api` may be taken at once and calls the running one.
 *
 * @example
 * const running = blogPerSuite('postgres')
 * const { api } = running
 * it('…', async () => expect((await api.get('/healthz')).status).toBe(200))
 */
export function blogPerSuite(
  target: Target,
  env: Record<string, string> = {},
): { readonly blog: Microblog; readonly url: string; readonly api: Client } {
  let running: RunningBlog | undefined
  const started = () => {
    if (!running) throw new Error('blogPerSuite: the microblog is not running (used outside a test?)')
    return running
  }
  beforeAll(async () => {
    running = await startBlog(target, env)
  })
  afterAll(async () => running?.stop())
  return {
    get blog() {
      return started().blog
    },
    get url() {
      return started().url
    },
    api: client(() => started().url),
  }
}

/** Polls until `check` stops throwing (or the time is up, then throws its last error). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await sleep(25)
    }
  }
}

export interface Response<T = unknown> {
  status: number
  contentType: string
  body: T
  text: string
  headers: Headers
}

export type Client = ReturnType<typeof client>

/** A tiny HTTP client for tests: JSON in, JSON (or text) out; `base` may be read at each call. */
export function client(base: string | (() => string)) {
  const send = async <T>(
    method: string,
    path: string,
    init: {
      json?: unknown
      form?: Record<string, string>
      raw?: string
      contentType?: string
      token?: string
    } = {},
  ): Promise<Response<T>> => {
    const headers: Record<string, string> = {}
    let body: string | undefined
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(init.json)
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(init.form).toString()
    } else if (init.raw !== undefined) {
      headers['content-type'] = init.contentType ?? 'application/json'
      body = init.raw
    }
    if (init.token) headers['authorization'] = `Bearer ${init.token}`
    const res = await fetch(new URL(path, typeof base === 'string' ? base : base()), {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    })
    const text = await res.text()
    const contentType = res.headers.get('content-type') ?? ''
    let parsed: unknown = text
    if (contentType.includes('json') && text.length > 0) parsed = JSON.parse(text)
    return { status: res.status, contentType, body: parsed as T, text, headers: res.headers }
  }
  return {
    get: <T = any>(path: string, token?: string) => send<T>('GET', path, token ? { token } : {}),
    post: <T = any>(path: string, json?: unknown, token?: string) =>
      send<T>('POST', path, { ...(json === undefined ? {} : { json }), ...(token ? { token } : {}) }),
    del: <T = any>(path: string, token?: string) => send<T>('DELETE', path, token ? { token } : {}),
    form: <T = any>(path: string, form: Record<string, string>) => send<T>('POST', path, { form }),
    raw: <T = any>(method: string, path: string, raw: string, contentType?: string, token?: string) =>
      send<T>(method, path, { raw, ...(contentType ? { contentType } : {}), ...(token ? { token } : {}) }),
  }
}

/** Registers a user and signs in; returns the id and a token. */
export async function signUp(api: Client, username: string, password = 'correct horse') {
  const created = await api.post('/api/v1/users', {
    username,
    password,
    display_name: username.toUpperCase(),
  })
  if (created.status !== 201) throw new Error(`register ${username}: ${created.status} ${created.text}`)
  const session = await api.post('/api/v1/sessions', { username, password })
  if (session.status !== 200) throw new Error(`login ${username}: ${session.status} ${session.text}`)
  return { id: created.body.user_id as string, token: session.body.token as string }
}

/** Row counts of every table, to check that a rejected request left nothing behind. */
export async function rowCounts(blog: Microblog): Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  for (const table of tables.filter((t) => t !== 'app_secrets')) {
    const parts = await Promise.all(
      blog.database.store
        .everywhere(table)
        .map((shard) => shard.read<{ n: string }>(`SELECT count(*) AS n FROM {${table}}`)),
    )
    counts[table] = parts.reduce((sum, part) => sum + Number(part.rows[0]!.n), 0)
  }
  return counts
}

/** The shared broker and Redis the queued tests use. */
export const NATS_URL = process.env['HF_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222'
export const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

/** The queued write path: embedded (PGlite, in-process broker and timelines) and on PostgreSQL, JetStream, Redis. */
export const queuedSetups: Array<[Target, Record<string, string>]> = [
  ['pglite', { HF_QUEUE: 'on' }],
  ['postgres', { HF_QUEUE: 'on', HF_NATS_URL: NATS_URL, HF_REDIS_URL: REDIS_URL }],
  ['sharded', { HF_QUEUE: 'on', HF_NATS_URL: NATS_URL, HF_REDIS_URL: REDIS_URL }],
]

/**
 * `blogPerSuite` for the queued write path: the app under its own namespace (`namespace` is the prefix
 * plus this run's), stopped after the suite with its streams deleted from the shared broker.
 *
 * @example
 * const running = queuedBlogPerSuite('postgres', queuedSetups[1][1], 'qa')
 */
export function queuedBlogPerSuite(target: Target, env: Record<string, string>, prefix: string) {
  const namespace = `${prefix}${process.pid}${target[0]}${Date.now() % 100000}`
  let running: RunningBlog | undefined
  const started = () => {
    if (!running) throw new Error('queuedBlogPerSuite: the microblog is not running (used outside a test?)')
    return running
  }
  beforeAll(async () => {
    running = await startBlog(target, { ...env, HF_NAMESPACE: namespace })
  }, 60_000)
  afterAll(() => stopQueuedBlog(running, target, namespace))
  return {
    namespace,
    get blog() {
      return started().blog
    },
    api: client(() => started().url),
  }
}

/**
 * Stops a queued app; on the shared broker (the `postgres` target) also deletes its namespace's
 * streams, so no test leaves streams behind.
 */
export async function stopQueuedBlog(run: RunningBlog | undefined, target: Target, namespace: string) {
  const queued = run?.blog.queue !== undefined
  await run?.stop()
  if (!queued || target === 'pglite') return
  const { createQueue } = await import('@hundredfold/queue')
  const { jetstreamDriver } = await import('@hundredfold/queue/jetstream')
  const admin = createQueue({ driver: jetstreamDriver({ servers: NATS_URL }) })
  for (const name of [`${namespace}_posts`, `${namespace}_follows`]) await admin.deleteStream(name)
  await admin.drain()
}
