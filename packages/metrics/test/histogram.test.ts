import fc from 'fast-check'
import { Float64Histogram } from 'hdr-histogram-js'
import { describe, expect, it } from 'vitest'
import { LatencyHistogram, MetricsError, Registry } from '../src/index.js'

/** The exact percentile of sorted data, by the same rule HDR uses: the smallest value ≥ p% of values. */
function exactPercentile(sorted: readonly number[], percentile: number): number {
  // The epsilon absorbs fp error such as 0.999 * 100000 = 99900.00000000001.
  const rank = Math.max(Math.ceil((percentile / 100) * sorted.length - 1e-9), 1)
  return sorted[rank - 1]!
}

describe('LatencyHistogram', () => {
  it('answers percentiles of known data within 0.1% (3 significant digits)', () => {
    const h = new LatencyHistogram()
    const values: number[] = []
    // A long-tailed mix from 50 µs to 2 s.
    for (let i = 0; i < 100_000; i++) values.push(Math.round(50 * Math.exp((i % 1000) / 94.2)))
    for (const v of values) h.record(v)
    values.sort((a, b) => a - b)
    for (const p of [0, 1, 25, 50, 90, 99, 99.9, 99.99, 100]) {
      const exact = exactPercentile(values, p)
      expect(Math.abs(h.percentileUs(p) - exact)).toBeLessThanOrEqual(exact * 0.001)
    }
    expect(h.count).toBe(values.length)
    expect(h.sumUs).toBe(values.reduce((a, b) => a + b, 0))
    expect(h.maxUs).toBe(values.at(-1))
    expect(h.meanUs).toBeCloseTo(h.sumUs / values.length, 9)
  })

  it('is exact below 2048 µs and reports a snapshot in milliseconds', () => {
    const h = new LatencyHistogram()
    for (let us = 1; us <= 1000; us++) h.record(us)
    expect(h.percentilesUs([99.9, 50, 90, 99])).toEqual([999, 500, 900, 990])
    expect(h.snapshot()).toEqual({
      count: 1000,
      p50: 0.5,
      p90: 0.9,
      p99: 0.99,
      p999: 0.999,
      max: 1,
      mean: 0.5005,
    })
  })

  it('matches HdrHistogram getValueAtPercentile, capped at the exact max (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5_000_000 }), { minLength: 1, maxLength: 300 }),
        fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 6 }),
        (values, percentiles) => {
          const ours = new LatencyHistogram()
          const reference = new Float64Histogram(1, 3_600_000_000, 3)
          for (const v of values) {
            ours.record(v)
            reference.recordValue(v)
          }
          const max = Math.max(...values)
          const expected = percentiles.map((p) => Math.min(reference.getValueAtPercentile(p), max))
          expect(ours.percentilesUs(percentiles)).toEqual(expected)
        },
      ),
    )
  })

  it('is NaN when empty, and reset forgets everything', () => {
    const h = new LatencyHistogram()
    expect(h.percentileUs(50)).toBeNaN()
    expect(h.snapshot()).toEqual({
      count: 0,
      p50: Number.NaN,
      p90: Number.NaN,
      p99: Number.NaN,
      p999: Number.NaN,
      max: Number.NaN,
      mean: Number.NaN,
    })
    h.record(100)
    h.reset()
    expect(h.count).toBe(0)
    expect(h.sumUs).toBe(0)
    expect(h.maxUs).toBeNaN()
    h.record(7)
    expect(h.percentileUs(100)).toBe(7)
  })

  it('counts negative and NaN values as 0 and clamps values above highestUs, keeping sum and max exact', () => {
    const h = new LatencyHistogram({ highestUs: 10_000 })
    h.record(-5)
    h.record(Number.NaN)
    h.record(50_000)
    expect(h.count).toBe(3)
    expect(h.percentileUs(0)).toBe(0)
    expect(h.percentileUs(50)).toBe(0)
    expect(h.percentileUs(100)).toBeGreaterThanOrEqual(10_000)
    expect(h.percentileUs(100)).toBeLessThanOrEqual(10_010)
    expect(h.sumUs).toBe(50_000)
    expect(h.maxUs).toBe(50_000)
    h.record(Number.POSITIVE_INFINITY)
    expect(h.maxUs).toBe(50_000)
    expect(h.sumUs).toBe(60_000)
  })

  it('records milliseconds and the time since an hrtime reading', () => {
    const h = new LatencyHistogram()
    h.recordMs(1.5)
    expect(h.maxUs).toBe(1500)
    const start = process.hrtime.bigint() - 2_000_000n // 2 ms ago
    const took = h.recordSince(start)
    expect(took).toBeGreaterThanOrEqual(2000)
    expect(took).toBeLessThan(1_000_000)
    expect(h.count).toBe(2)
    expect(h.maxUs).toBe(took)
  })

  it.each([
    [{ lowestUs: 0 }, 'options.lowestUs must be an integer ≥ 1'],
    [{ lowestUs: 1.5 }, 'options.lowestUs must be an integer ≥ 1'],
    [{ lowestUs: 10, highestUs: 15 }, 'options.highestUs must be an integer ≥ 2 × options.lowestUs'],
    [{ significantDigits: 0 }, 'options.significantDigits must be an integer in 1..5'],
    [{ significantDigits: 6 }, 'options.significantDigits must be an integer in 1..5'],
  ])('rejects %o', (options, message) => {
    expect(() => new LatencyHistogram(options)).toThrow(message)
    try {
      new LatencyHistogram(options)
    } catch (err) {
      expect(err).toBeInstanceOf(MetricsError)
      expect(err).toMatchObject({ code: 'E_INVALID_OPTION', option: message.split(' ')[0] })
    }
  })
})

describe('Histogram metric', () => {
  it('validates its range options eagerly and passes them to every child', () => {
    const registry = new Registry()
    expect(() => registry.histogram({ name: 'h', help: 'H.', significantDigits: 9 })).toThrow(MetricsError)
    expect(registry.get('h')).toBeUndefined()
    const h = registry.histogram({ name: 'h', help: 'H.', labelNames: ['op'], highestUs: 1000 })
    const child = h.labels({ op: 'read' })
    child.record(5000)
    expect(child.percentileUs(100)).toBeLessThanOrEqual(1001)
  })

  it('records through the shortcuts of an unlabelled histogram', () => {
    const registry = new Registry()
    const h = registry.histogram({ name: 'job_seconds', help: 'Jobs.' })
    h.record(1000)
    h.recordMs(3)
    h.recordSince(process.hrtime.bigint())
    expect(h.snapshot().count).toBe(3)
    expect(registry.metrics()).toContain('job_seconds_count 3\n')
    expect(registry.metrics()).toContain('job_seconds{quantile="0.5"} 0.001\n')
  })
})
