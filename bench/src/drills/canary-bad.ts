import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canaryRelease, type RolloutRecord, writeFaultyBuild } from '@hundredfold/stack'
import type { MetricValue } from '../results.js'
import { stackDrill } from './stack-drill.js'

/** What the bad build breaks: DeathStarBench's home-timeline reads, 60% of the mix. */
export const BROKEN_PREFIX = '/wrk2-api/home-timeline/'

/** The rollout's first share, in percent: the share of traffic a bad build may reach before it is judged. */
const SHARE_PCT = 1

/** Each step's hold: the bad build is rolled back mid-step, as soon as its 5xx rate is conclusive. */
const STEP_MS = 20_000

/**
 * `npm run drill -- canary-bad`: a gray release gone bad. Under the mix at half the stack's MST, a build
 * whose home-timeline reads answer 500 (the real microblog behind a fault at its HTTP edge:
 * `writeFaultyBuild`) is released with `canaryRelease` at 1% (one canary process); the rollout must
 * roll it back by itself — share 0, nginx reloaded, the canary stopped — before it reaches more traffic.
 * Floors: the canary's 500s at most 1% of the requests served while it ran (`bad_requests_share`, the
 * first step's share: it never got past it), rolled back, no canary process left.
 */
export const canaryBad = stackDrill({
  name: 'canary-bad',
  description:
    'a gray release (npm run stack -- canary) at 1% of a build whose home-timeline reads answer 500, under the mix at half the MST: rolled back by itself',
  async action(stack, signal, log) {
    const dir = await mkdtemp(join(tmpdir(), 'hf-canary-bad-'))
    try {
      const build = await writeFaultyBuild(dir, { failPrefixes: [BROKEN_PREFIX] })
      log(`releasing ${build} (${BROKEN_PREFIX}* answers 500) at ${SHARE_PCT}%`)
      const record = await canaryRelease({
        dir: stack.state.dir,
        build,
        share: SHARE_PCT,
        stepMs: STEP_MS,
        canaryApps: 1,
        log,
        signal,
      })
      await stack.refresh()
      return rolloutMetrics(record)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  },
  floors: {
    bad_requests_share: { max: SHARE_PCT / 100 },
    rolled_back: { min: 1 },
    canary_processes_left: { max: 0 },
  },
  metrics: (load) => ({
    // What the clients saw: the canary's 500s (the apps answer 503 when they shed, never 500).
    bad_answers_seen_by_clients: load.events.filter((event) => event.status === 500).length,
  }),
})

/** The drill's keys from the rollout's record (what nginx's split log says each side served). */
export function rolloutMetrics(record: RolloutRecord): Record<string, MetricValue> {
  const canary = record.served?.canary
  const baseline = record.served?.baseline
  const total = (canary?.requests ?? 0) + (baseline?.requests ?? 0)
  const bad = canary?.errors ?? 0
  const first = record.steps[0]
  return {
    rolled_back: record.outcome === 'rolled-back' ? 1 : 0,
    canary_outcome: record.outcome ?? null,
    canary_reason: record.reason ?? null,
    canary_share_set_pct: SHARE_PCT,
    steps_reached: record.steps.length,
    detected_after_s: first?.heldS ?? null,
    canary_exposed_s: record.exposedS ?? null,
    rollback_s: record.rollbackS ?? null,
    bad_requests_served: bad,
    canary_requests: canary?.requests ?? 0,
    requests_during_canary: total,
    canary_traffic_share: total === 0 ? 0 : round(canary!.requests / total, 5),
    bad_requests_share: total === 0 ? 0 : round(bad / total, 5),
    canary_p99_ms: canary?.p99Ms ?? null,
    baseline_p99_ms_during_canary: baseline?.p99Ms ?? null,
    canary_processes_left: (record.canaryProcesses ?? []).filter((p) => runs(p.pid, record.build)).length,
  }
}

/** Whether `pid` is alive and still runs the build (not a zombie, not a PID reused since). */
function runs(pid: number | undefined, build: string): boolean {
  if (pid === undefined) return false
  try {
    if (/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return false
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(build)
  } catch {
    return false
  }
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
