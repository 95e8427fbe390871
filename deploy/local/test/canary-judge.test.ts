import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveCanaryOptions } from '../src/canary/canary-options.js'
import {
  judgeDefaults,
  judgeStep,
  type PoolFigures,
  type StepAction,
  type StepInput,
  wilsonLowerBound,
} from '../src/canary/judge.js'
import { PoolTally, p99 } from '../src/canary/split-log.js'

const HOLD = 30_000
const step = (over: Partial<StepInput> & Pick<StepInput, 'canary' | 'baseline'>): StepInput => ({
  sharePct: 10,
  last: false,
  elapsedMs: HOLD,
  holdMs: HOLD,
  ...over,
})
const healthyBaseline: PoolFigures = { requests: 10_000, errors: 5, p99Ms: 30 }

/** How good a verdict is for the canary: more errors or a slower p99 must never make it better. */
const rank: Record<StepAction, number> = { rollback: 0, hold: 1, advance: 2, promote: 2 }

const figures = fc
  .record({
    requests: fc.integer({ min: 0, max: 5000 }),
    errorShare: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .chain(({ requests, errorShare }) =>
    fc.record({
      requests: fc.constant(requests),
      errors: fc.constant(Math.floor(requests * errorShare)),
      p99Ms: requests === 0 ? fc.constant(null) : fc.double({ min: 0.1, max: 2000, noNaN: true }),
    }),
  )
const input = fc.record({
  sharePct: fc.constantFrom(1, 10, 50, 100),
  last: fc.boolean(),
  elapsedMs: fc.integer({ min: 0, max: HOLD * 4 }),
  holdMs: fc.constant(HOLD),
  canary: figures,
  baseline: figures,
})

describe('judging a rollout step', () => {
  it('rolls a canary whose 5xx rate is clearly above the baseline’s back mid-step, before its hold time', () => {
    const verdict = judgeStep(
      step({ elapsedMs: 8000, canary: { requests: 40, errors: 24, p99Ms: 4 }, baseline: healthyBaseline }),
    )
    expect(verdict.action).toBe('rollback')
    expect(verdict.reason).toMatch(/^5xx 60\.0% of 40 vs baseline 0\.1% of 10000/)
  })

  it('does not roll back on one stray 5xx in a handful of requests, and does not advance on it either', () => {
    const canary = { requests: 40, errors: 1, p99Ms: 25 }
    expect(judgeStep(step({ elapsedMs: 5000, canary, baseline: healthyBaseline })).action).toBe('hold')
    // Hold time passed, 2.5% observed > 0.05% + 1 pp, but not conclusively: it holds for more evidence …
    expect(judgeStep(step({ canary, baseline: healthyBaseline })).action).toBe('hold')
    // … and rolls back if that is still so at 3 × the hold time.
    expect(judgeStep(step({ elapsedMs: HOLD * 3, canary, baseline: healthyBaseline })).action).toBe(
      'rollback',
    )
    // With the same single 5xx in 200 requests (0.5%) it advances.
    expect(judgeStep(step({ canary: { ...canary, requests: 200 }, baseline: healthyBaseline })).action).toBe(
      'advance',
    )
  })

  it('rolls back a p99 above 2 × the baseline’s + 10 ms once both sides have 100 requests, not before', () => {
    const slow = { requests: 150, errors: 0, p99Ms: 71 }
    expect(judgeStep(step({ canary: slow, baseline: healthyBaseline })).action).toBe('rollback')
    expect(judgeStep(step({ canary: { ...slow, p99Ms: 70 }, baseline: healthyBaseline })).action).toBe(
      'advance',
    )
    const few = judgeStep(step({ canary: { ...slow, requests: 99 }, baseline: healthyBaseline }))
    expect(few).toMatchObject({ action: 'advance', latencyJudged: false })
  })

  it('waits for requests, then rolls back a canary nobody reached: an unjudged canary is not promoted', () => {
    const idle = { requests: 3, errors: 0, p99Ms: 5 }
    expect(judgeStep(step({ canary: idle, baseline: healthyBaseline })).action).toBe('hold')
    const late = judgeStep(step({ elapsedMs: HOLD * 3, last: true, canary: idle, baseline: healthyBaseline }))
    expect(late.action).toBe('rollback')
    expect(late.reason).toContain('only 3 canary requests')
  })

  it('promotes a healthy last step and advances a healthy other one', () => {
    const good = { requests: 5000, errors: 2, p99Ms: 31 }
    expect(
      judgeStep(step({ last: true, sharePct: 100, canary: good, baseline: healthyBaseline })).action,
    ).toBe('promote')
    expect(judgeStep(step({ canary: good, baseline: healthyBaseline })).action).toBe('advance')
  })

  it('never advances or promotes before the hold time, and promotes only on the last step', () => {
    fc.assert(
      fc.property(input, (i) => {
        const { action } = judgeStep(i)
        if (i.elapsedMs < i.holdMs) expect(['hold', 'rollback']).toContain(action)
        if (action === 'promote') expect(i.last).toBe(true)
        if (action === 'advance') expect(i.last).toBe(false)
      }),
    )
  })

  it('never rolls back a canary that served exactly what the baseline did, once it has enough requests', () => {
    fc.assert(
      fc.property(input, (i) => {
        fc.pre(i.baseline.requests >= judgeDefaults.minRequests)
        const { action } = judgeStep({ ...i, elapsedMs: Math.max(i.elapsedMs, i.holdMs), canary: i.baseline })
        expect(action).toBe(i.last ? 'promote' : 'advance')
      }),
    )
  })

  it('more 5xx, or a slower p99, never makes the verdict better for the canary', () => {
    // Found by this property: a canary rolled back for its p99 was held instead once it had a few more 5xx.
    const slowAndSuspicious = {
      sharePct: 1,
      last: false,
      elapsedMs: HOLD,
      holdMs: HOLD,
      canary: { requests: 4395, errors: 44, p99Ms: 10.3 },
      baseline: { requests: 100, errors: 0, p99Ms: 0.1 },
    }
    expect(judgeStep(slowAndSuspicious).action).toBe('rollback')
    fc.assert(
      fc.property(
        input,
        fc.integer({ min: 1, max: 500 }),
        fc.double({ min: 0, max: 500, noNaN: true }),
        (i, more, slower) => {
          const before = judgeStep(i)
          const worse = {
            ...i.canary,
            errors: Math.min(i.canary.requests, i.canary.errors + more),
            p99Ms: i.canary.p99Ms === null ? null : i.canary.p99Ms + slower,
          }
          const after = judgeStep({ ...i, canary: worse })
          expect(rank[after.action]).toBeLessThanOrEqual(rank[before.action])
        },
      ),
      { numRuns: 5000 },
    )
  })

  it('rolls back, whenever it looks, a canary failing 20 points more than the baseline over 200+ requests', () => {
    fc.assert(
      fc.property(
        input,
        fc.integer({ min: 200, max: 5000 }),
        fc.double({ min: 0, max: 0.75, noNaN: true }),
        (i, requests, baseRate) => {
          const baseline = { requests: 10_000, errors: Math.floor(10_000 * baseRate), p99Ms: 30 }
          const errors = Math.min(
            requests,
            Math.ceil(requests * (baseRate + 0.2 + judgeDefaults.maxErrorRateIncrease)),
          )
          expect(judgeStep({ ...i, baseline, canary: { requests, errors, p99Ms: 30 } }).action).toBe(
            'rollback',
          )
        },
      ),
    )
  })

  it('bounds the error rate from below: 0 without requests, never above the observed rate', () => {
    expect(wilsonLowerBound(0, 0)).toBe(0)
    expect(wilsonLowerBound(1, 20)).toBeCloseTo(0.0089, 4)
    expect(wilsonLowerBound(12, 20)).toBeCloseTo(0.3866, 3)
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, share) => {
          const e = Math.floor(n * share)
          const lower = wilsonLowerBound(e, n)
          expect(lower).toBeGreaterThanOrEqual(0)
          expect(lower).toBeLessThanOrEqual(e / n + 1e-12)
          if (e < n) expect(wilsonLowerBound(e + 1, n)).toBeGreaterThan(lower)
        },
      ),
    )
  })
})

describe('counting what each side served', () => {
  it('counts requests and 5xx per side and takes the nearest-rank p99', () => {
    const tally = new PoolTally()
    for (let i = 1; i <= 200; i++) tally.add({ atMs: i, pool: 'baseline', status: 200, requestMs: i })
    tally.add({ atMs: 1, pool: 'canary', status: 502, requestMs: 1 })
    tally.add({ atMs: 2, pool: 'canary', status: 404, requestMs: 3 })
    expect(tally.figures('baseline')).toEqual({ requests: 200, errors: 0, p99Ms: 198 })
    expect(tally.figures('canary')).toEqual({ requests: 2, errors: 1, p99Ms: 3 })
    expect(p99([])).toBeNull()
  })
})

describe('canary options', () => {
  it('go from the first share up through the later steps to 100%', () => {
    expect(resolveCanaryOptions({ build: '/b' }).steps).toEqual([1, 10, 50, 100])
    expect(resolveCanaryOptions({ build: '/b', share: '20%' }).steps).toEqual([20, 50, 100])
    expect(resolveCanaryOptions({ build: '/b', share: '0.5%', steps: [5] }).steps).toEqual([0.5, 5, 100])
    expect(resolveCanaryOptions({ build: '/b', share: 100 }).steps).toEqual([100])
  })

  it('are refused with a message naming the option', () => {
    expect(() => resolveCanaryOptions({ build: '/b', share: '0%' })).toThrow(
      /options\.share must be a percentage/,
    )
    expect(() => resolveCanaryOptions({ build: '/b', share: '101%' })).toThrow(/options\.share/)
    expect(() => resolveCanaryOptions({ build: '/b', share: '0.125' })).toThrow(/two decimals/)
    expect(() => resolveCanaryOptions({ build: '/b', steps: [50, 10] })).toThrow(/options\.steps must rise/)
    expect(() => resolveCanaryOptions({ build: '/b', stepMs: 0 })).toThrow(/options\.stepMs/)
    expect(() => resolveCanaryOptions({ build: '/b', canaryApps: 0 })).toThrow(/options\.canaryApps/)
    expect(() => resolveCanaryOptions({ build: '/b', rules: { minRequests: 1.5 } })).toThrow(
      /options\.rules\.minRequests must be a non-negative integer/,
    )
    try {
      resolveCanaryOptions({ build: '' })
    } catch (err) {
      expect(err).toMatchObject({ code: 'E_INVALID_OPTION', option: 'options.build' })
    }
  })
})
