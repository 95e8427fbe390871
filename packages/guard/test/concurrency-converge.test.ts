import { describe, expect, it } from 'vitest'
import { type ConcurrencyPermit, concurrencyLimiter } from '../src/concurrency/concurrency-limiter.js'
import type { LimitAlgorithm } from '../src/concurrency/limit-algorithm.js'
import { vegas } from '../src/concurrency/vegas.js'

/**
 * A synthetic server: `capacity` calls are served at once, each in `serviceMs`; the rest wait in its
 * queue, first in first out. Clients want more than it can serve (each shed call is retried at once), so
 * only the limiter in front decides how many are in flight. Time moves in 0.25 ms ticks of a fake clock.
 */
function simulate(algorithm: LimitAlgorithm, phases: { capacity: number; ms: number }[], serviceMs = 10) {
  let now = 0
  const limiter = concurrencyLimiter({ limit: algorithm, now: () => now })
  const serving: { permit: ConcurrencyPermit; doneAt: number }[] = []
  const queue: ConcurrencyPermit[] = []
  const report: { capacity: number; limit: number; meanRttMs: number; utilization: number }[] = []
  for (const phase of phases) {
    const end = now + phase.ms
    let rttSum = 0
    let calls = 0
    const admittedAt = new Map<ConcurrencyPermit, number>()
    for (; now < end; now += 0.25) {
      for (let i = serving.length - 1; i >= 0; i--) {
        const call = serving[i]!
        if (call.doneAt > now) continue
        serving.splice(i, 1)
        const started = admittedAt.get(call.permit)
        if (started !== undefined) {
          rttSum += now - started
          calls++
        }
        call.permit.release('success')
      }
      while (serving.length < phase.capacity && queue.length > 0) {
        serving.push({ permit: queue.shift()!, doneAt: now + serviceMs })
      }
      for (let permit = limiter.tryAcquire(); permit; permit = limiter.tryAcquire()) {
        admittedAt.set(permit, now)
        if (serving.length < phase.capacity) serving.push({ permit, doneAt: now + serviceMs })
        else queue.push(permit)
      }
    }
    report.push({
      capacity: phase.capacity,
      limit: limiter.limit,
      meanRttMs: rttSum / Math.max(1, calls),
      // Calls served over what the server could serve in the phase.
      utilization: (calls * serviceMs) / (phase.capacity * phase.ms),
    })
  }
  return report
}

describe('adaptive limits on a synthetic server whose capacity changes', () => {
  // Gradient2 is not here: it follows changes of the RTT against its own long average, not the RTT's
  // level, so a queue that builds a little per call (this server's) drifts that average up and goes
  // unseen until maxLimit (see the README); Vegas measures the queue against the no-load RTT.
  for (const [name, make] of [
    ['vegas', () => vegas({ initialLimit: 20, minLimit: 2, maxLimit: 400 })],
  ] as const) {
    it(`${name}: keeps the server busy and its queue short as its capacity falls to a quarter and returns`, () => {
      const [first, fallen, restored] = simulate(make(), [
        { capacity: 40, ms: 20_000 },
        { capacity: 10, ms: 20_000 },
        { capacity: 40, ms: 20_000 },
      ])
      // The server is kept busy (a limit far below its capacity would waste it)…
      for (const phase of [first!, fallen!, restored!]) expect(phase.utilization).toBeGreaterThan(0.65)
      // …and a call waits little: an unlimited queue in front of it would grow without bound.
      for (const phase of [first!, fallen!, restored!]) expect(phase.meanRttMs).toBeLessThan(25)
    })
  }
})
