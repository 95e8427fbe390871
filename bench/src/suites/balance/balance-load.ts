import { performance } from 'node:perf_hooks'
import type { Histogram } from 'hdr-histogram-js'
import type { Dispatcher } from 'undici'
import { BenchError } from '../../errors.js'
import { type ArrivalProcess, interArrival } from '../../loadgen/arrivals.js'
import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from '../../loadgen/histogram.js'
import { createRandom } from '../../random.js'
import { classify } from './outcome.js'
import { PHASES, type PhaseName, phaseAt, phaseSchedule } from './phase-schedule.js'
import { type CpuReading, cpuOver, readCpu, type WindowCpu } from './window-cpu.js'

/** One open-loop run through a balancer: warm-up, then the three phases of the measured window. */
export interface BalanceLoadOptions {
  dispatcher: Dispatcher
  ratePerSecond: number
  /** Sent before the window, not recorded; all backends well. */
  warmupMs: number
  /** The measured window, split into the three phases. */
  durationMs: number
  arrival: ArrivalProcess
  seed: number
  /** Each request is aborted this long after its intended send time. */
  deadlineMs: number
  /** A 2xx whose body ended within this long of its intended send time is a success. */
  successMs: number
  /** @default '/' */
  path?: string
  /**
   * Called as each phase begins, before any request of it is sent: the slow and kill actions. The schedule
   * does not wait for it; its promise's settling time is recorded.
   */
  onPhase?: (phase: PhaseName) => Promise<unknown>
  /** The backends' process, to report its CPU over the window (Linux /proc). */
  backendsPid?: number
}

/** Outcomes of the requests whose intended send time fell in one phase (or in the whole window). */
export interface PhaseResult {
  requests: number
  /** 2xx within `successMs` of the intended send time. */
  ok: number
  success_within_1s_rate: number
  /** Every other outcome by kind: `late`, `deadline`, `ECONNREFUSED`, `socket`, `503`, … */
  failures: Record<string, number>
  /** Every request, from its intended send time to its end (answer or failure), in ms. */
  latency: LatencySummary
  /** The 2xx answers only. */
  answered_latency: LatencySummary
}

/** The outcome of one run. */
export interface BalanceLoadResult {
  overall: PhaseResult
  phases: Record<PhaseName, PhaseResult>
  /** p99 of how late the sender dispatched requests against their intended time (the client's own lag). */
  schedule_lag_p99_ms: number
  /** When each phase's action had taken effect, in ms after the phase's start. */
  phase_action_ms: Partial<Record<PhaseName, number>>
  /** Requests still open 2 s past their deadline (a dispatcher that ignores its signal); counted as failures. */
  unfinished: number
  /** Each second of the window (by intended send time): requests, successes and p99 of every request. */
  timeline: TimelineSecond[]
  /** CPU over the window, in cores: this process (the client and its balancer), the backends, the machine. */
  cpu: WindowCpu
  window_s: number
}

/** One second of the measured window. */
export interface TimelineSecond {
  /** Seconds from the window's start to the start of this second. */
  t_s: number
  requests: number
  ok: number
  p99_ms: number
}

interface Accumulator {
  requests: number
  ok: number
  failures: Record<string, number>
  latency: Histogram
  answered: Histogram
}

const DEADLINE = Object.freeze(new BenchError('E_BENCH_ABORTED', 'request deadline'))
const UNFINISHED = Object.freeze({ code: 'unfinished' })
const GRACE_MS = 2000

/**
 * Sends `GET path` open loop through `dispatcher` (any undici Dispatcher: ours, `BalancedPool`) at a rate fixed
 * in advance, never paced by answers, and times each request from its *intended* send time, so a backend that
 * stalls shows in the tail (no coordinated omission). Each request carries an AbortSignal that fires
 * `deadlineMs` after its intended send time, so the run ends within the deadline of its last request.
 *
 * @example
 * const result = await runBalanceLoad({ dispatcher: pool, ratePerSecond: 1000, warmupMs: 2000,
 *   durationMs: 45_000, arrival: 'poisson', seed: 1, deadlineMs: 5000, successMs: 1000 }, signal)
 */
export async function runBalanceLoad(
  options: BalanceLoadOptions,
  signal: AbortSignal,
): Promise<BalanceLoadResult> {
  if (!(options.ratePerSecond > 0)) {
    throw new BenchError('E_BENCH_OPTION', 'options.ratePerSecond must be a positive number')
  }
  const random = createRandom(options.seed)
  const gap = interArrival(options.arrival, options.ratePerSecond, random)
  const schedule = phaseSchedule(options.durationMs)
  const path = options.path ?? '/'
  const lag = createLatencyHistogram()
  const overall = accumulator()
  const phases = Object.fromEntries(PHASES.map((name) => [name, accumulator()])) as Record<
    PhaseName,
    Accumulator
  >
  const phaseActionMs: Partial<Record<PhaseName, number>> = {}
  const actions: Promise<unknown>[] = []
  const open = new Set<{ finish: (at: number, status: number, error: unknown, deadline: boolean) => void }>()
  let onIdle: (() => void) | undefined

  const start = performance.now() + 1
  const windowStart = start + options.warmupMs
  const windowEnd = windowStart + options.durationMs
  let nextPhase = 0
  const seconds = Array.from({ length: Math.ceil(options.durationMs / 1000) }, () => ({
    requests: 0,
    ok: 0,
    latency: createLatencyHistogram(),
  }))
  let cpuAtWindow: CpuReading | undefined

  const record = (
    phase: PhaseName | undefined,
    intended: number,
    at: number,
    status: number,
    error: unknown,
    deadlineHit: boolean,
  ): void => {
    if (phase === undefined) return
    const latencyMs = at - intended
    const kind = classify({ status, error, latencyMs, deadlineHit }, options.successMs)
    const second = seconds[Math.floor((intended - windowStart) / 1000)]
    if (second) {
      second.requests++
      if (kind === 'ok') second.ok++
      recordLatencyMs(second.latency, latencyMs)
    }
    for (const acc of [overall, phases[phase]]) {
      acc.requests++
      recordLatencyMs(acc.latency, latencyMs)
      if (status >= 200 && status < 300 && !deadlineHit && error === undefined)
        recordLatencyMs(acc.answered, latencyMs)
      if (kind === 'ok') acc.ok++
      else acc.failures[kind] = (acc.failures[kind] ?? 0) + 1
    }
  }

  const dispatch = (intended: number): void => {
    const offset = intended - windowStart
    const phase = offset >= 0 ? phaseAt(schedule, offset) : undefined
    if (phase !== undefined) recordLatencyMs(lag, performance.now() - intended)
    const controller = new AbortController()
    let done = false
    const entry = {
      finish: (at: number, status: number, error: unknown, deadlineHit: boolean): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        open.delete(entry)
        record(phase, intended, at, status, error, deadlineHit)
        if (open.size === 0) onIdle?.()
      },
    }
    const timer = setTimeout(
      () => controller.abort(DEADLINE),
      Math.max(0, intended + options.deadlineMs - performance.now()),
    )
    open.add(entry)
    let status = 0
    options.dispatcher
      .request({ method: 'GET', path, signal: controller.signal })
      .then(async (response) => {
        status = response.statusCode
        await response.body.text()
        entry.finish(performance.now(), status, undefined, false)
      })
      .catch((error: unknown) => {
        entry.finish(performance.now(), status, error, controller.signal.aborted)
      })
  }

  const beginPhase = (index: number): void => {
    const phase = schedule[index]!
    const begun = windowStart + phase.startMs
    if (index === 0) cpuAtWindow = readCpu(options.backendsPid)
    if (options.onPhase) {
      actions.push(
        options.onPhase(phase.name).then(() => {
          phaseActionMs[phase.name] = Math.round((performance.now() - begun) * 1000) / 1000
        }),
      )
    }
  }

  let next = start
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      if (signal.aborted) {
        resolve()
        return
      }
      const now = performance.now()
      while (next <= now && next < windowEnd) {
        while (nextPhase < schedule.length && next >= windowStart + schedule[nextPhase]!.startMs) {
          beginPhase(nextPhase++)
        }
        dispatch(next)
        next += gap()
      }
      if (next >= windowEnd) {
        resolve()
        return
      }
      setTimeout(tick, Math.max(0, next - performance.now() - 0.5))
    }
    tick()
  })
  const cpu = cpuOver(cpuAtWindow, readCpu(options.backendsPid))
  // Every request ends by its deadline; one that ignores its signal gets a grace period, then counts as unfinished.
  if (open.size > 0 && !signal.aborted) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(
        done,
        Math.max(0, windowEnd + options.deadlineMs + GRACE_MS - performance.now()),
      )
      signal.addEventListener('abort', done, { once: true })
      onIdle = done
    })
  }
  const unfinished = open.size
  const now = performance.now()
  for (const entry of [...open]) entry.finish(now, 0, UNFINISHED, false)
  await Promise.allSettled(actions)
  if (signal.aborted) throw new BenchError('E_BENCH_ABORTED', 'bench run aborted', { cause: signal.reason })
  return {
    overall: summarize(overall),
    phases: Object.fromEntries(PHASES.map((name) => [name, summarize(phases[name])])) as Record<
      PhaseName,
      PhaseResult
    >,
    schedule_lag_p99_ms: summarizeLatency(lag).p99_ms,
    phase_action_ms: phaseActionMs,
    unfinished,
    timeline: seconds.map((second, t) => ({
      t_s: t,
      requests: second.requests,
      ok: second.ok,
      p99_ms: summarizeLatency(second.latency).p99_ms,
    })),
    cpu,
    window_s: options.durationMs / 1000,
  }
}

function accumulator(): Accumulator {
  return {
    requests: 0,
    ok: 0,
    failures: {},
    latency: createLatencyHistogram(),
    answered: createLatencyHistogram(),
  }
}

function summarize(acc: Accumulator): PhaseResult {
  return {
    requests: acc.requests,
    ok: acc.ok,
    success_within_1s_rate: acc.requests === 0 ? 0 : acc.ok / acc.requests,
    failures: Object.fromEntries(Object.entries(acc.failures).sort(([a], [b]) => a.localeCompare(b))),
    latency: summarizeLatency(acc.latency),
    answered_latency: summarizeLatency(acc.answered),
  }
}
