import {
  type DynamicWeightOptions,
  dynamicWeightDefaults,
  resolveDynamicWeightOptions,
} from './dynamic-weight-options.js'
import { EndpointScore } from './dynamic-weight-state.js'
import { effectiveWeight, type Picker, type PickerEndpoint, randomIndex, weightedChoice } from './picker.js'

export { type DynamicWeightOptions, dynamicWeightDefaults }

/** The dynamic-weight picker, with a look at its critical latency. */
export interface DynamicWeightPicker extends Picker {
  /** The critical latency now (ms). */
  criticalLatency(now: number): number
}

/**
 * The dynamic-weight picker of the design notes. Every endpoint has a score (0..`maxScore`): a success
 * adds a little, a failure subtracts a lot, and a try in flight longer than the critical latency counts as a
 * failure at once, before it completes. Traffic is drawn by score × slow start / (outstanding + 1).
 * - Below `breathThreshold` the endpoint takes a *small breath*: `breathShare` of its weight for at least
 *   `breathMs`, then full share again once successes have lifted its score.
 * - At score 0 or `deadAfterFailures` failures in a row it is *dead*, a *big breath*: no traffic, then one
 *   probe (a real request; with retries on, it is abandoned after the critical latency and retried elsewhere)
 *   after 1 s, 2 s, 4 s … up to `probeMaxMs`. A passing probe readmits it with slow start.
 * - At most `maxOutPercent` of the endpoints breathe or are dead at once.
 *
 * @throws {BalanceError} `E_INVALID_OPTION` if an option is invalid.
 * @example
 * const balancer = new Balancer({ endpoints, picker: dynamicWeight({ criticalLatencyMs: 250 }) })
 */
export function dynamicWeight(options: DynamicWeightOptions = {}): DynamicWeightPicker {
  const o = resolveDynamicWeightOptions(options)
  const scores = new Map<PickerEndpoint, EndpointScore>()
  const state = (endpoint: PickerEndpoint): EndpointScore => {
    let s = scores.get(endpoint)
    if (s === undefined) {
      s = new EndpointScore(o.maxScore)
      scores.set(endpoint, s)
    }
    return s
  }
  let critical = { value: o.initialCriticalLatencyMs, at: Number.NEGATIVE_INFINITY }
  const criticalLatency = (now: number): number => {
    if (o.criticalLatencyMs !== 'auto') return o.criticalLatencyMs
    if (now - critical.at < 100) return critical.value
    const latencies: number[] = []
    for (const s of scores.values()) if (s.latencyMs !== undefined) latencies.push(s.latencyMs)
    latencies.sort((a, b) => a - b)
    const median = latencies[Math.floor(latencies.length / 2)]
    const value =
      median === undefined
        ? o.initialCriticalLatencyMs
        : Math.max(o.minCriticalLatencyMs, o.criticalLatencyFactor * median)
    // Cached briefly (a sort per pick would be waste), but not before the first response.
    critical = { value, at: median === undefined ? Number.NEGATIVE_INFINITY : now }
    return value
  }
  const mayGoOut = (s: EndpointScore): boolean => {
    if (s.mode !== 'healthy') return true
    let out = 1
    for (const other of scores.values()) if (other.mode !== 'healthy') out++
    return (out / scores.size) * 100 <= o.maxOutPercent
  }
  const die = (s: EndpointScore, now: number): void => {
    s.deadLevel++
    s.mode = 'dead'
    s.score = 0
    s.probeAt = now + Math.min(o.probeMaxMs, o.probeBaseMs * 2 ** (s.deadLevel - 1))
  }
  const fail = (s: EndpointScore, now: number): void => {
    s.consecutiveFailures++
    if (s.mode === 'dead') return
    if (s.mode === 'probing') {
      die(s, now)
      return
    }
    s.score = Math.max(0, s.score - o.failurePenalty)
    if ((s.score === 0 || s.consecutiveFailures >= o.deadAfterFailures) && mayGoOut(s)) die(s, now)
    else if (s.mode === 'healthy' && s.score < o.breathThreshold && mayGoOut(s)) {
      s.mode = 'breathing'
      s.breathUntil = now + o.breathMs
    }
  }
  const succeed = (endpoint: PickerEndpoint, s: EndpointScore, probe: boolean, now: number): void => {
    s.consecutiveFailures = 0
    if (probe && (s.mode === 'probing' || s.mode === 'dead')) {
      // Readmitted: on probation at the breath threshold, ramping up with slow start.
      s.mode = 'healthy'
      s.score = Math.max(o.breathThreshold, Math.min(o.maxScore, o.breathThreshold + o.successIncrement))
      endpoint.restartSlowStart(now)
      return
    }
    s.score = Math.min(o.maxScore, s.score + o.successIncrement)
    if (s.score >= o.maxScore) s.deadLevel = 0
  }
  /** Flags stalled tries, ends breaths, and returns the endpoint's weight now. */
  const weightOf = (endpoint: PickerEndpoint, s: EndpointScore, now: number, limit: number): number => {
    for (const _ of s.flagStalled(now - limit)) fail(s, now)
    if (s.mode === 'breathing' && now >= s.breathUntil && s.score >= o.breathThreshold) s.mode = 'healthy'
    if (s.mode === 'dead' || s.mode === 'probing') return 0
    const base = (Math.max(s.score, 1) * effectiveWeight(endpoint, now)) / (endpoint.outstanding + 1)
    return s.mode === 'breathing' ? base * o.breathShare : base
  }
  return {
    name: 'dynamic-weight',
    criticalLatency,
    pick(candidates, now, force) {
      const limit = criticalLatency(now)
      const weights: number[] = new Array(candidates.length)
      for (let i = 0; i < candidates.length; i++) {
        const endpoint = candidates[i]!
        const s = state(endpoint)
        weights[i] = weightOf(endpoint, s, now, limit)
        if (s.mode === 'dead' && now >= s.probeAt) {
          // The big breath is over: this try is the probe.
          s.mode = 'probing'
          s.probePending = true
          return endpoint
        }
      }
      const chosen = weightedChoice(candidates, weights, o.random)
      if (chosen !== undefined || !force) return chosen
      // Every candidate is dead: the one whose probe is due soonest, at random among equals.
      let soonest = Number.POSITIVE_INFINITY
      for (const endpoint of candidates) soonest = Math.min(soonest, state(endpoint).probeAt)
      const due = candidates.filter((e) => state(e).probeAt === soonest)
      return due[randomIndex(due.length, o.random)]
    },
    tryTimeoutMs(endpoint, now) {
      return scores.get(endpoint)?.probePending ? criticalLatency(now) : undefined
    },
    onStart(attempt) {
      state(attempt.endpoint).start(attempt)
    },
    onEnd(attempt, outcome, now) {
      const s = scores.get(attempt.endpoint)
      const flight = s?.end(attempt)
      if (s === undefined || flight === undefined) return
      if (outcome.kind === 'cancelled') {
        // A probe the caller gave up on says nothing: probe again at the next pick.
        if (flight.probe && s.mode === 'probing') s.mode = 'dead'
        return
      }
      s.observeLatency(outcome.latencyMs)
      if (flight.flagged) {
        if (flight.probe && s.mode === 'probing') die(s, now)
        return
      }
      if (outcome.kind === 'failure' || outcome.latencyMs > criticalLatency(now)) {
        if (flight.probe && s.mode === 'probing') die(s, now)
        else fail(s, now)
      } else succeed(attempt.endpoint, s, flight.probe, now)
    },
    remove(endpoint) {
      scores.delete(endpoint)
    },
    describe(endpoint, now) {
      const s = state(endpoint)
      const weight = weightOf(endpoint, s, now, criticalLatency(now))
      return {
        score: s.score,
        state: s.mode,
        weight,
        ...(s.latencyMs === undefined ? {} : { latencyMs: s.latencyMs }),
      }
    },
  }
}
