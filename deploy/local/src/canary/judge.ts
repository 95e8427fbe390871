/** What one side of the split served during a step (or over the rollout so far). */
export interface PoolFigures {
  /** Requests answered (any status). */
  readonly requests: number
  /** Of those, answered with a 5xx (the app's own, or nginx's 502/504 when it could not reach it). */
  readonly errors: number
  /** p99 of `$request_time` in ms; null with no requests. */
  readonly p99Ms: number | null
}

/** The rules a step is judged by. */
export interface JudgeRules {
  /** The canary may have this much more 5xx (a share, 0.01 = 1 percentage point) than the baseline. */
  readonly maxErrorRateIncrease: number
  /** Requests the canary must have served in a step before its error rate is judged at all. */
  readonly minRequests: number
  /** The canary's p99 may be this many times the baseline's … */
  readonly maxP99Ratio: number
  /** … plus this many ms (a few ms of p99 on a fast route are noise). */
  readonly p99SlackMs: number
  /** Requests each side must have served before p99s are compared (the p99 of fewer is about their maximum). */
  readonly minLatencyRequests: number
  /**
   * A step whose hold time has passed but whose figures cannot be judged yet (too few requests), or whose
   * error rate is over the limit but not conclusively, holds on up to this many times its hold time; past
   * that the canary is rolled back.
   */
  readonly maxHoldFactor: number
}

/** The defaults of {@link JudgeRules}. */
export const judgeDefaults: Readonly<JudgeRules> = Object.freeze({
  maxErrorRateIncrease: 0.01,
  minRequests: 20,
  maxP99Ratio: 2,
  p99SlackMs: 10,
  minLatencyRequests: 100,
  maxHoldFactor: 3,
})

/** One look at a step. */
export interface StepInput {
  /** The step's canary share, in percent. */
  readonly sharePct: number
  /** The last step (100%): healthy figures there promote the canary. */
  readonly last: boolean
  /** Since the step's share took effect. */
  readonly elapsedMs: number
  /** How long a step holds before it may advance. */
  readonly holdMs: number
  readonly canary: PoolFigures
  /** The baseline over the same step, or (at 100%, where it serves nothing) over the rollout so far. */
  readonly baseline: PoolFigures
}

/** What to do next: keep the step, go to the next share, promote the canary, or roll it back. */
export type StepAction = 'hold' | 'advance' | 'promote' | 'rollback'

/** A judgement of a step, with why. */
export interface Verdict {
  readonly action: StepAction
  readonly reason: string
  /** Whether the p99s were compared (both sides had `minLatencyRequests`). */
  readonly latencyJudged: boolean
}

/** z of the 95% interval (a one-sided 97.5% lower bound): a canary is rolled back early only on evidence this strong. */
const Z = 1.96

/**
 * The lower bound of the Wilson score interval of `errors` in `requests` (95% two-sided): the error
 * rate the canary has at least, with that confidence. 0 with no requests.
 *
 * @example
 * wilsonLowerBound(1, 20) // 0.0089: one 5xx in 20 is no evidence of a 1% excess
 * wilsonLowerBound(12, 20) // 0.387
 */
export function wilsonLowerBound(errors: number, requests: number, z = Z): number {
  if (requests <= 0) return 0
  const p = errors / requests
  const z2 = z * z
  const centre = p + z2 / (2 * requests)
  const spread = z * Math.sqrt((p * (1 - p) + z2 / (4 * requests)) / requests)
  return Math.max(0, (centre - spread) / (1 + z2 / requests))
}

/**
 * Judges one step of a rollout from what each side served. In order:
 *
 * 1. **Early rollback**: once the canary has `minRequests`, if even the lower bound of its 5xx rate
 *    (Wilson, 95%) is above the baseline's rate + `maxErrorRateIncrease`, roll back now, mid-step.
 * 2. Before `holdMs` has passed: hold.
 * 3. Too few canary requests to judge: hold, up to `maxHoldFactor` × `holdMs`, then roll back.
 * 4. With `minLatencyRequests` on both sides: p99 above `maxP99Ratio` × the baseline's + `p99SlackMs` → roll back.
 * 5. Its observed 5xx rate above baseline + `maxErrorRateIncrease` (but not conclusively): hold for more
 *    evidence up to the same bound, then roll back — a step never advances on a suspicious rate.
 * 6. Otherwise advance, or promote on the last step.
 *
 * Pure: the same figures always give the same verdict.
 *
 * @example
 * judgeStep({ sharePct: 1, last: false, elapsedMs: 9000, holdMs: 30_000,
 *   canary: { requests: 40, errors: 24, p99Ms: 9 }, baseline: { requests: 4000, errors: 2, p99Ms: 30 } })
 * // { action: 'rollback', reason: '5xx 60.0% of 40 …', latencyJudged: false }
 */
export function judgeStep(input: StepInput, rules: Readonly<JudgeRules> = judgeDefaults): Verdict {
  const { canary, baseline } = input
  const baseRate = baseline.requests > 0 ? baseline.errors / baseline.requests : 0
  const limit = baseRate + rules.maxErrorRateIncrease
  const rate = canary.requests > 0 ? canary.errors / canary.requests : 0
  const enough = canary.requests >= rules.minRequests
  const errorsLine = `5xx ${pct(rate)} of ${canary.requests} vs baseline ${pct(baseRate)} of ${baseline.requests}`
  if (enough && wilsonLowerBound(canary.errors, canary.requests) > limit) {
    return verdict(
      'rollback',
      `${errorsLine}: above baseline + ${pp(rules.maxErrorRateIncrease)} even at the low end of its 95% interval`,
    )
  }
  if (input.elapsedMs < input.holdMs) return verdict('hold', `holding (${errorsLine})`)
  const overdue = input.elapsedMs >= input.holdMs * rules.maxHoldFactor
  const waited = `${(input.elapsedMs / 1000).toFixed(1)} s`
  if (!enough) {
    return overdue
      ? verdict(
          'rollback',
          `only ${canary.requests} canary requests in ${waited} (min ${rules.minRequests}): nothing to judge it on`,
        )
      : verdict('hold', `waiting for requests (${canary.requests} of ${rules.minRequests})`)
  }
  const latencyJudged =
    canary.requests >= rules.minLatencyRequests &&
    baseline.requests >= rules.minLatencyRequests &&
    canary.p99Ms !== null &&
    baseline.p99Ms !== null
  if (latencyJudged) {
    const bound = rules.maxP99Ratio * baseline.p99Ms! + rules.p99SlackMs
    if (canary.p99Ms! > bound) {
      return verdict(
        'rollback',
        `p99 ${ms(canary.p99Ms!)} vs baseline ${ms(baseline.p99Ms!)}: above ${rules.maxP99Ratio} × baseline + ${rules.p99SlackMs} ms (${ms(bound)})`,
        true,
      )
    }
  }
  if (rate > limit) {
    return overdue
      ? verdict(
          'rollback',
          `${errorsLine}: above baseline + ${pp(rules.maxErrorRateIncrease)} after ${waited}`,
        )
      : verdict('hold', `${errorsLine}: above the limit, not conclusively: holding`)
  }
  const p99Line = latencyJudged
    ? `p99 ${ms(canary.p99Ms!)} vs ${ms(baseline.p99Ms!)}`
    : `p99 not judged (fewer than ${rules.minLatencyRequests} requests)`
  return verdict(input.last ? 'promote' : 'advance', `healthy: ${errorsLine}; ${p99Line}`, latencyJudged)
}

function verdict(action: StepAction, reason: string, latencyJudged = false): Verdict {
  return { action, reason, latencyJudged }
}

const pct = (share: number): string => `${(share * 100).toFixed(1)}%`
const pp = (share: number): string => `${(share * 100).toFixed(1)} pp`
const ms = (value: number): string => `${value.toFixed(1)} ms`
