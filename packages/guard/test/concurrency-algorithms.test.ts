import { describe, expect, it } from 'vitest'
import { aimd } from '../src/concurrency/aimd.js'
import { fixed } from '../src/concurrency/fixed.js'
import { gradient2 } from '../src/concurrency/gradient2.js'
import type { LimitAlgorithm } from '../src/concurrency/limit-algorithm.js'
import { vegas } from '../src/concurrency/vegas.js'
import { GuardError } from '../src/errors.js'

/** Feeds `count` samples of `rttMs` taken at saturation (as many in flight as the limit allows). */
function saturate(limit: LimitAlgorithm, rttMs: number, count: number, dropped = false): number[] {
  const limits: number[] = []
  for (let i = 0; i < count; i++) limits.push(limit.onSample(rttMs, limit.limit, dropped))
  return limits
}

function expectInvalid(make: () => unknown, option: string): void {
  try {
    make()
  } catch (error) {
    expect(error).toBeInstanceOf(GuardError)
    expect((error as GuardError).code).toBe('E_INVALID_OPTION')
    expect((error as GuardError).option).toBe(option)
    expect((error as GuardError).message).toContain(option)
    return
  }
  throw new Error(`expected ${option} to be rejected`)
}

describe('gradient2', () => {
  it('grows while the RTT holds steady, falls when it rises, and grows again when it recovers', () => {
    const limit = gradient2({ initialLimit: 20, minLimit: 4, maxLimit: 100 })
    saturate(limit, 10, 300)
    const steady = limit.limit
    expect(steady).toBe(100)

    const rising = saturate(limit, 40, 40)
    const overloaded = limit.limit
    expect(overloaded).toBeLessThan(steady / 2)
    // It falls monotonically while the RTT stays high (within the first samples).
    for (let i = 1; i < 20; i++) expect(rising[i]!).toBeLessThanOrEqual(rising[i - 1]!)

    saturate(limit, 10, 60)
    expect(limit.limit).toBeGreaterThan(overloaded + 20)
  })

  it('holds the limit within [minLimit, maxLimit] however extreme the samples', () => {
    const limit = gradient2({ initialLimit: 10, minLimit: 5, maxLimit: 50 })
    for (const rtt of [1, 1_000_000, 0.001, 5_000, 1]) {
      for (const l of saturate(limit, rtt, 500)) {
        expect(l).toBeGreaterThanOrEqual(5)
        expect(l).toBeLessThanOrEqual(50)
      }
    }
  })

  it('leaves the limit alone when fewer than half of it were in flight (the load, not the server, was the bound)', () => {
    const limit = gradient2({ initialLimit: 40, minLimit: 4, maxLimit: 100 })
    saturate(limit, 10, 20)
    const before = limit.limit
    for (let i = 0; i < 50; i++) limit.onSample(500, 2, false)
    expect(limit.limit).toBe(before)
  })

  it('ignores samples without a positive RTT', () => {
    const limit = gradient2()
    expect(limit.onSample(0, 20, false)).toBe(20)
    expect(limit.onSample(Number.NaN, 20, false)).toBe(20)
    expect(limit.limit).toBe(20)
  })

  it('takes the queue size as a function of the limit', () => {
    const sqrt = gradient2({ initialLimit: 16, minLimit: 1, maxLimit: 1_000, queueSize: Math.sqrt })
    const constant = gradient2({ initialLimit: 16, minLimit: 1, maxLimit: 1_000, queueSize: 1 })
    saturate(sqrt, 10, 100)
    saturate(constant, 10, 100)
    expect(sqrt.limit).toBeGreaterThan(constant.limit)
  })

  it('rejects bad options, naming them', () => {
    expectInvalid(() => gradient2({ minLimit: 0 }), 'options.minLimit')
    expectInvalid(() => gradient2({ minLimit: 30, maxLimit: 20 }), 'options.minLimit')
    expectInvalid(() => gradient2({ initialLimit: 500 }), 'options.initialLimit')
    expectInvalid(() => gradient2({ smoothing: 0 }), 'options.smoothing')
    expectInvalid(() => gradient2({ rttTolerance: 0.5 }), 'options.rttTolerance')
    expectInvalid(() => gradient2({ longWindow: 1.5 }), 'options.longWindow')
    expectInvalid(() => gradient2({ queueSize: -1 }), 'options.queueSize')
  })
})

describe('vegas', () => {
  const deterministic = { probeMultiplier: 1_000_000, random: () => 0 }

  it('grows while the RTT stays at its no-load value, falls when it rises, grows again when it recovers', () => {
    const limit = vegas({ initialLimit: 20, maxLimit: 200, ...deterministic })
    saturate(limit, 10, 100)
    expect(limit.rttNoLoad).toBe(10)
    expect(limit.limit).toBe(200)

    saturate(limit, 20, 100) // half the calls are queued, not served
    const overloaded = limit.limit
    expect(overloaded).toBeLessThan(40)

    saturate(limit, 10, 5)
    expect(limit.limit).toBeGreaterThan(overloaded)
    saturate(limit, 10, 100)
    expect(limit.limit).toBe(200)
  })

  it('holds steady while the estimated queue is between alpha and beta', () => {
    const limit = vegas({ initialLimit: 100, maxLimit: 1_000, ...deterministic })
    limit.onSample(10, 100, false) // rttNoLoad = 10
    // queue = ceil(100 × (1 − 10/11.5)) = 14, above beta (6·log10(100) = 12): −lg.
    const shrinking = limit.onSample(11.5, 100, false)
    expect(shrinking).toBe(98)
    // queue = ceil(98 × (1 − 10/11)) = 9, between alpha (3·lg ≈ 6) and beta (6·lg ≈ 12): no change.
    expect(limit.onSample(11, 98, false)).toBe(98)
  })

  it('shrinks on a drop whatever the RTT', () => {
    const limit = vegas({ initialLimit: 100, ...deterministic })
    limit.onSample(10, 100, false)
    expect(limit.onSample(10, 100, true)).toBe(98)
  })

  it('holds the limit within [minLimit, maxLimit]', () => {
    const limit = vegas({ initialLimit: 10, minLimit: 3, maxLimit: 40, ...deterministic })
    limit.onSample(1, 10, false)
    for (const l of saturate(limit, 1, 200)) expect(l).toBeLessThanOrEqual(40)
    for (const l of saturate(limit, 1, 200, true)) expect(l).toBeGreaterThanOrEqual(3)
    expect(limit.limit).toBe(3)
  })

  it('re-measures rttNoLoad after probeMultiplier × limit samples, so a slower service is not shed for ever', () => {
    const limit = vegas({ initialLimit: 10, maxLimit: 10, probeMultiplier: 2, random: () => 0 })
    limit.onSample(5, 10, false)
    expect(limit.rttNoLoad).toBe(5)
    saturate(limit, 50, 20)
    expect(limit.rttNoLoad).toBe(50)
  })

  it('rejects bad options, naming them', () => {
    expectInvalid(() => vegas({ maxLimit: 0 }), 'options.maxLimit')
    expectInvalid(() => vegas({ smoothing: 2 }), 'options.smoothing')
    expectInvalid(() => vegas({ probeMultiplier: 0 }), 'options.probeMultiplier')
  })
})

describe('aimd', () => {
  it('adds one per sample at saturation, multiplies by backoffRatio on RTTs over timeoutMs, recovers after', () => {
    const limit = aimd({ initialLimit: 10, maxLimit: 50, timeoutMs: 100, backoffRatio: 0.5 })
    expect(saturate(limit, 20, 3)).toEqual([11, 12, 13])
    expect(saturate(limit, 250, 2)).toEqual([6, 3])
    expect(saturate(limit, 20, 3)).toEqual([4, 5, 6])
  })

  it('backs off on drops and does not grow while the load is below half the limit', () => {
    const limit = aimd({ initialLimit: 20 })
    expect(limit.onSample(5, 20, true)).toBe(18)
    expect(limit.onSample(5, 3, false)).toBe(18)
  })

  it('holds the limit within [minLimit, maxLimit]', () => {
    const limit = aimd({ initialLimit: 5, minLimit: 2, maxLimit: 8 })
    for (const l of saturate(limit, 1, 50)) expect(l).toBeLessThanOrEqual(8)
    for (const l of saturate(limit, 1, 50, true)) expect(l).toBeGreaterThanOrEqual(2)
    expect(limit.limit).toBe(2)
  })

  it('rejects bad options, naming them', () => {
    expectInvalid(() => aimd({ backoffRatio: 1 }), 'options.backoffRatio')
    expectInvalid(() => aimd({ timeoutMs: -1 }), 'options.timeoutMs')
  })
})

describe('fixed', () => {
  it('never moves', () => {
    const limit = fixed(7)
    expect(saturate(limit, 10_000, 10, true)).toEqual(Array(10).fill(7))
    expectInvalid(() => fixed(0), 'fixed(limit)')
  })
})
