import { performance } from 'node:perf_hooks'
import { emptySample, recordNs, type Sample, type Window } from './sample.js'

/** One call of a contender, awaited by the loop. */
export type Call = () => Promise<unknown>

/** How a contender's calls are driven and judged. */
export interface CallLoopOptions {
  /** Callers awaiting calls back to back. @default 1 */
  concurrency?: number
  /** `true` for a contender whose every call must reject (an open breaker). @default false */
  rejects?: boolean
  /** Whether a resolved value is a failure (a refused take). @default never */
  failed?: (value: unknown) => boolean
}

// Read the clock once per batch in the throughput loop: reading it costs about as much as a call.
const BATCH = 128

/**
 * A window of `ms` in which `concurrency` callers await `call()` back to back, without timing each call:
 * the throughput figure.
 */
export async function throughputWindow(
  call: Call,
  ms: number,
  options: CallLoopOptions,
  signal: AbortSignal,
): Promise<Sample> {
  const sample = emptySample()
  const { concurrency = 1, rejects = false, failed } = options
  const started = performance.now()
  const deadline = started + ms
  const caller = async (): Promise<void> => {
    while (!signal.aborted) {
      for (let n = 0; n < BATCH; n++) {
        try {
          const value = await call()
          if (rejects || failed?.(value)) sample.errors++
        } catch {
          if (!rejects) sample.errors++
        }
      }
      sample.calls += BATCH
      if (performance.now() >= deadline) break
    }
  }
  await Promise.all(Array.from({ length: concurrency }, caller))
  sample.seconds = (performance.now() - started) / 1000
  return sample
}

/** A window of `ms` with every call timed (process.hrtime.bigint, ns): the latency figures. */
export async function latencyWindow(
  call: Call,
  ms: number,
  options: CallLoopOptions,
  signal: AbortSignal,
): Promise<Sample> {
  const sample = emptySample()
  const { concurrency = 1, rejects = false, failed } = options
  const started = performance.now()
  const deadline = started + ms
  const caller = async (): Promise<void> => {
    while (!signal.aborted && performance.now() < deadline) {
      const t0 = process.hrtime.bigint()
      try {
        const value = await call()
        if (rejects || failed?.(value)) sample.errors++
      } catch {
        if (!rejects) sample.errors++
      }
      recordNs(sample.histogram, Number(process.hrtime.bigint() - t0))
      sample.calls++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, caller))
  sample.seconds = (performance.now() - started) / 1000
  return sample
}

/**
 * One round of an in-process contender: a throughput window, then a latency window of the same length
 * (a clock read per call would weigh on a sub-microsecond call's throughput).
 */
export function inProcessWindow(call: Call, ms: number, options: CallLoopOptions = {}): Window {
  return async (signal) => {
    const throughput = await throughputWindow(call, ms, options, signal)
    const latency = await latencyWindow(call, ms, options, signal)
    return { ...throughput, errors: throughput.errors + latency.errors, histogram: latency.histogram }
  }
}

/** One round of a contender that waits on a server (Redis): one timed window gives both figures. */
export function timedWindow(call: Call, ms: number, options: CallLoopOptions = {}): Window {
  return (signal) => latencyWindow(call, ms, options, signal)
}
