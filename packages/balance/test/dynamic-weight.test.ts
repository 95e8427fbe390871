import { dynamicWeight, type PickerAttempt } from '@hundredfold/balance'
import { type FakeEndpoint, fakeEndpoint } from '@hundredfold/balance/testing'
import { describe, expect, it } from 'vitest'

const make = (n: number) => Array.from({ length: n }, (_, i) => fakeEndpoint(`http://10.0.0.${i + 1}:8080`))

function send(picker: ReturnType<typeof dynamicWeight>, endpoint: FakeEndpoint, now: number): PickerAttempt {
  const attempt: PickerAttempt = { endpoint, startedAt: now }
  picker.onStart?.(attempt, now)
  return attempt
}

function end(
  picker: ReturnType<typeof dynamicWeight>,
  attempt: PickerAttempt,
  now: number,
  kind: 'success' | 'failure' = 'success',
) {
  picker.onEnd?.(attempt, { kind, latencyMs: now - attempt.startedAt }, now)
}

function share(
  picker: ReturnType<typeof dynamicWeight>,
  candidates: FakeEndpoint[],
  target: FakeEndpoint,
  now: number,
) {
  let hits = 0
  for (let i = 0; i < 2_000; i++) if (picker.pick(candidates, now) === target) hits++
  return hits / 2_000
}

describe('dynamicWeight', () => {
  it('subtracts a lot on failure and adds a little on success, within [0, maxScore]', () => {
    const picker = dynamicWeight()
    const [a, b] = make(2)
    picker.pick([a!, b!], 0)
    end(picker, send(picker, a!, 0), 1, 'failure')
    expect(picker.describe!(a!, 1).score).toBe(75)
    end(picker, send(picker, a!, 1), 2)
    expect(picker.describe!(a!, 2).score).toBe(76)
    for (let t = 3; t < 100; t++) end(picker, send(picker, a!, t), t + 1)
    expect(picker.describe!(a!, 200).score).toBe(100)
  })

  it('takes a small breath below the threshold: a reduced share for a while, then full share again', () => {
    const picker = dynamicWeight({ breathMs: 5_000 })
    const candidates = make(4)
    const a = candidates[0]!
    picker.pick(candidates, 0)
    for (let t = 0; t < 3; t++) {
      end(picker, send(picker, a, t), t + 1, 'failure')
      end(picker, send(picker, candidates[1]!, t), t + 1) // breaks the run of failures
    }
    expect(picker.describe!(a, 10)).toMatchObject({ state: 'breathing', score: 25 })
    expect(share(picker, candidates, a, 10)).toBeLessThan(0.02)
    // Successes during the breath lift the score back to the threshold...
    for (let t = 20; t < 45; t++) end(picker, send(picker, a, t), t + 1)
    expect(picker.describe!(a, 100).state).toBe('breathing') // ...but the breath lasts breathMs.
    expect(picker.describe!(a, 5_100).state).toBe('healthy')
    expect(share(picker, candidates, a, 5_100)).toBeGreaterThan(0.1)
  })

  it('takes a big breath when dead: no traffic, then probes after 1 s, 2 s, 4 s, and readmits with slow start', () => {
    const picker = dynamicWeight({ criticalLatencyMs: 100 })
    const candidates = make(4)
    const a = candidates[0]!
    picker.pick(candidates, 0)
    // Four failures take the score to 0: dead at t = 4.
    for (let t = 0; t < 4; t++) end(picker, send(picker, a, t), t + 1, 'failure')
    expect(picker.describe!(a, 4).state).toBe('dead')
    let now = 4
    for (const wait of [1_000, 2_000, 4_000]) {
      const due = now + wait
      expect(share(picker, candidates, a, due - 1)).toBe(0)
      expect(picker.pick(candidates, due)).toBe(a) // the probe
      expect(picker.tryTimeoutMs!(a, due)).toBe(100)
      const probe = send(picker, a, due)
      expect(share(picker, candidates, a, due)).toBe(0) // nothing else while the probe is out
      end(picker, probe, due + 1, 'failure')
      expect(picker.describe!(a, due + 1).state).toBe('dead')
      now = due + 1
    }
    const due = now + 8_000
    expect(picker.pick(candidates, due)).toBe(a)
    end(picker, send(picker, a, due), due + 5)
    expect(picker.describe!(a, due + 5).state).toBe('healthy')
    expect(a.restarts).toBe(1)
  })

  it('counts a try in flight longer than the critical latency as a failure before it completes', () => {
    const picker = dynamicWeight({ criticalLatencyMs: 100 })
    const candidates = make(3)
    const a = candidates[0]!
    picker.pick(candidates, 0)
    const stuck = [send(picker, a, 0), send(picker, a, 1), send(picker, a, 2)]
    picker.pick(candidates, 50)
    expect(picker.describe!(a, 50).score).toBe(100)
    picker.pick(candidates, 150)
    expect(picker.describe!(a, 150).score).toBe(25)
    expect(picker.describe!(a, 150).state).toBe('breathing')
    // When the slow tries finally complete, they are not counted twice.
    for (const attempt of stuck) end(picker, attempt, 2_000)
    expect(picker.describe!(a, 2_000).score).toBe(25)
  })

  it('derives the critical latency from the median latency of the pool', () => {
    const picker = dynamicWeight()
    const candidates = make(3)
    expect(picker.criticalLatency(0)).toBe(1_000)
    for (const [i, ms] of [20, 30, 400].entries()) end(picker, send(picker, candidates[i]!, 0), ms)
    expect(picker.criticalLatency(1_000)).toBe(300) // 10 × the median (30 ms)
    const fast = dynamicWeight()
    end(fast, send(fast, candidates[0]!, 0), 1)
    expect(fast.criticalLatency(1_000)).toBe(50) // the floor
  })

  it('keeps at most maxOutPercent of the endpoints out', () => {
    const picker = dynamicWeight()
    const candidates = make(4)
    picker.pick(candidates, 0)
    for (const e of candidates) for (let t = 0; t < 5; t++) end(picker, send(picker, e, t), t + 1, 'failure')
    const out = candidates.filter((e) => picker.describe!(e, 10).state !== 'healthy')
    expect(out).toHaveLength(2)
    expect(candidates).toContain(picker.pick(candidates, 10))
  })
})
