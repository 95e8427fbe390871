import { createLatencyHistogram, recordLatencyMs, summarizeLatency } from '../../loadgen/histogram.js'
import type { DrillEvent } from '../drill-load.js'

/** What one side (guarded or unguarded) of the overload saw. */
export interface OverloadFigures {
  offered_rps: number
  /** 2xx answers within the SLO, per second of the overload. */
  goodput_rps: number
  goodput_ratio: number
  /** Answers that were not shed (anything but 503), and their p99 from intended send time. */
  admitted: number
  admitted_p99_ms: number
  /** 503 answers (shed at the door, or a pool full), and how fast they came. */
  rejected: number
  rejected_p99_ms: number | null
  /** Client-side failures and answers ≥ 400 other than 503. */
  failed: number
  /** Seconds after the load fell back until every later second met the SLO; null if none did. */
  recovery_s: number | null
}

/** The overload window and what follows it, in `performance.now()` ms. */
export interface OverloadWindow {
  start: number
  end: number
  recoveryEnd: number
}

const latency = (event: DrillEvent): number => event.at - event.intended

function p99(events: readonly DrillEvent[]): number {
  const histogram = createLatencyHistogram()
  for (const event of events) recordLatencyMs(histogram, latency(event))
  return summarizeLatency(histogram).p99_ms
}

/** The p99 of every request due in [from, to): the unloaded figure. */
export function p99Between(events: readonly DrillEvent[], from: number, to: number): number {
  return p99(events.filter((e) => e.intended >= from && e.intended < to))
}

/**
 * Goodput, admitted and rejected latency over the overload window, and the recovery after it: the
 * first second after the window from which every second's p99 is within the SLO and under 1 % of its
 * requests failed.
 */
export function overloadFigures(
  events: readonly DrillEvent[],
  window: OverloadWindow,
  mstRps: number,
  sloMs: number,
): OverloadFigures {
  const seconds = (window.end - window.start) / 1000
  const during = events.filter((e) => e.intended >= window.start && e.intended < window.end)
  const ok = (e: DrillEvent) => e.status >= 200 && e.status < 300
  const good = during.filter((e) => ok(e) && latency(e) <= sloMs).length
  const rejected = during.filter((e) => e.status === 503)
  const admitted = during.filter((e) => e.status !== 503 && e.status !== 0)
  const goodput = good / seconds
  return {
    offered_rps: round(during.length / seconds, 1),
    goodput_rps: round(goodput, 1),
    goodput_ratio: round(goodput / mstRps, 3),
    admitted: admitted.length,
    admitted_p99_ms: round(p99(admitted), 2),
    rejected: rejected.length,
    rejected_p99_ms: rejected.length > 0 ? round(p99(rejected), 2) : null,
    failed: during.filter((e) => !ok(e) && e.status !== 503).length,
    recovery_s: recovery(events, window, sloMs),
  }
}

function recovery(events: readonly DrillEvent[], window: OverloadWindow, sloMs: number): number | null {
  const buckets = new Map<number, DrillEvent[]>()
  for (const event of events) {
    if (event.intended < window.end || event.intended >= window.recoveryEnd) continue
    const second = Math.floor((event.intended - window.end) / 1000)
    const bucket = buckets.get(second)
    if (bucket) bucket.push(event)
    else buckets.set(second, [event])
  }
  const last = Math.floor((window.recoveryEnd - window.end) / 1000) - 1
  let recoveredFrom: number | null = null
  for (let second = last; second >= 0; second--) {
    const bucket = buckets.get(second) ?? []
    const failures = bucket.filter((e) => e.status < 200 || e.status >= 400).length
    const healthy = bucket.length > 0 && p99(bucket) <= sloMs && failures <= bucket.length * 0.01
    if (!healthy) break
    recoveredFrom = second
  }
  return recoveredFrom
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
