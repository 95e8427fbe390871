import { slowStartFactor } from '@hundredfold/balance'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

describe('slowStartFactor (Envoy)', () => {
  const options = { windowMs: 10_000, minWeightPercent: 10, aggression: 1 }

  it('is max(minWeightPercent, (max(t, 1 s) / window)^(1 / aggression))', () => {
    expect(slowStartFactor(0, options)).toBe(0.1)
    expect(slowStartFactor(500, options)).toBe(0.1)
    expect(slowStartFactor(5_000, options)).toBe(0.5)
    expect(slowStartFactor(10_000, options)).toBe(1)
    expect(slowStartFactor(2_500, { ...options, aggression: 2 })).toBeCloseTo(0.5)
    expect(slowStartFactor(5_000, { ...options, windowMs: 0 })).toBe(1)
  })

  it('rises monotonically from the minimum to 1 over the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.double({ min: 0.1, max: 5, noNaN: true }),
        fc.integer({ min: 0, max: 100 }),
        (t1, t2, aggression, minWeightPercent) => {
          const o = { windowMs: 10_000, minWeightPercent, aggression }
          const [a, b] = [slowStartFactor(Math.min(t1, t2), o), slowStartFactor(Math.max(t1, t2), o)]
          expect(a).toBeLessThanOrEqual(b)
          expect(a).toBeGreaterThanOrEqual(Math.min(1, minWeightPercent / 100))
          expect(b).toBeLessThanOrEqual(1)
        },
      ),
    )
  })
})
