import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  killProcess,
  type RestartEvent,
  readStackState,
  restartApps,
  type StackState,
  stackDown,
  stackStatus,
  stackUp,
} from '@hundredfold/stack'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freeBlock } from './free-block.js'

// The restart test registers a user every few ms from this one address: its registration limit is off.
const STACK_ENV = {
  HF_LOG_LEVEL: 'warn',
  HF_DB_POOL_MAX: '4',
  HF_NAMESPACE: 'stacktest',
  HF_REGISTER_LIMIT_IP: 'off',
}

/** The ports this stack uses, as offsets from its base (see `portOffsets`), and nginx's. */
const offsets = [0, 1, 10, 20, 21, 30, 31, 40, 100, 101]
const frontOffset = 160

interface Answer {
  status: number
  headers: Headers
  body: any
}

async function call(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, body } as Answer
}

describe('npm run stack: a small stack (2 apps, 1 replica, 1 consumer)', () => {
  let dir: string
  let state: StackState

  beforeAll(async () => {
    dir = await mkdtemp(join('/var/tmp', 'hf-stack-test-'))
    const basePort = await freeBlock([...offsets, frontOffset], { from: 20_000, step: 200, blocks: 50 })
    const result = await stackUp({
      dir,
      apps: 2,
      replicas: 1,
      consumers: 1,
      basePort,
      port: basePort + frontOffset,
      drainMs: 300,
      env: STACK_ENV,
      healthTimeoutMs: 40_000,
    })
    state = result.state
    expect([...result.outcomes.values()].every((o) => o === 'started')).toBe(true)
  }, 120_000)

  afterAll(async () => {
    if (dir) {
      await stackDown(dir, { purge: true }).catch((err: unknown) => console.error('stack down failed', err))
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('serves through nginx, and status reports every process healthy', async () => {
    expect(state.apps).toHaveLength(2)
    expect(state.postgres!.replicas).toHaveLength(1)
    const ready = await call(`${state.frontUrl}/readyz`, { headers: { 'x-request-id': 'test-req-1' } })
    expect(ready.status).toBe(200)
    expect(ready.headers.get('server')).toBe('nginx')
    expect(ready.headers.get('x-request-id')).toBe('test-req-1')
    const status = await stackStatus(dir)
    expect(status.processes.filter((p) => !p.healthy)).toEqual([])
    expect(status.healthy).toBe(true)
  })

  it('a second up reuses every process', async () => {
    const again = await stackUp({
      dir,
      env: STACK_ENV,
    })
    expect(new Set(again.outcomes.values())).toEqual(new Set(['reused']))
    expect(again.state.apps.map((a) => a.pid)).toEqual(state.apps.map((a) => a.pid))
  }, 60_000)

  it('a write through one app is read through the other with read-your-writes', async () => {
    const [one, two] = state.apps.map((a) => a.url) as [string, string]
    const created = await call(`${one}/api/v1/users`, {
      method: 'POST',
      body: { username: 'ryw_alice', password: 'long enough' },
    })
    expect(created.status).toBe(201)
    const token = created.headers.get('x-consistency-token')
    expect(token).toBeTruthy()
    const seen = await call(`${two}/api/v1/users/${created.body.user_id}`, {
      headers: { 'x-consistency-token': token! },
    })
    expect(seen.status).toBe(200)
    expect(seen.body.username).toBe('ryw_alice')

    // A follow's first half (the follower's counter) is written synchronously; read it elsewhere.
    const bob = await call(`${one}/api/v1/users`, {
      method: 'POST',
      body: { username: 'ryw_bob', password: 'long enough' },
    })
    const session = await call(`${one}/api/v1/sessions`, {
      method: 'POST',
      body: { username: 'ryw_alice', password: 'long enough' },
    })
    const auth = { authorization: `Bearer ${session.body.token}` }
    const follow = await call(`${one}/api/v1/users/${bob.body.user_id}/follow`, {
      method: 'POST',
      headers: auth,
    })
    expect(follow.status).toBe(200)
    const after = await call(`${two}/api/v1/users/${created.body.user_id}`, {
      headers: { 'x-consistency-token': follow.headers.get('x-consistency-token')! },
    })
    expect(after.body.following).toBe(1)

    // A post goes through JetStream (202) and the consumer process stores it.
    const post = await call(`${one}/api/v1/posts`, {
      method: 'POST',
      headers: auth,
      body: { text: 'through the stack' },
    })
    expect(post.status).toBe(202)
    await expect
      .poll(
        async () => {
          const page = await call(`${two}/api/v1/users/${created.body.user_id}/posts`)
          return page.body.posts?.map((p: { post_id: string }) => p.post_id)
        },
        { timeout: 15_000, interval: 200 },
      )
      .toContain(post.body.post_id)
  }, 60_000)

  it('restart apps replaces each app, one at a time, while nginx answers every request', async () => {
    const before = state.apps.map((a) => a.pid)
    // A new connection per request: a kept-alive client connection that an old nginx worker closes
    // on reload (as every nginx reload does) is the client's race, not a request nginx dropped.
    const fresh = new Agent({ pipelining: 0 })
    const send = async (path: string, body?: unknown): Promise<number | string> => {
      try {
        const res = await request(`${state.frontUrl}${path}`, {
          dispatcher: fresh,
          method: body ? 'POST' : 'GET',
          headers: body ? { 'content-type': 'application/json' } : {},
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(10_000),
        })
        await res.body.dump()
        return res.statusCode
      } catch (err) {
        return `${path}: ${(err as Error).message}`
      }
    }
    const statuses: Array<number | string> = []
    let stop = false
    let n = 0
    const load = (async () => {
      while (!stop) {
        n++
        statuses.push(await send('/api/v1/usernames/ryw_alice'))
        statuses.push(await send('/api/v1/users', { username: `during_${n}`, password: 'long enough' }))
        await sleep(20)
      }
    })()
    const events: RestartEvent[] = []
    try {
      await restartApps(dir, {
        onEach: (e) => {
          events.push(e)
        },
        healthTimeoutMs: 40_000,
      })
    } finally {
      stop = true
      await load
      await fresh.close()
    }
    expect(events.map((e) => e.name)).toEqual(['app-1', 'app-2', 'consumer-1'])
    const after = (await readStackState(dir))!
    for (const [i, app] of after.apps.entries()) expect(app.pid).not.toBe(before[i])
    expect(statuses.length).toBeGreaterThan(10)
    expect(statuses.filter((s) => s !== 200 && s !== 201)).toEqual([])
    expect((await stackStatus(dir)).healthy).toBe(true)
  }, 90_000)

  it('kill -9 of Redis: reads and writes go on (caches and home timelines fall back), and up brings it back', async () => {
    const front = state.frontUrl
    const user = await call(`${front}/api/v1/users`, {
      method: 'POST',
      body: { username: 'redis_carol', password: 'long enough' },
    })
    const session = await call(`${front}/api/v1/sessions`, {
      method: 'POST',
      body: { username: 'redis_carol', password: 'long enough' },
    })
    const auth = { authorization: `Bearer ${session.body.token}` }
    const statuses: number[] = []
    const posted: string[] = []
    let stop = false
    const load = (async () => {
      for (let n = 0; !stop; n++) {
        const [home, mine, post] = await Promise.all([
          call(`${front}/api/v1/timeline`, { headers: auth }),
          call(`${front}/api/v1/users/${user.body.user_id}/posts`),
          call(`${front}/api/v1/posts`, {
            method: 'POST',
            headers: auth,
            body: { text: `without redis ${n}` },
          }),
        ])
        statuses.push(home.status, mine.status, post.status)
        if (post.status === 202 || post.status === 201) posted.push(post.body.post_id)
        await sleep(30)
      }
    })()
    try {
      await sleep(500)
      await killProcess(dir, 'redis')
      await sleep(3000)
      const again = await stackUp({ dir, env: STACK_ENV, healthTimeoutMs: 40_000 })
      expect(again.outcomes.get('redis')).toBe('started')
      await sleep(1500)
    } finally {
      stop = true
      await load
    }
    expect(statuses.length).toBeGreaterThan(30)
    expect(statuses.filter((s) => s < 200 || s >= 300)).toEqual([])
    // Every acknowledged post is stored: the queue is JetStream's, not Redis's.
    await expect
      .poll(
        async () => {
          const page = await call(`${front}/api/v1/users/${user.body.user_id}/posts?limit=100`)
          const ids = new Set(page.body.posts?.map((p: { post_id: string }) => p.post_id))
          return posted.filter((id) => !ids.has(id)).length
        },
        { timeout: 20_000, interval: 250 },
      )
      .toBe(0)
    expect((await stackStatus(dir)).healthy).toBe(true)
  }, 90_000)

  it('down stops every process it started, and only those', async () => {
    const recorded = (await readStackState(dir))!
    const processes = [
      recorded.postgres!.primary,
      ...recorded.postgres!.replicas,
      recorded.redis,
      recorded.nats,
      ...recorded.idServices,
      ...recorded.apps,
      ...recorded.consumers,
      recorded.nginx,
    ]
    const pids = processes.map((p) => p.pid)
    expect(pids.every((pid) => typeof pid === 'number')).toBe(true)
    const result = await stackDown(dir)
    expect(result.stopped.filter((s) => s.outcome === 'not-running')).toEqual([])
    for (const pid of pids) expect(alive(pid!), `pid ${pid}`).toBe(false)
    // Nor any other process on the stack's directory (postgres backends, nginx workers, nats).
    expect(processesMentioning(dir)).toEqual([])
    expect((await stackStatus(dir)).processes.every((p) => !p.running)).toBe(true)
  }, 60_000)
})

/** A live process (zombies waiting for their reaper are gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\S+ \(.*\) [ZX] /.test(stat)
  } catch {
    return false
  }
}

/** Live processes whose command line names `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || !alive(Number(name))) continue
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ')
      if (cmdline.includes(text)) found.push(`${name}: ${cmdline}`)
    } catch {}
  }
  return found
}
