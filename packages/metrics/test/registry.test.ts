import { describe, expect, it } from 'vitest'
import { contentType, Registry } from '../src/index.js'
import { thrown } from './caught.js'

describe('Registry.metrics', () => {
  it('renders the Prometheus text exposition format 0.0.4 (golden)', () => {
    const registry = new Registry()
    const labelNames = ['route', 'method'] as const
    const requests = registry.counter({ name: 'http_requests_total', help: 'HTTP requests.', labelNames })
    requests.labels({ route: '/posts', method: 'GET' }).inc()
    requests.labels({ route: '/posts', method: 'GET' }).inc(2)
    requests.labels({ route: '/posts/:id', method: 'DELETE' }).inc(0.5)
    registry.counter({ name: 'app_errors_total', help: 'Errors with a \\ backslash\nand a newline.' })
    let depth = 7
    registry.gauge({ name: 'queue_depth', help: 'Jobs waiting.', collect: (g) => g.set(depth) })
    const duration = registry.histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP latency.',
      labelNames: ['route'],
    })
    const posts = duration.labels({ route: '/posts' })
    for (let us = 1; us <= 1000; us++) posts.record(us)
    registry.histogram({ name: 'db_query_duration_seconds', help: 'Query latency.' })

    depth = 9
    expect(registry.metrics()).toBe(
      [
        '# HELP http_requests_total HTTP requests.',
        '# TYPE http_requests_total counter',
        'http_requests_total{route="/posts",method="GET"} 3',
        'http_requests_total{route="/posts/:id",method="DELETE"} 0.5',
        '# HELP app_errors_total Errors with a \\\\ backslash\\nand a newline.',
        '# TYPE app_errors_total counter',
        'app_errors_total 0',
        '# HELP queue_depth Jobs waiting.',
        '# TYPE queue_depth gauge',
        'queue_depth 9',
        '# HELP http_request_duration_seconds HTTP latency.',
        '# TYPE http_request_duration_seconds summary',
        'http_request_duration_seconds{route="/posts",quantile="0.5"} 0.0005',
        'http_request_duration_seconds{route="/posts",quantile="0.9"} 0.0009',
        'http_request_duration_seconds{route="/posts",quantile="0.99"} 0.00099',
        'http_request_duration_seconds{route="/posts",quantile="0.999"} 0.000999',
        'http_request_duration_seconds_sum{route="/posts"} 0.5005',
        'http_request_duration_seconds_count{route="/posts"} 1000',
        '# HELP db_query_duration_seconds Query latency.',
        '# TYPE db_query_duration_seconds summary',
        'db_query_duration_seconds{quantile="0.5"} NaN',
        'db_query_duration_seconds{quantile="0.9"} NaN',
        'db_query_duration_seconds{quantile="0.99"} NaN',
        'db_query_duration_seconds{quantile="0.999"} NaN',
        'db_query_duration_seconds_sum 0',
        'db_query_duration_seconds_count 0',
        '',
      ].join('\n'),
    )
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
  })

  it('renders an empty registry as an empty string and special values as Prometheus spells them', () => {
    const registry = new Registry()
    expect(registry.metrics()).toBe('')
    const g = registry.gauge({ name: 'g', help: 'G.', labelNames: ['v'] })
    g.labels({ v: 'inf' }).set(Number.POSITIVE_INFINITY)
    g.labels({ v: 'ninf' }).set(Number.NEGATIVE_INFINITY)
    g.labels({ v: 'nan' }).set(Number.NaN)
    expect(registry.metrics()).toBe(
      '# HELP g G.\n# TYPE g gauge\ng{v="inf"} +Inf\ng{v="ninf"} -Inf\ng{v="nan"} NaN\n',
    )
  })

  it('escapes backslash, double quote and newline in label values', () => {
    const registry = new Registry()
    const c = registry.counter({ name: 'c_total', help: 'C.', labelNames: ['path'] })
    c.labels({ path: 'C:\\dir\\"quoted"\nnext' }).inc()
    c.labels({ path: 'plain' }).inc()
    expect(registry.metrics()).toContain('c_total{path="C:\\\\dir\\\\\\"quoted\\"\\nnext"} 1\n')
    expect(registry.metrics()).toContain('c_total{path="plain"} 1\n')
  })

  it('lists metrics by name', () => {
    const registry = new Registry()
    const c = registry.counter({ name: 'a_total', help: 'A.' })
    expect(registry.get('a_total')).toBe(c)
    expect(registry.get('nope')).toBeUndefined()
  })

  it('rejects duplicate names, including the _sum and _count series of summaries', () => {
    const registry = new Registry()
    registry.counter({ name: 'x_total', help: 'X.' })
    expect(thrown(() => registry.gauge({ name: 'x_total', help: 'X.' }))).toMatchObject({
      code: 'E_DUPLICATE_METRIC',
      metric: 'x_total',
    })
    registry.histogram({ name: 'rpc_seconds', help: 'RPC.' })
    expect(thrown(() => registry.counter({ name: 'rpc_seconds_count', help: 'C.' })).code).toBe(
      'E_DUPLICATE_METRIC',
    )
    registry.gauge({ name: 'lag_sum', help: 'L.' })
    const err = thrown(() => registry.histogram({ name: 'lag', help: 'L.' }))
    expect(err).toMatchObject({ code: 'E_DUPLICATE_METRIC', metric: 'lag', value: 'lag_sum' })
    // A rejected metric leaves nothing behind.
    expect(registry.get('lag')).toBeUndefined()
    registry.counter({ name: 'lag_count', help: 'L.' })
  })

  it('wraps a throwing collect callback in E_COLLECT_FAILED with the cause', () => {
    const registry = new Registry()
    const boom = new Error('boom')
    registry.gauge({
      name: 'broken',
      help: 'Broken.',
      collect: () => {
        throw boom
      },
    })
    expect(thrown(() => registry.metrics())).toMatchObject({
      code: 'E_COLLECT_FAILED',
      metric: 'broken',
      cause: boom,
    })
  })
})
