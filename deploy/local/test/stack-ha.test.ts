import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  killPrimary,
  patroniCluster,
  primaryDatabaseUrl,
  type StackState,
  stackDown,
  stackStatus,
  stackUp,
} from '@hundredfold/stack'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freeBlock } from './free-block.js'

/**
 * `npm run stack -- --ha` for real: etcd ×3 and Patroni ×3 beside the rest of the stack, one app and
 * one consumer, then the short form of the kill-primary drill — a steady trickle of queued posts and
 * synchronous sign-ups through nginx while the primary's machine dies (postmaster and Patroni
 * SIGKILLed). Nothing answered 2xx may be missing afterwards.
 */

const STACK_ENV = {
  HF_LOG_LEVEL: 'warn',
  HF_DB_POOL_MAX: '4',
  HF_NAMESPACE: 'hatest',
  HF_REGISTER_LIMIT_IP: 'off',
}

/** The stack's own ports (see `portOffsets`), the Patroni block at +150, and nginx's. */
const offsets = [0, 10, 20, 21, 30, 31, 40, 100, 150, 151, 152, 160, 161, 162, 170, 171, 172, 180, 181, 182]
const frontOffset = 230

async function send(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    return { status: res.status, body: parsed }
  } catch (err) {
    return { status: 0, body: String(err) }
  }
}

async function rowsExist(url: string, sql: string, ids: readonly string[]): Promise<number> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  client.on('error', () => {})
  await client.connect()
  try {
    const { rows } = await client.query<{ n: string }>(sql, [ids])
    return Number(rows[0]!.n)
  } finally {
    await client.end()
  }
}

describe('npm run stack -- --ha: PostgreSQL under Patroni, and a crash of its primary', () => {
  let dir: string
  let state: StackState
  let basePort: number
  const up = () =>
    stackUp({
      dir,
      ha: true,
      apps: 1,
      replicas: 2,
      consumers: 1,
      basePort,
      port: basePort + frontOffset,
      drainMs: 300,
      env: STACK_ENV,
      healthTimeoutMs: 60_000,
    })

  beforeAll(async () => {
    dir = await mkdtemp(join('/var/tmp', 'hf-stack-ha-test-'))
    basePort = await freeBlock([...offsets, frontOffset], { from: 30_000, step: 250, blocks: 40 })
    const result = await up()
    state = result.state
    expect([...result.outcomes.values()].every((o) => o === 'started')).toBe(true)
  }, 180_000)

  afterAll(async () => {
    if (dir) {
      await stackDown(dir, { purge: true }).catch((err: unknown) => console.error('stack down failed', err))
      await rm(dir, { recursive: true, force: true })
    }
  }, 90_000)

  it('runs a primary and two replicas under Patroni, and hands the apps every member', async () => {
    const topology = await patroniCluster(state).topology()
    expect(topology.members.map((m) => m.role).sort()).toEqual(['leader', 'replica', 'replica'])
    expect(state.databaseHosts).toHaveLength(3)
    expect(state.postgres).toBeUndefined()
    const status = await stackStatus(dir)
    expect(status.processes.filter((p) => !p.healthy)).toEqual([])
    expect(status.processes.map((p) => p.kind)).toEqual(expect.arrayContaining(['etcd', 'patroni']))
  })

  it('SIGKILL of the primary: a replica is promoted, writes resume, nothing acknowledged is lost, the old primary rejoins', async () => {
    const front = state.frontUrl
    const alice = await send(`${front}/api/v1/users`, { username: 'ha_alice', password: 'long enough' })
    expect(alice.status).toBe(201)
    const session = await send(`${front}/api/v1/sessions`, { username: 'ha_alice', password: 'long enough' })
    const auth = { authorization: `Bearer ${session.body.token}` }

    const ackedPosts: string[] = []
    const ackedUsers: string[] = []
    let failedWrites = 0
    let killedAt: number | undefined
    let resumedAt: number | undefined
    let stop = false
    const writer = (async () => {
      for (let n = 0; !stop; n++) {
        const [post, user] = await Promise.all([
          send(`${front}/api/v1/posts`, { text: `ha ${n}` }, auth),
          send(`${front}/api/v1/users`, { username: `ha_u${n}`, password: 'long enough' }),
        ])
        if (post.status >= 200 && post.status < 300) ackedPosts.push(String(post.body.post_id))
        else failedWrites++
        if (user.status === 201) {
          ackedUsers.push(String(user.body.user_id))
          if (killedAt !== undefined && resumedAt === undefined) resumedAt = performance.now()
        } else failedWrites++
        await sleep(50)
      }
    })()

    await sleep(1500)
    const before = await patroniCluster(state).waitForPrimary()
    const killed = await killPrimary(dir)
    killedAt = performance.now()
    expect(killed.member).toBe(before.name)
    const after = await patroniCluster(state).waitForPrimary({ exclude: [before], timeoutMs: 40_000 })
    expect(after.name).not.toBe(before.name)
    // Until a synchronous write has gone through again, and a little past it.
    const deadline = performance.now() + 45_000
    while (resumedAt === undefined && performance.now() < deadline) await sleep(100)
    await sleep(1000)
    stop = true
    await writer
    expect(resumedAt).toBeDefined()
    console.log(
      `kill-primary (short): ${before.name} → ${after.name}; writes_resumed_s ${((resumedAt! - killedAt) / 1000).toFixed(2)}; ` +
        `${ackedPosts.length} posts and ${ackedUsers.length} sign-ups acknowledged, ${failedWrites} writes failed`,
    )
    expect(ackedUsers.length).toBeGreaterThan(0)

    // Every acknowledged write is on the new primary: sign-ups at once, posts once the queue drains.
    const primary = await primaryDatabaseUrl(state)
    expect(primary).toContain(String(after.pgPort))
    expect(
      await rowsExist(
        primary,
        'SELECT count(*) AS n FROM users WHERE user_id = ANY($1::bigint[])',
        ackedUsers,
      ),
    ).toBe(ackedUsers.length)
    const posts = 'SELECT count(*) AS n FROM posts WHERE post_id = ANY($1::bigint[])'
    const drainBy = performance.now() + 60_000
    let stored = 0
    while (performance.now() < drainBy) {
      stored = await rowsExist(primary, posts, ackedPosts)
      if (stored === ackedPosts.length) break
      await sleep(500)
    }
    expect(stored).toBe(ackedPosts.length)

    // `up` again starts the dead member; Patroni brings it back as a replica of the new primary.
    const again = await up()
    expect(again.outcomes.get(before.name)).toBe('started')
    expect(again.outcomes.get(after.name)).toBe('reused')
    const topology = await patroniCluster(again.state).topology()
    const roles = Object.fromEntries(topology.members.map((m) => [m.name, m.role]))
    expect(roles[after.name]).toBe('leader')
    expect(roles[before.name]).toBe('replica')
    expect((await stackStatus(dir)).healthy).toBe(true)
  }, 240_000)
})
