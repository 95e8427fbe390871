import { describe, expect, it } from 'vitest'
import type { DrillEvent } from '../src/drills/drill-load.js'
import { gauge } from '../src/drills/overload/metrics-watch.js'
import { overloadFigures } from '../src/drills/overload/overload-figures.js'
import { switchTimes } from '../src/drills/overload/switch-times.js'

const spec = { endpoint: 'home', method: 'GET', path: '/' } as DrillEvent['spec']
const event = (intended: number, latencyMs: number, status: number): DrillEvent => ({
  intended,
  at: intended + latencyMs,
  spec,
  status,
  outcome: String(status),
})

describe('the overload drill figures', () => {
  const window = { start: 10_000, end: 20_000, recoveryEnd: 25_000 }

  it('counts goodput as 2xx answers within the SLO per second of the window, over the MST', () => {
    const events: DrillEvent[] = []
    // 10 s of window: 1,000 fast 200s, 500 slow 200s, 2,000 fast 503s; and noise outside the window.
    for (let i = 0; i < 1000; i++) events.push(event(10_000 + i * 10, 5, 200))
    for (let i = 0; i < 500; i++) events.push(event(10_000 + i * 20, 80, 200))
    for (let i = 0; i < 2000; i++) events.push(event(10_000 + i * 5, 1, 503))
    for (let i = 0; i < 100; i++) events.push(event(5_000 + i, 1, 200))
    const figures = overloadFigures(events, window, 200, 50)
    expect(figures.offered_rps).toBe(350)
    expect(figures.goodput_rps).toBe(100)
    expect(figures.goodput_ratio).toBe(0.5)
    expect(figures.admitted).toBe(1500)
    expect(figures.rejected).toBe(2000)
    expect(figures.rejected_p99_ms).toBeCloseTo(1, 0)
    expect(figures.admitted_p99_ms).toBeGreaterThanOrEqual(79)
    expect(figures.failed).toBe(0)
  })

  it('finds the recovery: the first second after the window from which every second meets the SLO', () => {
    const events: DrillEvent[] = []
    for (let second = 0; second < 5; second++) {
      for (let i = 0; i < 100; i++) {
        const slow = second < 2 || (second === 2 && i < 50)
        events.push(event(20_000 + second * 1000 + i * 10, slow ? 200 : 5, 200))
      }
    }
    expect(overloadFigures(events, window, 100, 50).recovery_s).toBe(3)
    events.push(event(24_500, 500, 200), event(24_501, 500, 502))
    expect(overloadFigures(events, window, 100, 50).recovery_s).toBeNull()
  })

  it("reads a policy's gauge from the exposition, and the switch's first on and off after the window opens", () => {
    const text =
      '# TYPE hundredfold_guard_degrade_on gauge\nhundredfold_guard_degrade_on{policy="antispam"} 1\n' +
      'hundredfold_guard_concurrency_limit{policy="http"} 42\n'
    expect(gauge(text, 'hundredfold_guard_degrade_on', 'antispam')).toBe(1)
    expect(gauge(text, 'hundredfold_guard_concurrency_limit', 'http')).toBe(42)
    expect(gauge(text, 'hundredfold_guard_concurrency_limit', 'other')).toBeUndefined()
    const sample = (at: number, on: number) => ({ at, antispamDegraded: on, concurrencyLimit: 10 })
    const samples = [sample(9_000, 1), sample(11_500, 0), sample(12_250, 1), sample(30_000, 0)]
    expect(switchTimes(samples, window)).toEqual({ on_s: 2.3, off_s: 20, moves: 1, reads: 4 })
    expect(switchTimes([sample(11_000, 0)], window)).toEqual({ on_s: null, off_s: null, moves: 0, reads: 1 })
  })
})
