import { runClosedLoop } from '../loadgen/closed-loop.js'
import { runOpenLoop, type StepResult } from '../loadgen/open-loop.js'
import type { RequestSource } from '../loadgen/request.js'
import type { ProcessSampler, StepUsage } from '../machine/process-sampler.js'
import type { BenchOptions } from '../options.js'
import type { StepRecord } from '../results.js'
import { searchMst } from './search.js'

/** What one search against a target found. */
export interface TargetSearch {
  /** MST per SLO in ms (`'50'`, `'10'`); empty when a fixed `rate` was offered instead. */
  mst: Record<string, number>
  capped: Record<string, boolean>
  steps: StepRecord[]
  /** The quick closed-loop estimate the search started from, when it made one. */
  estimate_rps?: number
}

/** Where and what to search. */
export interface SearchTargetInput {
  /** Names the search in logs and step records, e.g. `mst` or `ceiling`. */
  phase: string
  baseUrl: string
  serverPid?: number
  source: RequestSource
  slosMs: readonly number[]
  /** Samples every process's CPU, the server's RSS, heap and loop delay at each step; unset = not sampled. */
  sampler?: ProcessSampler
}

/**
 * Runs the MST search (or one fixed-rate step with `options.rate`) with the open-loop sender. Without
 * `startRate` it first measures a short closed-loop estimate and starts the ramp at half of it.
 *
 * @example
 * const { mst } = await searchTarget({ phase: 'ceiling', baseUrl, source: ceilingSource, slosMs: [50] }, options, signal)
 */
export async function searchTarget(
  input: SearchTargetInput,
  options: Readonly<BenchOptions>,
  signal: AbortSignal,
): Promise<TargetSearch> {
  const pid = input.serverPid === undefined ? {} : { serverPid: input.serverPid }
  let seed = options.seed
  const probe = async (rate: number, probeSignal: AbortSignal): Promise<StepResult & Partial<StepUsage>> => {
    const instrument = input.sampler?.step(probeSignal)
    const outcome = await runOpenLoop(
      {
        baseUrl: input.baseUrl,
        ratePerSecond: rate,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        drainMs: options.drainMs,
        arrival: options.arrival,
        connections: options.connections,
        timeoutMs: options.timeoutMs,
        maxInFlight: options.maxInFlight,
        seed: seed++,
        source: input.source,
        ...pid,
        ...(instrument ? { window: instrument } : {}),
      },
      probeSignal,
    )
    if (!instrument) return outcome
    return { ...outcome, ...(await instrument.finish(outcome.window_responses, probeSignal)) }
  }
  const steps: StepRecord[] = []
  const record = (
    rate: number,
    outcome: Awaited<ReturnType<typeof probe>>,
    verdicts: Record<string, boolean>,
  ) => {
    const step: StepRecord = { phase: input.phase, rate, sustains: verdicts, ...outcome }
    steps.push(step)
    options.log(describeStep(step))
  }

  if (options.rate !== undefined) {
    const outcome = await probe(options.rate, signal)
    record(options.rate, outcome, {})
    return { mst: {}, capped: {}, steps }
  }

  let startRate = options.startRate
  let growth = 2
  let estimate: number | undefined
  if (startRate === undefined) {
    const closed = await runClosedLoop(
      {
        baseUrl: input.baseUrl,
        connections: options.closedConnections,
        warmupMs: Math.min(1000, options.warmupMs),
        durationMs: options.smoke ? 1000 : 2000,
        timeoutMs: options.timeoutMs,
        seed: seed++,
        source: input.source,
      },
      signal,
    )
    estimate = Math.round(closed.rps)
    startRate = Math.max(options.minRate, Math.round(estimate / 2))
    growth = 1.5
    options.log(
      `[${input.phase}] closed-loop estimate ${estimate} req/s → search starts at ${startRate} req/s`,
    )
  }
  const result = await searchMst(
    probe,
    {
      slosMs: input.slosMs,
      startRate,
      growth,
      minRate: options.minRate,
      maxRate: options.maxRate,
      precision: options.precision,
      maxSteps: options.maxSteps,
      onStep: (step) => record(step.rate, step.outcome as Awaited<ReturnType<typeof probe>>, step.sustains),
    },
    signal,
  )
  for (const [slo, rate] of Object.entries(result.mst)) {
    options.log(
      `[${input.phase}] MST at p99 ≤ ${slo} ms: ${rate} req/s${result.capped[slo] ? ' (capped)' : ''}`,
    )
  }
  return {
    mst: result.mst,
    capped: result.capped,
    steps,
    ...(estimate === undefined ? {} : { estimate_rps: estimate }),
  }
}

/** One log line per step. */
export function describeStep(step: StepRecord): string {
  const verdicts = Object.entries(step.sustains)
    .map(([slo, ok]) => `${ok ? 'pass' : 'fail'}@${slo}ms`)
    .join(' ')
  const errors = Object.entries(step.errors_by_status)
    .map(([k, v]) => `${k}:${v}`)
    .join(',')
  return (
    `[${step.phase}] ${step.rate} req/s → achieved ${step.achieved_rps.toFixed(0)} ` +
    `(${(step.completion_ratio * 100).toFixed(1)}%), p50 ${step.latency.p50_ms} p99 ${step.latency.p99_ms} ` +
    `p99.9 ${step.latency.p999_ms} ms, errors ${(step.error_rate * 100).toFixed(2)}%${errors ? ` (${errors})` : ''}, ` +
    `sender cpu ${step.sender_cpu}${step.server_cpu === undefined ? '' : `, server cpu ${step.server_cpu}`}` +
    `${describeUsage(step)} ${verdicts}`
  )
}

/** `, µs/req server 410 postgres 380 … total 1210` when the step was sampled. */
function describeUsage(step: StepRecord): string {
  const perRequest = step.cpu_us_per_request
  if (!perRequest) return ''
  const groups = Object.entries(perRequest)
    .filter(([, value]) => value !== null)
    .map(([group, value]) => `${group} ${Math.round(value ?? 0)}`)
    .join(' ')
  return `, µs/req ${groups}`
}
