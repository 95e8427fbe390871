import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Picker, PickerAttempt } from '../pickers/picker.js'
import { type FakeEndpoint, fakeEndpoint } from './fake-endpoint.js'

/**
 * The behaviour every {@link Picker} must have, written once and run against each (`roundRobin`, `p2cPeakEwma`,
 * `dynamicWeight`, …, and your own). Call it at the top level of a vitest test file; `factory` makes a fresh
 * picker for each test.
 *
 * @example
 * import { registerPickerContract } from '@hundredfold/balance/testing'
 * registerPickerContract('my picker', () => myPicker())
 */
export function registerPickerContract(name: string, factory: () => Picker): void {
  const endpoints = (n: number): FakeEndpoint[] =>
    Array.from({ length: n }, (_, i) => fakeEndpoint(`http://10.0.0.${i + 1}:80`))

  /** Sends a try to the picked endpoint and ends it at once with `kind`. */
  const run = (
    picker: Picker,
    candidates: FakeEndpoint[],
    now: number,
    kind: 'success' | 'failure' = 'success',
  ) => {
    const endpoint = picker.pick(candidates, now, true) as FakeEndpoint
    const attempt: PickerAttempt = { endpoint, startedAt: now }
    picker.onStart?.(attempt, now)
    picker.onEnd?.(attempt, { kind, latencyMs: 1 }, now + 1)
    return endpoint
  }

  describe(`Picker contract: ${name}`, () => {
    it('has a name', () => {
      expect(factory().name).toMatch(/\S/)
    })

    it('always returns one of the candidates when forced', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.nat(5), { maxLength: 12 }), (n, loads) => {
          const picker = factory()
          const candidates = endpoints(n)
          loads.forEach((load, i) => {
            if (candidates[i]) candidates[i].outstanding = load
          })
          for (let t = 0; t < 20; t++) expect(candidates).toContain(picker.pick(candidates, t, true))
        }),
        { numRuns: 50 },
      )
    })

    it('returns the only candidate', () => {
      const picker = factory()
      const [only] = endpoints(1)
      expect(picker.pick([only!], 0, true)).toBe(only)
    })

    it('spreads traffic over equal endpoints', () => {
      const picker = factory()
      const candidates = endpoints(4)
      const counts = new Map<FakeEndpoint, number>()
      for (let t = 0; t < 2_000; t++) {
        const endpoint = run(picker, candidates, t)
        counts.set(endpoint, (counts.get(endpoint) ?? 0) + 1)
      }
      for (const endpoint of candidates) expect(counts.get(endpoint) ?? 0).toBeGreaterThan(2_000 * 0.1)
    })

    it('sends less to an endpoint ramping up in slow start', () => {
      const picker = factory()
      const candidates = endpoints(2)
      candidates[1]!.ramp = 0.1
      let ramping = 0
      for (let t = 0; t < 2_000; t++) if (run(picker, candidates, t) === candidates[1]) ramping++
      expect(ramping).toBeLessThan(2_000 * 0.35)
    })

    it('survives removal and describes endpoints', () => {
      const picker = factory()
      const candidates = endpoints(3)
      for (let t = 0; t < 30; t++) run(picker, candidates, t, t % 3 === 0 ? 'failure' : 'success')
      picker.remove?.(candidates[0]!)
      for (let t = 30; t < 60; t++) expect(candidates.slice(1)).toContain(run(picker, candidates.slice(1), t))
      for (const endpoint of candidates) expect(typeof (picker.describe?.(endpoint, 60) ?? {})).toBe('object')
    })
  })
}
