import { describe, expect, it } from 'vitest'
import { latencyBuckets, latencyHistogramDefaults, MetricsError, Registry } from '../src/index.js'
import { thrown } from './caught.js'
import { parseExposition, sumHistograms } from './exposition.js'

describe('Histogram metric with buckets', () => {
  it('renders a bucketed histogram under its name and the HDR quantiles as <name>_summary (golden)', () => {
    const registry = new Registry()
    const http = {
      name: 'http_request_duration_seconds',
      help: 'HTTP latency.',
      labelNames: ['route'],
    } as const
    const h = registry.histogram({ ...http, buckets: [0.0005, 0.001] })
    const posts = h.labels({ route: '/posts' })
    for (let us = 1; us <= 1000; us++) posts.record(us)
    posts.recordMs(2)
    const text = registry.metrics()
    expect(text).toBe(
      [
        '# HELP http_request_duration_seconds HTTP latency.',
        '# TYPE http_request_duration_seconds histogram',
        'http_request_duration_seconds_bucket{route="/posts",le="0.0005"} 500',
        'http_request_duration_seconds_bucket{route="/posts",le="0.001"} 1000',
        'http_request_duration_seconds_bucket{route="/posts",le="+Inf"} 1001',
        'http_request_duration_seconds_sum{route="/posts"} 0.5025',
        'http_request_duration_seconds_count{route="/posts"} 1001',
        '# HELP http_request_duration_seconds_summary HTTP latency.',
        '# TYPE http_request_duration_seconds_summary summary',
        'http_request_duration_seconds_summary{route="/posts",quantile="0.5"} 0.000501',
        'http_request_duration_seconds_summary{route="/posts",quantile="0.9"} 0.000901',
        'http_request_duration_seconds_summary{route="/posts",quantile="0.99"} 0.000991',
        'http_request_duration_seconds_summary{route="/posts",quantile="0.999"} 0.001',
        'http_request_duration_seconds_summary_sum{route="/posts"} 0.5025',
        'http_request_duration_seconds_summary_count{route="/posts"} 1001',
        '',
      ].join('\n'),
    )
    const families = parseExposition(text) // one TYPE per family, cumulative buckets, +Inf = count
    expect([...families.keys()]).toEqual([
      'http_request_duration_seconds',
      'http_request_duration_seconds_summary',
    ])
    expect(h.type).toBe('histogram')
    expect(h.summaryName).toBe('http_request_duration_seconds_summary')
  })

  it('takes latencyBuckets for `buckets: true` and stays a summary alone by default', () => {
    const registry = new Registry()
    expect(registry.histogram({ name: 'a_seconds', help: 'A.', buckets: true }).buckets).toBe(latencyBuckets)
    const plain = registry.histogram({ name: 'b_seconds', help: 'B.' })
    expect(plain).toMatchObject({ type: 'summary', buckets: undefined, summaryName: 'b_seconds' })
    const families = parseExposition(registry.metrics())
    expect([...families].map(([name, f]) => [name, f.type])).toEqual([
      ['a_seconds', 'histogram'],
      ['a_seconds_summary', 'summary'],
      ['b_seconds', 'summary'],
    ])
    expect(latencyHistogramDefaults).toEqual({ lowestUs: 1, highestUs: 3_600_000_000, significantDigits: 3 })
  })

  it('buckets what the HDR side counts: negative and NaN as 0, +Inf as highestUs; reset clears both', () => {
    const registry = new Registry()
    const h = registry.histogram({ name: 'h', help: 'H.', highestUs: 10_000_000, buckets: [0.001, 5, 20] })
    h.record(-5)
    h.record(Number.NaN)
    h.record(Number.POSITIVE_INFINITY) // counted as highestUs: 10 s
    h.record(30_000_000) // 30 s: above every bound
    const buckets = () =>
      parseExposition(registry.metrics())
        .get('h')!
        .samples.map((s) => s.value)
    expect(buckets()).toEqual([2, 2, 3, 4, 40, 4])
    h.labels({}).reset()
    expect(buckets()).toEqual([0, 0, 0, 0, 0, 0])
    expect(h.snapshot().count).toBe(0)
  })

  it('sums across two processes, where the quantiles cannot', () => {
    const processes = [new Registry(), new Registry()]
    const histograms = processes.map((r) =>
      r.histogram({ name: 'req_seconds', help: 'R.', labelNames: ['route'], buckets: [0.001, 0.1] }),
    )
    for (let i = 0; i < 30; i++) histograms[0]!.labels({ route: '/a' }).recordMs(0.5)
    for (let i = 0; i < 10; i++) histograms[1]!.labels({ route: '/a' }).recordMs(50)
    const summed = sumHistograms(
      processes.map((r) => r.metrics()),
      'req_seconds',
    )
    const key = (le: string) =>
      `req_seconds_bucket${JSON.stringify([
        ['le', le],
        ['route', '/a'],
      ])}`
    expect([key('0.001'), key('0.1'), key('+Inf')].map((k) => summed.get(k))).toEqual([30, 40, 40])
    expect(summed.get(`req_seconds_count${JSON.stringify([['route', '/a']])}`)).toBe(40)
  })

  it.each([
    ['yes' as never, 'options.buckets must be true, false or an array of bucket upper bounds'],
    [[], 'options.buckets must hold at least one upper bound'],
    [
      [1, 0.5],
      'options.buckets must be in increasing order: options.buckets[1] (0.5) is not above options.buckets[0] (1)',
    ],
    [
      [0.1, Number.POSITIVE_INFINITY],
      'options.buckets[1] must be a finite number > 0 (+Inf is always added)',
    ],
  ])('rejects buckets %o with E_INVALID_OPTION and registers nothing', (buckets, message) => {
    const registry = new Registry()
    const err = thrown(() => registry.histogram({ name: 'h_seconds', help: 'H.', buckets }))
    expect([err.code, err.option, err.metric, err.message]).toEqual([
      'E_INVALID_OPTION',
      'options.buckets',
      'h_seconds',
      message,
    ])
    expect(registry.get('h_seconds')).toBeUndefined()
  })

  it('reserves `le` and every name it renders, the summary’s included', () => {
    const registry = new Registry()
    expect(() => registry.histogram({ name: 'h', help: 'H.', labelNames: ['le'] })).toThrow(MetricsError)
    registry.histogram({ name: 'rpc_seconds', help: 'R.', buckets: true })
    for (const name of ['rpc_seconds_bucket', 'rpc_seconds_summary', 'rpc_seconds_summary_count']) {
      expect(() => registry.counter({ name, help: 'C.' })).toThrow(
        expect.objectContaining({ code: 'E_DUPLICATE_METRIC' }),
      )
    }
    registry.gauge({ name: 'lag_summary_sum', help: 'G.' })
    expect(() => registry.histogram({ name: 'lag', help: 'L.', buckets: true })).toThrow(
      expect.objectContaining({ code: 'E_DUPLICATE_METRIC', value: 'lag_summary_sum' }),
    )
    // Without buckets, `lag` renders no `_summary`, so it is free.
    registry.histogram({ name: 'lag', help: 'L.' })
  })
})
