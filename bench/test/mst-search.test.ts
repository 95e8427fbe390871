import { describe, expect, it } from 'vitest'
import { type ProbeOutcome, searchMst, sustains } from '../src/mst/search.js'
import { createRandom } from '../src/random.js'

/**
 * A simulated server: an M/M/1 queue with capacity `capacity` req/s plus a fixed `baseMs`, so its p99 is
 * baseMs + ln(100) / (capacity - rate) s below capacity, and it completes only `capacity / rate` above it.
 * The MST at SLO s is therefore capacity - ln(100) / (s - baseMs) * 1000, known in closed form.
 */
function mm1(capacity: number, baseMs: number, noise = 0, seed = 1) {
  const random = createRandom(seed)
  const probe = async (rate: number): Promise<ProbeOutcome> => {
    const jitter = 1 + (random.next() * 2 - 1) * noise
    if (rate >= capacity) {
      return {
        offered_rps: rate,
        completion_ratio: capacity / rate,
        error_rate: 0,
        latency: { p99_ms: 5000 },
      }
    }
    const p99 = (baseMs + (Math.log(100) / (capacity - rate)) * 1000) * jitter
    return { offered_rps: rate, completion_ratio: 1, error_rate: 0, latency: { p99_ms: p99 } }
  }
  const truth = (sloMs: number): number => capacity - (Math.log(100) / (sloMs - baseMs)) * 1000
  return { probe, truth }
}

const search = {
  slosMs: [50, 10],
  startRate: 100,
  growth: 2,
  minRate: 10,
  maxRate: 1_000_000,
  precision: 0.02,
  maxSteps: 30,
}
const signal = new AbortController().signal

describe('searchMst', () => {
  it.each([1000, 2500, 7300, 42_000])(
    'finds the known MST of a server of capacity %i at both SLOs',
    async (capacity) => {
      const server = mm1(capacity, 2)
      const { mst, capped } = await searchMst(server.probe, search, signal)
      for (const slo of [50, 10]) {
        const truth = server.truth(slo)
        const found = mst[String(slo)] ?? 0
        expect(found).toBeLessThanOrEqual(truth)
        expect(found).toBeGreaterThanOrEqual(truth * 0.95)
        expect(capped[String(slo)]).toBe(false)
      }
    },
  )

  it('stays within 10% when the latency it observes is noisy (±5%)', async () => {
    const server = mm1(3000, 2, 0.05, 7)
    const { mst } = await searchMst(server.probe, search, signal)
    expect(Math.abs((mst['50'] ?? 0) / server.truth(50) - 1)).toBeLessThan(0.1)
    expect(Math.abs((mst['10'] ?? 0) / server.truth(10) - 1)).toBeLessThan(0.1)
  })

  it('rejects rates where the server errors or falls behind, whatever the latency', async () => {
    const probe = async (rate: number): Promise<ProbeOutcome> => ({
      offered_rps: rate,
      completion_ratio: rate > 800 ? 0.98 : 1,
      error_rate: rate > 400 ? 0.002 : 0,
      latency: { p99_ms: 1 },
    })
    const { mst } = await searchMst(probe, search, signal)
    expect(mst['50']).toBeGreaterThanOrEqual(380)
    expect(mst['50']).toBeLessThanOrEqual(400)
  })

  it('reports 0 when even the minimum rate fails, and flags a cap it could not exceed', async () => {
    const never = async (rate: number): Promise<ProbeOutcome> => ({
      offered_rps: rate,
      completion_ratio: 1,
      error_rate: 0,
      latency: { p99_ms: 999 },
    })
    expect((await searchMst(never, search, signal)).mst['50']).toBe(0)
    const always = async (rate: number): Promise<ProbeOutcome> => ({
      offered_rps: rate,
      completion_ratio: 1,
      error_rate: 0,
      latency: { p99_ms: 1 },
    })
    const result = await searchMst(always, { ...search, maxRate: 5000 }, signal)
    expect(result.mst['50']).toBe(5000)
    expect(result.capped['50']).toBe(true)
  })

  it('never runs more than maxSteps steps and reuses steps across SLOs', async () => {
    let calls = 0
    const server = mm1(1000, 2)
    const counted = async (rate: number) => {
      calls++
      return server.probe(rate)
    }
    const result = await searchMst(counted, { ...search, maxSteps: 5 }, signal)
    expect(calls).toBe(5)
    expect(result.steps).toHaveLength(5)
    expect(new Set(result.steps.map((s) => s.rate)).size).toBe(5)
  })

  it('judges a step by all three criteria', () => {
    const ok = { offered_rps: 100, completion_ratio: 0.995, error_rate: 0.0005, latency: { p99_ms: 49 } }
    expect(sustains(ok, 50)).toBe(true)
    expect(sustains(ok, 10)).toBe(false)
    expect(sustains({ ...ok, completion_ratio: 0.98 }, 50)).toBe(false)
    expect(sustains({ ...ok, error_rate: 0.001 }, 50)).toBe(false)
  })
})
