import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from '../../loadgen/histogram.js'
import { createRandom } from '../../random.js'
import type { ApiSession } from '../../workloads/api.js'
import { apiCompose } from './api-compose.js'
import { type ComposeLoadOptions, type ComposeLoadResult, runComposeLoad } from './compose-load.js'
import { homeKey, homeMember } from './write-queue-probe.js'

/** The fan-out step: open-loop composes through `/api/v1/posts`, visibility watched in Redis. */
export interface FanoutLagOptions extends Omit<ComposeLoadOptions, 'next' | 'onResponse' | 'ratePerSecond'> {
  ratePerSecond: number
  sessions: readonly ApiSession[]
  /** `followers[i]`: graph indices of user `i`'s followers (their home timelines must be warm). */
  followers: ReadonlyArray<readonly number[]>
  redis: Redis
  namespace: string
  /** Watch every n-th accepted post of the window. */
  sampleEvery: number
  /** Pause between two polls of the pending samples. */
  pollMs: number
  /** A sample not visible this long after its 202 counts as `not_visible`. */
  maxWaitMs: number
}

/** What the fan-out step measured. */
export interface FanoutLagResult {
  load: ComposeLoadResult
  samples: number
  visible: number
  not_visible: number
  /** From the 202 reaching the bench to the post being in the sampled follower's home timeline. */
  lag: LatencySummary
  /** Sampled 202s whose author the bench could not map to a graph user (should be 0). */
  unmatched: number
  /** Samples already visible at their first poll. */
  visible_at_first_poll: number
  /** Polls sent (one pipelined round trip each), `ZSCORE`s sent, and the most samples one poll carried. */
  polls: number
  zscores: number
  max_poll_batch: number
  /** Lag by second of acknowledgement since the window opened: does it hold steady or grow? */
  by_second: Array<{ s: number; samples: number; mean_ms: number; max_ms: number }>
}

/** The tallies of the fan-out step, counted as the samples are watched. */
type FanoutCounts = Pick<
  FanoutLagResult,
  | 'samples'
  | 'visible'
  | 'not_visible'
  | 'unmatched'
  | 'visible_at_first_poll'
  | 'polls'
  | 'zscores'
  | 'max_poll_batch'
>

/** Samples polled per round trip at most; the rest wait for the next tick. */
const MAX_POLL_BATCH = 256
/**
 * A sample not yet visible is polled again after max(`pollMs`, its age / this), at most every
 * `MAX_POLL_GAP_MS`: the error stays within 5% of the lag while the polls stay few when lag is long
 * (polling every sample every 2 ms at seconds of lag loads Redis and the bench enough to slow the
 * very fan-out being measured).
 */
const AGE_DIVISOR = 20
const MAX_POLL_GAP_MS = 250

interface Probe {
  key: string
  member: string
  ackAt: number
  dueAt: number
  polls: number
}

/**
 * Composes at a fixed open-loop rate as users with at least one follower (authors uniform), and for every
 * `sampleEvery`-th 202 polls `ZSCORE` of the post's member in one random follower's home timeline until it appears
 * (every `pollMs` at first, then every 5% of the sample's age): lag = the poll's answer − the 202's
 * arrival, an upper bound by at most max(`pollMs`, 5% of the lag) plus one Redis round trip.
 *
 * @example
 * const { lag } = await measureFanoutLag({ ...shape, ratePerSecond: 1000, sessions, followers, redis,
 *   namespace, sampleEvery: 5, pollMs: 2, maxWaitMs: 30_000 }, signal)
 */
export async function measureFanoutLag(
  options: FanoutLagOptions,
  signal: AbortSignal,
): Promise<FanoutLagResult> {
  const { sessions, followers } = options
  const authors = sessions.filter((s) => (followers[s.index]?.length ?? 0) > 0)
  const indexOf = new Map(sessions.map((s) => [s.userId, s.index]))
  const pick = createRandom(options.seed + 7919)
  const histogram = createLatencyHistogram()
  let probes: Probe[] = []
  let accepted = 0
  const counts: FanoutCounts = {
    samples: 0,
    visible: 0,
    not_visible: 0,
    unmatched: 0,
    visible_at_first_poll: 0,
    polls: 0,
    zscores: 0,
    max_poll_batch: 0,
  }
  const seen: Array<readonly [ackAt: number, lagMs: number]> = []
  let sending = true

  const onResponse: ComposeLoadOptions['onResponse'] = ({ at, status, body }) => {
    if (status !== 202 || body === undefined) return
    if (accepted++ % options.sampleEvery !== 0) return
    // The 202 carries the post as `GET /api/v1/posts/:id` shows it: the author is `author.user_id`.
    const post = JSON.parse(body) as { post_id?: unknown; author?: { user_id?: unknown } }
    const postId = String(post.post_id)
    const authorId = String(post.author?.user_id)
    const list = followers[indexOf.get(authorId) ?? -1]
    if (!list || list.length === 0) {
      counts.unmatched++
      return
    }
    const follower = sessions[list[pick.int(0, list.length - 1)]!]!
    counts.samples++
    probes.push({
      key: homeKey(options.namespace, follower.userId),
      member: homeMember(postId, authorId),
      ackAt: at,
      dueAt: at,
      polls: 0,
    })
  }

  const poller = (async () => {
    while (sending || probes.length > 0) {
      const now = performance.now()
      const batch: Probe[] = []
      for (const probe of probes) {
        if (probe.dueAt <= now) batch.push(probe)
        if (batch.length === MAX_POLL_BATCH) break
      }
      if (batch.length === 0) {
        await sleep(options.pollMs, undefined, { signal })
        continue
      }
      counts.max_poll_batch = Math.max(counts.max_poll_batch, batch.length)
      const pipeline = options.redis.pipeline()
      for (const probe of batch) pipeline.zscore(probe.key, probe.member)
      const results = (await pipeline.exec()) ?? []
      const at = performance.now()
      counts.polls++
      counts.zscores += batch.length
      const settled = new Set<Probe>()
      batch.forEach((probe, i) => {
        probe.polls++
        const [error, score] = results[i] ?? [null, null]
        const age = at - probe.ackAt
        if (!error && score !== null) {
          counts.visible++
          if (probe.polls === 1) counts.visible_at_first_poll++
          recordLatencyMs(histogram, age)
          seen.push([probe.ackAt, age])
          settled.add(probe)
        } else if (age > options.maxWaitMs) {
          counts.not_visible++
          settled.add(probe)
        } else {
          probe.dueAt = at + Math.min(MAX_POLL_GAP_MS, Math.max(options.pollMs, age / AGE_DIVISOR))
        }
      })
      if (settled.size > 0) probes = probes.filter((p) => !settled.has(p))
      await sleep(options.pollMs, undefined, { signal })
    }
  })()
  poller.catch(() => {})

  let load: ComposeLoadResult
  try {
    load = await runComposeLoad(
      { ...options, next: (random) => apiCompose(random, authors, sessions.length), onResponse },
      signal,
    )
  } catch (error) {
    probes = []
    throw error
  } finally {
    sending = false
  }
  await poller
  return {
    load,
    ...counts,
    lag: summarizeLatency(histogram),
    by_second: bySecond(seen, load.window_end - load.window_s * 1000),
  }
}

function bySecond(
  seen: ReadonlyArray<readonly [number, number]>,
  windowStart: number,
): FanoutLagResult['by_second'] {
  const buckets = new Map<number, { samples: number; sum: number; max: number }>()
  for (const [ackAt, lag] of seen) {
    const second = Math.floor((ackAt - windowStart) / 1000)
    const bucket = buckets.get(second) ?? { samples: 0, sum: 0, max: 0 }
    bucket.samples++
    bucket.sum += lag
    bucket.max = Math.max(bucket.max, lag)
    buckets.set(second, bucket)
  }
  return [...buckets]
    .sort(([a], [b]) => a - b)
    .map(([s, b]) => ({ s, samples: b.samples, mean_ms: round1(b.sum / b.samples), max_ms: round1(b.max) }))
}

const round1 = (value: number): number => Math.round(value * 10) / 10
