import { describe, expect, it } from 'vitest'
import { placeRuleLabels, textWidth } from '../src/report/chart-labels.js'
import { latencyChart } from '../src/report/charts.js'
import { coresTable } from '../src/report/cores-table.js'
import type { ResultsDocument, StepRecord } from '../src/results.js'

describe('rule labels', () => {
  it('puts labels of nearby rules on different rows', () => {
    const placed = placeRuleLabels(
      [
        { x: 100, text: 'MST p99≤50ms: 233/s' },
        { x: 104, text: 'MST p99≤10ms: 220/s' },
        { x: 400, text: 'far away' },
      ],
      { left: 72, right: 600 },
      11,
    )
    expect(placed.map((p) => p.row)).toEqual([0, 1, 0])
  })

  it('keeps a label near the right edge inside the plot', () => {
    const [label] = placeRuleLabels(
      [{ x: 590, text: 'ceiling p99≤50ms: 7,431/s' }],
      { left: 72, right: 600 },
      11,
    )
    expect(label!.from + textWidth(label!.text, 11)).toBeLessThanOrEqual(600)
    expect(label!.from).toBeGreaterThanOrEqual(72)
  })
})

const step = (phase: string, rate: number, p99: number, extra: Partial<StepRecord> = {}): StepRecord =>
  ({
    phase,
    rate,
    sustains: {},
    offered_rps: rate,
    achieved_rps: rate,
    completion_ratio: 1,
    error_rate: 0,
    errors_by_status: {},
    latency: { p50_ms: p99 / 4, p90_ms: p99 / 2, p99_ms: p99, p999_ms: p99 * 1.5, max_ms: p99 * 2 },
    endpoints: {},
    ...extra,
  }) as StepRecord

const doc = (steps: StepRecord[], metrics: ResultsDocument['metrics']): ResultsDocument => ({
  suite: 'dsb-mixed',
  description: '',
  date: '',
  command: '',
  machine: { cores: 2, cpu_model: 'x', node: 'v20', platform: 'linux', memory_gb: 1 },
  options: { slosMs: [50, 10] },
  metrics,
  steps,
  notes: [],
  extra: {},
})

describe('latency chart', () => {
  it('draws the ceiling in its own panel and an MST of 0 as a note, not a rule at 0', () => {
    const svg = latencyChart(
      doc(
        [step('ceiling', 5000, 6), step('ceiling', 10_000, 900), step('mst', 100, 20), step('mst', 200, 60)],
        {
          mst_rps_p99_50ms: 100,
          mst_rps_p99_10ms: 0,
          ceiling_rps: 5000,
        },
      ),
    )
    expect(svg).toContain('GET /ceiling (same server)')
    expect(svg).toContain('MST p99≤50ms: 100/s')
    expect(svg).toContain('MST p99≤10ms: no rate')
    // The workload panel's x axis ends near its own steps (250), not at the ceiling's 10k.
    expect(svg).toMatch(/>250</)
  })
})

describe('where the cores go', () => {
  it('has one row per sampled step, and nothing when no step was sampled', () => {
    const figures = {
      server: 800,
      consumers: null,
      proxy: null,
      postgres: 600,
      redis: null,
      nats: null,
      sender: 150,
      other: 50,
      total: 1600,
    }
    const cores = {
      server: 0.4,
      consumers: null,
      proxy: null,
      postgres: 0.3,
      redis: null,
      nats: null,
      sender: 0.08,
      other: 0.02,
      total: 0.8,
    }
    const sampled = step('mst', 500, 20, {
      cpu_us_per_request: figures,
      cpu_cores: cores,
      cpu_requests: 4000,
      server_rss_mb: 310.5,
      server_heap_used_mb: 80.1,
      server_loop_delay_p99_ms: 12.3,
    })
    const html = coresTable(doc([step('mst', 250, 10), sampled], {}))
    expect(html).toContain('Where the cores go')
    expect(html.match(/<tr><td>mst<\/td>/g)).toHaveLength(1)
    expect(html).toContain('1,600 <small>(0.80)</small>')
    expect(html).toContain('<td>310.5</td>')
    expect(coresTable(doc([step('mst', 250, 10)], {}))).toBe('')
  })
})
