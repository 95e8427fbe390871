import { type BenchOptions, DEFAULT_OPTIONS } from '../../options.js'
import { writeResults } from '../../results.js'
import type { Suite, SuiteOutcome } from '../../suite.js'
import { writeBalanceReport } from './balance-report.js'
import { experimentMetrics, floorChecks, phaseFailureLines, resultsTable } from './balance-results.js'
import { PICKERS } from './contenders.js'
import { type ExperimentOptions, runExperiment } from './experiment.js'

const NAME = 'balance'

/** The experiment's fixed shape (Linkerd's): what `--duration`, `--warmup`, `--rate` do not set. */
export const balanceShape = Object.freeze({
  backends: 10,
  /** @default 1000 req/s unless `--rate` */
  ratePerSecond: 1000,
  /** @default 45 s (smoke 6 s) unless `--duration` */
  durationMs: 45_000,
  smokeDurationMs: 6000,
  slowLatencyMs: 2000,
  deadlineMs: 5000,
  successMs: 1000,
})

/** The kit's own window defaults, which here mean "the suite's default run length". */
const KIT_DURATION_MS = DEFAULT_OPTIONS.durationMs
const KIT_SMOKE_DURATION_MS = 1500

/**
 * Linkerd's load-balancing experiment on loopback: 10 node:http backends in a child process, one client at a
 * fixed open-loop rate, backend #0 turned to 2 s latency for the second third of the run and killed for the
 * last; each picker (ours: dynamic weight, P2C + peak EWMA, round robin; undici's `BalancedPool`) in turn,
 * each against fresh backends, in one run.
 */
export const balanceSuite: Suite = {
  name: NAME,
  description:
    '@hundredfold/balance pickers (dynamic weight, P2C + peak EWMA, round robin) vs undici BalancedPool: 10 backends, one slowed to 2 s then killed, success within 1 s',
  run: runBalance,
  report: rerender,
}

/** The experiment's options from the bench options: the kit's default window length means 45 s here. */
export function experimentOptions(options: Readonly<BenchOptions>): ExperimentOptions {
  const kitDefault = options.smoke ? KIT_SMOKE_DURATION_MS : KIT_DURATION_MS
  const durationMs =
    options.durationMs === kitDefault
      ? options.smoke
        ? balanceShape.smokeDurationMs
        : balanceShape.durationMs
      : options.durationMs
  return {
    pickers: PICKERS,
    backends: balanceShape.backends,
    ratePerSecond: options.rate ?? balanceShape.ratePerSecond,
    warmupMs: options.warmupMs,
    durationMs,
    arrival: options.arrival,
    seed: options.seed,
    slowLatencyMs: balanceShape.slowLatencyMs,
    deadlineMs: balanceShape.deadlineMs,
    successMs: balanceShape.successMs,
    log: (line) => options.log(`[${NAME}] ${line}`),
  }
}

async function runBalance(options: Readonly<BenchOptions>, signal: AbortSignal): Promise<SuiteOutcome> {
  const shape = experimentOptions(options)
  const runs = await runExperiment(shape, signal)
  const metrics = experimentMetrics(runs)
  const floors = floorChecks(metrics)
  metrics['floors_pass'] = floors.every((check) => check.pass)
  metrics['backends'] = shape.backends
  metrics['offered_rps'] = shape.ratePerSecond
  metrics['duration_s'] = shape.durationMs / 1000
  const table = resultsTable(runs, metrics)
  for (const line of [...table.split('\n'), ...phaseFailureLines(runs)]) shape.log(line)
  for (const check of floors)
    shape.log(`floor ${check.pass ? 'pass' : 'FAIL'}: ${check.floor} (${check.actual})`)
  const file = await writeResults(
    NAME,
    {
      description: balanceSuite.description,
      metrics,
      notes: notes(shape),
      extra: { shape: { ...shape, log: undefined }, floors, runs },
    },
    options,
  )
  const files = [file, ...(await writeBalanceReport(file, options.report))]
  shape.log(`wrote ${files.join(', ')}`)
  return { metrics, files }
}

function notes(shape: ExperimentOptions): string[] {
  return [
    `${shape.backends} node:http backends on 127.0.0.1 in one child process (IPC control), each answering a small JSON body after a lognormal base service time (median 2 ms, σ 0.5, capped at 50 ms)`,
    `per picker, fresh backends: warm-up ${shape.warmupMs / 1000} s (not counted), then ${shape.durationMs / 1000} s in thirds: normal; backend #0 at ${shape.slowLatencyMs} ms; backend #0 killed (server closed, sockets destroyed: new connections refused)`,
    `open loop at ${shape.ratePerSecond} req/s (${shape.arrival}), latency from the intended send time; each request aborted ${shape.deadlineMs} ms after it; success = 2xx whose body ended within ${shape.successMs} ms of the intended send time`,
    'a request belongs to the phase of its intended send time; p50/p99/p99.9 count every request to its end (answer or failure); answered_latency in extra.runs counts the 2xx only',
    'ours run with package defaults (only picker set); undici BalancedPool with its defaults over the same 10 origins',
    'floors (issue): success_within_1s_rate_p2c_ewma >= 0.999 and success_within_1s_rate_dynamic_weight >= 0.999, each above success_within_1s_rate_undici and success_within_1s_rate_round_robin',
  ]
}

/** `npm run bench -- report balance`: the table, the HTML report and the chart again from the JSON. */
function rerender(resultsPath: string): Promise<string[]> {
  return writeBalanceReport(resultsPath)
}
