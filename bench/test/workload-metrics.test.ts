import { describe, expect, it } from 'vitest'
import type { TargetSearch } from '../src/mst/search-target.js'
import { workloadMetrics } from '../src/workload-suite.js'

const search = (mst: Record<string, number>): TargetSearch => ({ mst, capped: {}, steps: [] })

describe('workloadMetrics', () => {
  it('gives the MST at each SLO as a share of the ceiling', () => {
    const metrics = workloadMetrics(
      { slosMs: [50, 10], rate: undefined },
      search({ 50: 1500, 10: 300 }),
      6000,
    )
    expect(metrics).toMatchObject({
      mst_rps_p99_50ms: 1500,
      mst_rps_p99_10ms: 300,
      ceiling_rps: 6000,
      mst_to_ceiling: 0.25,
      mst_to_ceiling_p99_10ms: 0.05,
    })
  })

  it('leaves a ratio null when its MST or the ceiling is unknown', () => {
    const metrics = workloadMetrics({ slosMs: [50, 10], rate: undefined }, search({ 50: 1500 }), null)
    expect(metrics['mst_to_ceiling']).toBeNull()
    expect(metrics['mst_to_ceiling_p99_10ms']).toBeNull()
  })
})
