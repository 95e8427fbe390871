import {
  dynamicWeight,
  leastOutstanding,
  type Picker,
  type PickerAttempt,
  p2cPeakEwma,
  roundRobin,
  staticWeight,
} from '@hundredfold/balance'
import { type FakeEndpoint, fakeEndpoint } from '@hundredfold/balance/testing'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const make = (n: number, init: (i: number) => Parameters<typeof fakeEndpoint>[1] = () => ({})) =>
  Array.from({ length: n }, (_, i) => fakeEndpoint(`http://10.0.0.${i + 1}:8080`, init(i)))

function tally(picker: Picker, candidates: FakeEndpoint[], picks: number): number[] {
  const counts = candidates.map(() => 0)
  for (let t = 0; t < picks; t++) {
    const chosen = picker.pick(candidates, t, true)!
    counts[candidates.indexOf(chosen as FakeEndpoint)]!++
  }
  return counts
}

/** Sends one try and ends it with `latencyMs` and `kind`. */
function complete(
  picker: Picker,
  endpoint: FakeEndpoint,
  now: number,
  latencyMs: number,
  kind: 'success' | 'failure' = 'success',
) {
  const attempt: PickerAttempt = { endpoint, startedAt: now }
  picker.onStart?.(attempt, now)
  picker.onEnd?.(attempt, { kind, latencyMs }, now + latencyMs)
}

describe('roundRobin', () => {
  it('visits every endpoint once per rotation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 5 }), (n, rounds) => {
        const counts = tally(roundRobin(), make(n), n * rounds)
        expect(counts.every((c) => c === rounds)).toBe(true)
      }),
    )
  })
})

describe('staticWeight', () => {
  it('gives each endpoint turns in exact proportion to its weight', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 6 }), (weights) => {
        const total = weights.reduce((a, b) => a + b, 0)
        const counts = tally(
          staticWeight(),
          make(weights.length, (i) => ({ weight: weights[i]! })),
          total * 3,
        )
        expect(counts).toEqual(weights.map((w) => w * 3))
      }),
    )
  })

  it('takes weights by origin from its options over discovery weights', () => {
    const candidates = make(2)
    const counts = tally(staticWeight({ weights: { [candidates[0]!.origin]: 3 } }), candidates, 400)
    expect(counts).toEqual([300, 100])
  })
})

describe('leastOutstanding', () => {
  it('always picks an endpoint with the fewest tries in flight', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 1, maxLength: 10 }), (loads) => {
        const candidates = make(loads.length, (i) => ({ outstanding: loads[i]! }))
        const chosen = leastOutstanding().pick(candidates, 0) as FakeEndpoint
        expect(chosen.outstanding).toBe(Math.min(...loads))
      }),
    )
  })
})

describe('p2cPeakEwma', () => {
  it('never picks the costlier of the two it draws, so the worst endpoint is never picked', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 10 }), fc.nat(9), (n, slowIndex) => {
        const picker = p2cPeakEwma()
        const candidates = make(n)
        const slow = candidates[slowIndex % n]!
        for (const e of candidates) complete(picker, e, 0, e === slow ? 500 : 5)
        const counts = tally(picker, candidates, 500)
        expect(counts[candidates.indexOf(slow)]).toBe(0)
      }),
      { numRuns: 30 },
    )
  })

  it('raises the estimate at once on a slow response and forgets it with the decay', () => {
    const picker = p2cPeakEwma({ decayMs: 1_000 })
    const [a] = make(1)
    complete(picker, a!, 0, 10)
    complete(picker, a!, 100, 2_000)
    expect(picker.describe!(a!, 2_100).latencyMs).toBeCloseTo(2_000, 0)
    // Five time constants later, ~e^-5 of the peak is left.
    expect(picker.describe!(a!, 7_100).latencyMs).toBeLessThan(2_000 * Math.exp(-5) + 1)
  })

  it('gives a new endpoint the mean of the others as a neutral prior', () => {
    const picker = p2cPeakEwma()
    const [a, b, fresh] = make(3)
    complete(picker, a!, 0, 10)
    complete(picker, b!, 0, 30)
    expect(picker.describe!(fresh!, 30).latencyMs).toBeCloseTo(20, 0)
  })

  it('prefers the endpoint with fewer tries in flight at equal latency', () => {
    const picker = p2cPeakEwma()
    const [a, b] = make(2)
    complete(picker, a!, 0, 10)
    complete(picker, b!, 0, 10)
    b!.outstanding = 3
    expect(tally(picker, [a!, b!], 100)).toEqual([100, 0])
  })
})

describe('dynamicWeight', () => {
  it('never picks a dead endpoint before its probe is due while others live', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: 10 }), fc.nat(9), (n, deadIndex) => {
        const picker = dynamicWeight()
        const candidates = make(n)
        const dead = candidates[deadIndex % n]!
        picker.pick(candidates, 0)
        for (let i = 0; i < 5; i++) complete(picker, dead, i, 1, 'failure')
        expect(picker.describe!(dead, 10).state).toBe('dead')
        // The first probe is due 1 s after death; until then no traffic.
        for (let t = 10; t < 900; t++) expect(picker.pick(candidates, t, true)).not.toBe(dead)
      }),
      { numRuns: 30 },
    )
  })
})
