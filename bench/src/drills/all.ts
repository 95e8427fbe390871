import { performance } from 'node:perf_hooks'
import { type MetricValue, writeResults } from '../results.js'
import { openStackSession } from '../target/stack-session.js'
import type { DrillOptions, FloorVerdict } from './drill.js'
import { findDrill } from './registry.js'
import { loadAndWarm } from './stack-drill.js'

/** The drills `npm run drill -- all` runs, in this order, on one `--ha` stack. */
export const ALL_DRILLS: readonly string[] = Object.freeze([
  'rolling-restart',
  'kill-app',
  'kill-vip-holder',
  'kill-redis',
  'kill-id-service',
  'kill-nats-node',
  'lag-replica',
  // Rolls the apps onto its extra replica and back before and after its load.
  'partition-replica',
  'kill-primary',
  // Last: it adds a process for its seconds and leaves the stack as it was.
  'canary-bad',
])

/** How often each failure is assumed to happen, for the availability figure. @default 30 days */
export const DEFAULT_MTBF_S = 30 * 24 * 3600

/**
 * A drill's own time to recovery beside the clients' `mttr_s`: the failure may hurt a path the mix barely
 * takes (sign-ups wait for a new primary) or one it does not take at all (the VIP's address).
 */
const RECOVERY_KEYS = ['writes_resumed_s', 'vip_moved_s'] as const

/** One drill's line in the summary. */
export interface DrillSummary {
  drill: string
  file: string
  /** The larger of the drill's `mttr_s` and its own recovery key ({@link RECOVERY_KEYS}). */
  mttr_s: number
  availability: number
  failed_requests: number
  acked_writes_lost: number
  floors_met: boolean
  floors: FloorVerdict[]
}

/**
 * Availability the seed's way, A = MTBF / (MTBF + MTTR), for each failure once per `mtbfS`, all of them:
 * the failures are independent, so A is the product of each one's.
 *
 * @example
 * seedAvailability([15, 0, 2], 2_592_000) // 0.9999934
 */
export function seedAvailability(mttrs: readonly number[], mtbfS: number): number {
  return mttrs.reduce((a, mttr) => a * (mtbfS / (mtbfS + mttr)), 1)
}

/**
 * `npm run drill -- all`: starts (or uses) one `--ha` stack, loads and warms it once, runs every drill
 * of {@link ALL_DRILLS} on it in turn (each writes its own `drill-<name>.json`), then writes
 * `bench/results/drills.json`: each drill's MTTR, availability over its load, floors, and one
 * availability figure from the MTTRs. A drill that throws is recorded as failed and the next one runs.
 */
export async function runAllDrills(
  options: Readonly<DrillOptions> & { mtbfS?: number },
  signal: AbortSignal,
): Promise<{ file: string; metrics: Record<string, MetricValue> }> {
  const started = performance.now()
  const log = (line: string): void => options.log(`[drill all] ${line}`)
  const mtbfS = options.mtbfS ?? DEFAULT_MTBF_S
  await using stack = await openStackSession({
    ...(options.dir === undefined ? {} : { dir: options.dir }),
    ...(options.apps === undefined ? {} : { apps: options.apps }),
    ha: true,
    log,
  })
  if (stack.started) await loadAndWarm(stack, options, signal, log)
  const summaries: DrillSummary[] = []
  const errors: Array<{ drill: string; error: string }> = []
  for (const name of ALL_DRILLS) {
    signal.throwIfAborted()
    const drill = findDrill(name)
    if (!drill) throw new Error(`drill ${name} is not registered`)
    log(`${name}: ${drill.description}`)
    try {
      const outcome = await drill.run({ ...options, dir: stack.state.dir }, signal)
      const m = outcome.metrics
      summaries.push({
        drill: name,
        file: outcome.file,
        mttr_s: Math.max(
          num(m['mttr_s']),
          ...RECOVERY_KEYS.map((key) => (typeof m[key] === 'number' ? (m[key] as number) : 0)),
        ),
        availability: num(m['availability']),
        failed_requests: num(m['failed_requests']),
        acked_writes_lost: num(m['acked_writes_lost']),
        floors_met: outcome.floors.every((verdict) => verdict.met),
        floors: outcome.floors,
      })
    } catch (error) {
      if (signal.aborted) throw error
      log(`${name} failed: ${(error as Error).message}`)
      errors.push({ drill: name, error: (error as Error).message })
      await stack.repair().catch(() => {})
    }
  }
  const metrics: Record<string, MetricValue> = {
    availability: round(
      seedAvailability(
        summaries.map((s) => s.mttr_s),
        mtbfS,
      ),
      7,
    ),
    mtbf_assumed_s: mtbfS,
    mttr_s_sum: round(
      summaries.reduce((sum, s) => sum + s.mttr_s, 0),
      2,
    ),
    lowest_drill_availability: round(Math.min(...summaries.map((s) => s.availability)), 5),
    acked_writes_lost: summaries.reduce((sum, s) => sum + s.acked_writes_lost, 0),
    drills_run: summaries.length,
    drills_errored: errors.length,
    drills_meeting_floors: summaries.filter((s) => s.floors_met).length,
    floors_met: errors.length === 0 && summaries.every((s) => s.floors_met),
    run_s: round((performance.now() - started) / 1000, 1),
  }
  for (const s of summaries) {
    metrics[`${s.drill}.mttr_s`] = s.mttr_s
    metrics[`${s.drill}.availability`] = s.availability
    metrics[`${s.drill}.floors_met`] = s.floors_met
  }
  const file = await writeResults(
    'drills',
    {
      description: `every drill in turn on one --ha stack (${ALL_DRILLS.join(', ')})`,
      metrics,
      notes: [
        `availability: A = MTBF / (MTBF + MTTR) per failure, each failure once per ${mtbfS / 86_400} days (--mtbf-days), multiplied over the drills; MTTR is the larger of each drill's mttr_s (from the fault to the last request that failed) and its own recovery figure (writes_resumed_s, vip_moved_s).`,
        "lowest_drill_availability: the lowest share of successful requests over one drill's load.",
      ],
      extra: { drills: summaries, errors },
    },
    { outDir: options.outDir },
  )
  log(`wrote ${file}`)
  return { file, metrics }
}

const num = (value: MetricValue | undefined): number => (typeof value === 'number' ? value : Number.NaN)
const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
