import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { QueueDriver, StreamInfo } from '@hundredfold/queue'
import { jetstreamDriver } from '@hundredfold/queue/jetstream'
import {
  killPrimary,
  killProcess,
  natsNodes,
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
 * `npm run stack -- --ha` for real: etcd ×3, Patroni ×3 and a three-node JetStream cluster beside the
 * rest of the stack, one app and one consumer, then the short form of the kill-primary drill — a
 * steady trickle of queued posts and synchronous sign-ups through nginx while the primary's machine
 * dies (postmaster and Patroni SIGKILLed) — and of a NATS node's: the leader of the posts stream
 * SIGKILLed under composes. Nothing answered 2xx may be missing afterwards.
 */

const STACK_ENV = {
  HF_LOG_LEVEL: 'warn',
  HF_DB_POOL_MAX: '4',
  HF_NAMESPACE: 'hatest',
  HF_REGISTER_LIMIT_IP: 'off',
}

/** The stack's own ports (see `portOffsets`; NATS ×3 at +20…+28), the Patroni block at +150, and nginx's. */
const offsets = [
  0, 10, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30, 31, 40, 100, 150, 151, 152, 160, 161, 162, 170, 171, 172,
  180, 181, 182,
]
const frontOffset = 230

async function send(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 5_000,
): Promise<{ status: number; body: any }> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
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

/** The stream's info, retried while the cluster has no answer for it (a leader being elected). */
async function streamInfo(driver: QueueDriver, name: string, timeoutMs = 20_000): Promise<StreamInfo> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    try {
      return await driver.streamInfo(name, AbortSignal.timeout(3000))
    } catch (err) {
      if (performance.now() > deadline) throw err
      await sleep(250)
    }
  }
}

/** Polls `info` of `name` until `done` holds (within `timeoutMs`); resolves with the last info. */
async function waitForStream(
  driver: QueueDriver,
  name: string,
  done: (info: StreamInfo) => boolean,
  timeoutMs = 30_000,
): Promise<StreamInfo> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const info = await streamInfo(driver, name)
    if (done(info) || performance.now() > deadline) return info
    await sleep(250)
  }
}

describe('npm run stack -- --ha: PostgreSQL under Patroni, NATS as a JetStream cluster, and a crash of each', () => {
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

  it("runs three clustered NATS nodes and the microblog's streams at three replicas", async () => {
    const nodes = natsNodes(state)
    expect(nodes.map((r) => r.name)).toEqual(['nats-1', 'nats-2', 'nats-3'])
    expect(state.natsUrl.split(',')).toEqual(nodes.map((r) => r.url))
    const status = await stackStatus(dir)
    expect(status.processes.filter((p) => p.kind === 'nats').map((p) => [p.name, p.healthy])).toEqual([
      ['nats-1', true],
      ['nats-2', true],
      ['nats-3', true],
    ])
    const driver = jetstreamDriver({ servers: state.natsUrl.split(','), name: 'stack-ha-test' })
    try {
      for (const name of ['hatest_posts', 'hatest_follows', 'hatest_posts_dlq', 'hatest_follows_dlq']) {
        const info = await streamInfo(driver, name)
        expect(info.config.replicas, name).toBe(3)
        expect(info.cluster?.replicas, name).toHaveLength(2)
        const holders = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)]
        expect(holders.sort(), name).toEqual(['nats-1', 'nats-2', 'nats-3'])
      }
    } finally {
      await driver.close()
    }
  })

  it("SIGKILL of the posts stream's leader under composes: each answered 2xx or a clean 503, none acknowledged lost, up restarts the node and it rejoins", async () => {
    const front = state.frontUrl
    expect(
      (await send(`${front}/api/v1/users`, { username: 'nats_bob', password: 'long enough' })).status,
    ).toBe(201)
    const session = await send(`${front}/api/v1/sessions`, { username: 'nats_bob', password: 'long enough' })
    const auth = { authorization: `Bearer ${session.body.token}` }
    const driver = jetstreamDriver({ servers: state.natsUrl.split(','), name: 'stack-ha-test' })
    try {
      const before = await streamInfo(driver, 'hatest_posts')
      const leader = before.cluster!.leader!
      expect(natsNodes(state).map((r) => r.name)).toContain(leader)

      const acked: string[] = []
      const shed = new Map<string, number>()
      const unclean: string[] = []
      let killedAt: number | undefined
      let resumedAt: number | undefined
      let slowest = 0
      let stop = false
      const writer = (async () => {
        for (let n = 0; !stop; n++) {
          const sent = performance.now()
          // Past the write path's own budget (8 s of publish retries), so its answer is what we see.
          const post = await send(`${front}/api/v1/posts`, { text: `nats ${n}` }, auth, 15_000)
          slowest = Math.max(slowest, performance.now() - sent)
          if (post.status >= 200 && post.status < 300) {
            acked.push(String(post.body.post_id))
            if (killedAt !== undefined && resumedAt === undefined && sent > killedAt)
              resumedAt = performance.now()
          } else if (post.status >= 500 && typeof post.body?.code === 'string') {
            shed.set(post.body.code, (shed.get(post.body.code) ?? 0) + 1)
          } else unclean.push(`${post.status} ${JSON.stringify(post.body).slice(0, 200)}`)
          await sleep(50)
        }
      })()

      await sleep(1500)
      await killProcess(dir, leader, 'SIGKILL')
      killedAt = performance.now()
      const deadline = performance.now() + 20_000
      while (resumedAt === undefined && performance.now() < deadline) await sleep(100)
      await sleep(1500)
      stop = true
      await writer
      expect(resumedAt).toBeDefined()
      console.log(
        `kill-nats (short): ${leader} SIGKILLed; composes_resumed_s ${((resumedAt! - killedAt) / 1000).toFixed(2)}; ` +
          `${acked.length} posts acknowledged, shed ${JSON.stringify(Object.fromEntries(shed))}, ` +
          `${unclean.length} unclean, slowest answer ${(slowest / 1000).toFixed(2)} s`,
      )
      expect(unclean).toEqual([])
      expect([...shed.keys()].every((code) => code.startsWith('E_'))).toBe(true)

      // Another node leads the stream, the dead one is a replica that is not there.
      const during = await streamInfo(driver, 'hatest_posts')
      expect(during.cluster?.leader).toBeDefined()
      expect(during.cluster?.leader).not.toBe(leader)

      // Every acknowledged post is stored once the queue drains.
      const primary = await primaryDatabaseUrl(state)
      const posts = 'SELECT count(*) AS n FROM posts WHERE post_id = ANY($1::bigint[])'
      const drainBy = performance.now() + 60_000
      let stored = 0
      while (performance.now() < drainBy) {
        stored = await rowsExist(primary, posts, acked)
        if (stored === acked.length) break
        await sleep(500)
      }
      expect(stored).toBe(acked.length)

      // `up` again starts the dead node alone; it rejoins and catches up.
      const again = await up()
      for (const node of natsNodes(again.state)) {
        expect(again.outcomes.get(node.name), node.name).toBe(node.name === leader ? 'started' : 'reused')
      }
      const rejoined = await waitForStream(
        driver,
        'hatest_posts',
        (info) =>
          info.cluster?.replicas.length === 2 && info.cluster.replicas.every((r) => r.current && !r.offline),
      )
      const holders = [rejoined.cluster?.leader, ...(rejoined.cluster?.replicas ?? []).map((r) => r.name)]
      expect(holders.sort()).toEqual(['nats-1', 'nats-2', 'nats-3'])
      expect(rejoined.cluster?.replicas.every((r) => r.current)).toBe(true)
      expect((await stackStatus(dir)).healthy).toBe(true)
    } finally {
      await driver.close()
    }
  }, 180_000)
})
