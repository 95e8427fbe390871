import type { ArrivalProcess } from '../../loadgen/arrivals.js'
import { startBackendFleet } from './backend-fleet.js'
import { type BalanceLoadResult, runBalanceLoad } from './balance-load.js'
import { createContender, type PickerName } from './contenders.js'
import { PHASES, type PhaseName } from './phase-schedule.js'

/** The experiment's shape; the suite's defaults are Linkerd's (10 backends, one turned to 2 s, then killed). */
export interface ExperimentOptions {
  pickers: readonly PickerName[]
  /** Backends in the fleet; #0 is the one slowed, then killed. */
  backends: number
  ratePerSecond: number
  warmupMs: number
  durationMs: number
  arrival: ArrivalProcess
  seed: number
  /** Backend #0's latency in the `slow` phase. */
  slowLatencyMs: number
  deadlineMs: number
  successMs: number
  log: (line: string) => void
}

/** One picker's run (`result` absent when the run was cut short). */
export interface PickerRun {
  picker: PickerName
  label?: string
  result?: BalanceLoadResult
  /** Requests each backend received during the warm-up and in each phase (by arrival at the backend). */
  backend_requests?: Record<'warmup' | PhaseName, number[]>
  /** The balancer's own view of its endpoints at the end of the run. */
  endpoints?: unknown
}

/**
 * Runs the pickers one after another, each against a fresh fleet of backends and with the same schedule:
 * warm-up, then `normal`, `slow` (backend #0 at `slowLatencyMs`) and `killed` (backend #0 closed, its sockets
 * destroyed) for a third of `durationMs` each.
 *
 * @example
 * const runs = await runExperiment({ ...shape, pickers: ['undici'] }, signal)
 */
export async function runExperiment(options: ExperimentOptions, signal: AbortSignal): Promise<PickerRun[]> {
  const runs: PickerRun[] = []
  for (const picker of options.pickers) {
    if (signal.aborted) break
    runs.push(await runPicker(picker, options, signal))
  }
  return runs
}

async function runPicker(
  picker: PickerName,
  options: ExperimentOptions,
  signal: AbortSignal,
): Promise<PickerRun> {
  await using fleet = await startBackendFleet({ backends: options.backends, seed: options.seed }, signal)
  const contender = createContender(picker, fleet.origins)
  const marks: Partial<Record<PhaseName, number[]>> = {}
  try {
    options.log(
      `${picker}: ${options.ratePerSecond} req/s over ${options.backends} backends, warm-up ${options.warmupMs / 1000} s, then ${options.durationMs / 3000} s each normal / slow / killed`,
    )
    const result = await runBalanceLoad(
      {
        dispatcher: contender.dispatcher,
        ratePerSecond: options.ratePerSecond,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        arrival: options.arrival,
        seed: options.seed,
        deadlineMs: options.deadlineMs,
        successMs: options.successMs,
        backendsPid: fleet.pid,
        onPhase: async (phase) => {
          if (phase === 'slow') marks.slow = await fleet.setLatency(0, options.slowLatencyMs)
          else if (phase === 'killed') marks.killed = await fleet.kill(0)
          else marks.normal = await fleet.counts()
        },
      },
      signal,
    )
    const end = await fleet.counts()
    const endpoints = contender.snapshot()
    return {
      picker,
      label: contender.label,
      result,
      backend_requests: backendRequests(marks, end, options.backends),
      ...(endpoints === undefined ? {} : { endpoints: jsonSafe(endpoints) }),
    }
  } finally {
    await contender.close()
  }
}

/** Per-phase differences of the cumulative counts taken as each phase began and at the end. */
function backendRequests(
  marks: Partial<Record<PhaseName, number[]>>,
  end: number[],
  backends: number,
): Record<'warmup' | PhaseName, number[]> {
  const zero = Array.from({ length: backends }, () => 0)
  const points = [zero, ...PHASES.map((phase) => marks[phase] ?? end), end]
  const diff = (i: number) => points[i + 1]!.map((count, b) => count - (points[i]![b] ?? 0))
  return { warmup: diff(0), normal: diff(1), slow: diff(2), killed: diff(3) }
}

/** The snapshot as plain JSON (Maps and class instances of a balancer's view flattened). */
function jsonSafe(value: unknown): unknown {
  try {
    return JSON.parse(
      JSON.stringify(value, (_, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v)),
    ) as unknown
  } catch {
    return String(value)
  }
}
