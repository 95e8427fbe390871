import { writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ChaosFigures, startChaos } from './chaos/chaos-monkey.js'
import { type ComposeLoadResult, runComposeLoad } from './chaos/compose-load.js'
import { type Deployment, startDeployment } from './chaos/deployment.js'
import type { MicroblogProcess } from './chaos/microblog-process.js'
import { buildSocialGraph, type SocialGraph, until } from './chaos/social-graph.js'
import { checkWritePath, type WritePathCheck } from './chaos/write-path-check.js'

/*
 * Chaos drills of the queued write path (issue #7) on real servers: an own nats-server, a temporary
 * PostgreSQL database, Redis under an own namespace, and the built microblog (`npm run build`) as one
 * API process that only publishes plus worker processes that consume.
 *
 *   HF_CHAOS_COMPOSES  compose requests of the chaos run (default 10 000, about a minute on 2 cores)
 *   HF_CHAOS_OUT       also write the run's figures as JSON there
 *   HF_CHAOS_SEED      the follow graph and the authors (default: random, printed)
 */
const COMPOSES = Number(process.env['HF_CHAOS_COMPOSES'] || 10_000)
const OUT = process.env['HF_CHAOS_OUT']
const SEED = Number(process.env['HF_CHAOS_SEED'] || Math.floor(Math.random() * 2 ** 31))
const USERS = 40
const FOLLOW_PROBABILITY = 0.2
const CONCURRENCY = 64
/** The consumers must have stored and fanned out everything within this after the last acknowledgement. */
const DRAIN_TIMEOUT_MS = Math.max(60_000, COMPOSES * 2)
const RUN_TIMEOUT_MS = 120_000 + COMPOSES * 6

describe('the queued write path under chaos', () => {
  it(
    `a chaos run of ${COMPOSES} composes, workers killed at random and NATS restarted, stores every acknowledged post once and in each follower's timeline`,
    async () => {
      const random = seededRandom(SEED)
      const started = Date.now()
      await using deployment = await startDeployment({ workers: 2 })
      const graph = await buildSocialGraph(deployment, {
        users: USERS,
        followProbability: FOLLOW_PROBABILITY,
        random,
      })
      log(`seed ${SEED}: ${USERS} users, ${graph.edges} follows, namespace ${deployment.namespace}`)

      const chaos = startChaos(deployment, { random, killEveryMs: [500, 1500] })
      // Evidence that kills hit consumers with work in hand: their messages come back as redeliveries.
      let redeliveredPeak = 0
      const sampler = setInterval(() => {
        deployment.backlog().then(
          (b) => (redeliveredPeak = Math.max(redeliveredPeak, b.redelivered)),
          () => {},
        )
      }, 250)
      let natsRestart: Promise<void> | undefined
      let drained = false
      let composeMs = 0
      let drainMs = 0
      let load: ComposeLoadResult
      let figures: ChaosFigures
      try {
        let reported = Date.now()
        load = await runComposeLoad({
          baseUrl: deployment.apiUrl,
          authors: graph.users,
          composes: COMPOSES,
          concurrency: CONCURRENCY,
          random,
          onAck: (acked) => {
            // Once, mid-run: publishes in flight and during the outage fail; their clients get 503.
            if (!natsRestart && acked >= COMPOSES / 2) natsRestart = chaos.restartNats(1000 + random() * 1000)
            if (Date.now() - reported >= 10_000) {
              reported = Date.now()
              log(`${acked}/${COMPOSES} acknowledged, ${deployment.workersStarted} workers started so far`)
            }
          },
        })
        composeMs = load.durationMs
        await natsRestart
        await chaos.stopKilling()

        const drainStart = Date.now()
        drained = await waitForDrain(deployment, load.acked.size, DRAIN_TIMEOUT_MS)
        drainMs = Date.now() - drainStart
      } finally {
        clearInterval(sampler)
        figures = await chaos.stop()
      }

      const check = await checkWritePath(deployment, graph.followees, load.acked)
      const deadLetters = await deployment.deadLetters()
      const retried = Object.values(load.retries).reduce((a, b) => a + b, 0)
      const summary = {
        composes: COMPOSES,
        acknowledged: load.acked.size,
        retried,
        retries: load.retries,
        kills: figures.kills,
        nats_restarts: figures.natsRestarts,
        nats_down_s: round(figures.natsDownMs / 1000),
        redelivered_peak: redeliveredPeak,
        worker_exits: figures.workerExits.length,
        workers_started: deployment.workersStarted,
        stored: check.stored,
        missing: check.missing.length,
        duplicates: check.duplicates.length,
        unacknowledged_stored: check.unacknowledged.length,
        counter_mismatches: check.counterMismatches.length,
        timeline_missing: check.timelineMissing,
        timeline_extra: check.timelineExtra,
        timeline_duplicates: check.timelineDuplicates,
        cold_timelines: check.coldTimelines.length,
        dead_letters: deadLetters,
        drained,
        users: USERS,
        follows: graph.edges,
        concurrency: CONCURRENCY,
        seed: SEED,
        compose_s: round(composeMs / 1000),
        acks_per_s: Math.round(load.acked.size / (composeMs / 1000)),
        drain_s: round(drainMs / 1000),
        duration_s: round((Date.now() - started) / 1000),
      }
      log(`figures ${JSON.stringify(summary)}`)
      for (const line of figures.workerExits.slice(0, 5)) log(line)
      for (const line of check.examples) log(line)
      if (OUT) await writeFile(OUT, `${JSON.stringify(summary, null, 2)}\n`)

      expect(deployment.api.running, `the API process died:\n${deployment.api.tail()}`).toBe(true)
      expect(drained, 'the consumers did not finish within the drain timeout').toBe(true)
      expect(Object.keys(load.retries).filter((r) => !EXPECTED_RETRIES.has(r))).toEqual([])
      expectCleanCheck(check, deadLetters)
    },
    RUN_TIMEOUT_MS,
  )
})

describe('a consumer killed mid-batch, NATS restarted', () => {
  let deployment: Deployment
  let graph: SocialGraph
  const acked = new Map<string, string>()

  beforeAll(async () => {
    deployment = await startDeployment({ workers: 1 })
    graph = await buildSocialGraph(deployment, {
      users: 6,
      followProbability: 0.5,
      random: seededRandom(SEED),
    })
  }, 60_000)
  afterAll(async () => {
    deployment?.nats.resume()
    await deployment?.[Symbol.asyncDispose]()
  })

  it('after storing a batch and before fanning it out: nothing lost, nothing applied twice', async () => {
    const [worker] = [...deployment.workers]
    // The consumer stores the batch, then blocks reading the followers to fan it out.
    await using lock = await lockFollowers(deployment)
    await compose(400)
    await untilBlockedAfterStoring(deployment)
    const stored = await countPosts(deployment)
    expect(stored).toBeGreaterThan(0)
    expect(stored).toBeLessThan(400)

    await deployment.stopWorker(worker!, 'SIGKILL')
    await deployment.nats.kill()
    await lock[Symbol.asyncDispose]()
    await sleep(1000)
    await deployment.nats.start()
    expect(await countPosts(deployment)).toBe(stored)

    const replacement = deployment.startWorker()
    await waitForDrain(deployment, acked.size, 30_000)
    // The replacement handled every message, the batch stored by its predecessor included.
    expect(await ackedBy(replacement)).toBeGreaterThanOrEqual(400)
    expectCleanCheck(await checkWritePath(deployment, graph.followees, acked), await deployment.deadLetters())
  }, 60_000)

  it('after fanning a batch out and before its ack reached the broker: nothing lost, nothing applied twice', async () => {
    const [worker] = [...deployment.workers]
    const before = new Set(acked.keys())
    await using lock = await lockFollowers(deployment)
    const fresh = await compose(300)
    await untilBlockedAfterStoring(deployment)
    // From now on the broker reads nothing: the worker's fan-out goes through, its acks stay unread.
    deployment.nats.pause()
    await lock[Symbol.asyncDispose]()
    await until('the stored batch is fanned out', 15_000, async () => {
      const { rows } = await deployment.sql.query<{ post_id: string; author_id: string }>(
        'SELECT post_id::text, author_id::text FROM posts WHERE post_id = ANY($1::bigint[])',
        [fresh],
      )
      if (rows.length === 0) return false
      for (const row of rows) {
        for (const [userId, follows] of graph.followees) {
          if (!follows.has(row.author_id)) continue
          const member = `${row.post_id.padStart(19, '0')}:${row.author_id}`
          if ((await deployment.redis.zscore(deployment.homeKey(userId), member)) === null) return false
        }
      }
      return true
    })
    await sleep(300) // the acks leave the worker, into the stopped broker's socket
    await deployment.stopWorker(worker!, 'SIGKILL')
    await deployment.nats.kill() // what it had not read is gone
    await sleep(500)
    await deployment.nats.start()

    const replacement = deployment.startWorker()
    await waitForDrain(deployment, acked.size, 30_000)
    expect(await ackedBy(replacement)).toBeGreaterThanOrEqual(300)
    expect(acked.size).toBe(before.size + 300)
    expectCleanCheck(await checkWritePath(deployment, graph.followees, acked), await deployment.deadLetters())
  }, 60_000)

  it('a broker that stalls past the publish timeout: compose retries with the same id, one 202, one post', async () => {
    const author = graph.users[0]!
    deployment.nats.pause()
    const answer = fetch(new URL('/api/v1/posts', deployment.apiUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${author.token}` },
      body: JSON.stringify({ text: 'through a stall' }),
    })
    await sleep(6000) // past one acknowledgement timeout (2 s) and more: retries under the same id
    deployment.nats.resume()
    const res = await answer
    expect(res.status).toBe(202)
    const { post_id: postId } = (await res.json()) as { post_id: string }
    acked.set(postId, author.id)
    await waitForDrain(deployment, acked.size, 30_000)
    const { rows } = await deployment.sql.query<{ post_id: string }>(
      "SELECT post_id::text FROM posts WHERE text = 'through a stall'",
    )
    expect(rows.map((r) => r.post_id)).toEqual([postId])
    expectCleanCheck(await checkWritePath(deployment, graph.followees, acked), await deployment.deadLetters())
  }, 60_000)

  /** Composes `n` posts through the API (all must be acknowledged at once) and returns their ids. */
  async function compose(n: number): Promise<string[]> {
    const load = await runComposeLoad({
      baseUrl: deployment.apiUrl,
      authors: graph.users,
      composes: n,
      concurrency: 16,
      random: seededRandom(SEED + acked.size),
    })
    expect(load.retries).toEqual({})
    for (const [postId, author] of load.acked) acked.set(postId, author)
    return [...load.acked.keys()]
  }
})

const EXPECTED_RETRIES = new Set(['503 E_BACKLOG', '503 E_QUEUE_UNAVAILABLE', 'network', 'timeout'])

function expectCleanCheck(check: WritePathCheck, deadLetters: number): void {
  const why = check.examples.join('\n')
  expect.soft(check.missing, why).toEqual([])
  expect.soft(check.duplicates, why).toEqual([])
  expect.soft(check.unacknowledged, why).toEqual([])
  expect.soft(check.counterMismatches, why).toEqual([])
  expect.soft(check.timelineMissing, why).toBe(0)
  expect.soft(check.timelineExtra, why).toBe(0)
  expect.soft(check.timelineDuplicates, why).toBe(0)
  expect.soft(check.coldTimelines, why).toEqual([])
  expect.soft(deadLetters, 'messages dead-lettered').toBe(0)
}

/**
 * Waits until both consumers have finished everything (backlog 0) and the number of stored posts has
 * not changed for three polls; false after `timeoutMs`.
 */
async function waitForDrain(
  deployment: Deployment,
  acknowledged: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  let last = -1
  let steady = 0
  while (Date.now() < deadline) {
    const backlog = await deployment.backlog().catch(() => undefined) // the broker may be starting
    const stored = await countPosts(deployment)
    steady = backlog?.timeline === 0 && backlog.edges === 0 && stored === last ? steady + 1 : 0
    last = stored
    if (steady >= 3 && stored >= acknowledged) return true
    await sleep(500)
  }
  return false
}

async function countPosts(deployment: Deployment): Promise<number> {
  const { rows } = await deployment.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM posts')
  return rows[0]!.n
}

/**
 * Holds `followers` in ACCESS EXCLUSIVE mode until disposed: a consumer then stores its batch (posts and
 * counters, committed) and blocks on the fan-out's read of the followers.
 */
async function lockFollowers(deployment: Deployment): Promise<AsyncDisposable> {
  const session = await deployment.sql.connect()
  await session.query('BEGIN')
  await session.query('LOCK TABLE followers IN ACCESS EXCLUSIVE MODE')
  let released = false
  return {
    async [Symbol.asyncDispose]() {
      if (released) return
      released = true
      await session.query('ROLLBACK').catch(() => {})
      session.release()
    },
  }
}

/** Until a session of the deployment waits for the followers lock with stored posts behind it. */
async function untilBlockedAfterStoring(deployment: Deployment): Promise<void> {
  await until('a consumer waits for the followers lock', 20_000, async () => {
    const { rows } = await deployment.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%FROM followers%'`,
    )
    return rows[0]!.n > 0
  })
}

/** Messages the timeline consumer of `worker` acknowledged, from its `/metrics`. */
async function ackedBy(worker: MicroblogProcess): Promise<number> {
  const res = await fetch(new URL('/metrics', await worker.listening))
  const match = /^queue_messages_total\{[^}]*consumer="timeline"[^}]*outcome="acked"[^}]*\} (\d+)/m.exec(
    await res.text(),
  )
  return Number(match?.[1] ?? 0)
}

function log(line: string): void {
  console.log(`[queue-chaos] ${line}`)
}

function round(x: number): number {
  return Math.round(x * 10) / 10
}

/** Seeded numbers in [0, 1) from fast-check, so a failing follow graph can be replayed with HF_CHAOS_SEED. */
function seededRandom(seed: number): () => number {
  const values = fc.sample(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
    seed,
    numRuns: 10_000,
  })
  let next = 0
  return () => values[next++ % values.length]!
}
