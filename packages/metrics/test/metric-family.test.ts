import { describe, expect, it } from 'vitest'
import { Registry } from '../src/index.js'
import { thrown } from './caught.js'

describe('metric and label names', () => {
  it.each(['', '1abc', 'a-b', 'a b', 'é', 'a.b'])('rejects metric name %j', (name) => {
    const err = thrown(() => new Registry().counter({ name, help: 'X.' }))
    expect(err.code).toBe('E_INVALID_NAME')
    expect(err.message).toBe('options.name must match [a-zA-Z_:][a-zA-Z0-9_:]*')
  })

  it.each(['a', '_a', 'a:b', 'http_requests_total', ':colon'])('accepts metric name %j', (name) => {
    expect(new Registry().counter({ name, help: 'X.' }).name).toBe(name)
  })

  it.each(['', '1a', 'a-b', 'a:b', '__reserved', 'é'])('rejects label name %j', (label) => {
    const err = thrown(() => new Registry().counter({ name: 'x', help: 'X.', labelNames: [label] }))
    expect(err).toMatchObject({ code: 'E_INVALID_NAME', metric: 'x', label })
  })

  it('rejects repeated label names and `quantile` on histograms', () => {
    const registry = new Registry()
    expect(thrown(() => registry.gauge({ name: 'g', help: 'G.', labelNames: ['a', 'a'] })).code).toBe(
      'E_INVALID_NAME',
    )
    const err = thrown(() => registry.histogram({ name: 'h', help: 'H.', labelNames: ['quantile'] }))
    expect(err).toMatchObject({ code: 'E_INVALID_NAME', label: 'quantile' })
    expect(registry.counter({ name: 'c', help: 'C.', labelNames: ['quantile'] }).labelNames).toEqual([
      'quantile',
    ])
  })

  it('rejects a missing help, bad labelNames and a non-function collect', () => {
    const registry = new Registry()
    expect(thrown(() => registry.counter({ name: 'a', help: '' }))).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.help',
    })
    expect(thrown(() => registry.counter({ name: 'a', help: 'A.', labelNames: 'x' as never }))).toMatchObject(
      {
        code: 'E_INVALID_OPTION',
        option: 'options.labelNames',
      },
    )
    expect(thrown(() => registry.gauge({ name: 'a', help: 'A.', collect: 1 as never }))).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.collect',
    })
    expect(thrown(() => registry.counter(undefined as never)).code).toBe('E_INVALID_OPTION')
  })
})

describe('labels', () => {
  const registry = new Registry()
  const c = registry.counter({ name: 'req_total', help: 'R.', labelNames: ['route', 'status'] })

  it('returns one child per label set, numbers and strings alike', () => {
    const a = c.labels({ route: '/x', status: 200 })
    expect(c.labels({ route: '/x', status: '200' })).toBe(a)
    expect(c.labels({ status: 200, route: '/x' })).toBe(a)
    expect(c.labels({ route: '/x', status: 500 })).not.toBe(a)
    expect(c.labels({ route: '/y', status: 200 })).not.toBe(a)
  })

  it.each([
    [{ route: '/x' }, 'req_total takes labels route, status: label status is missing', 'status'],
    [
      { route: '/x', status: 200, extra: 1 },
      'req_total takes labels route, status: label extra is unknown',
      'extra',
    ],
    [{ route: '/x', stats: 200 }, 'req_total takes labels route, status: label status is missing', 'status'],
    [
      { route: null, status: 200 },
      'req_total takes labels route, status: label route must be a string or number',
      'route',
    ],
    [
      { route: true, status: 200 },
      'req_total takes labels route, status: label route must be a string or number',
      'route',
    ],
  ])('rejects %o', (values, message, label) => {
    const err = thrown(() => c.labels(values as never))
    expect(err).toMatchObject({ code: 'E_INVALID_LABELS', metric: 'req_total', label, message })
  })

  it('rejects a non-object', () => {
    expect(thrown(() => c.labels(null as never)).code).toBe('E_INVALID_LABELS')
  })

  it('makes a labelled family use .labels() and an unlabelled one refuse labels', () => {
    expect(thrown(() => c.inc())).toMatchObject({ code: 'E_INVALID_LABELS', metric: 'req_total' })
    const plain = registry.counter({ name: 'plain_total', help: 'P.' })
    expect(plain.labels({})).toBe(plain.labels({}))
    plain.labels({}).inc()
    expect(plain.value).toBe(1)
    expect(thrown(() => plain.labels({ a: 1 } as never)).code).toBe('E_INVALID_LABELS')
  })

  it('renders children in creation order with labels in declared order', () => {
    const r = new Registry()
    const g = r.gauge({ name: 'g', help: 'G.', labelNames: ['b', 'a'] })
    g.labels({ a: 1, b: 2 }).set(1)
    g.labels({ a: 0, b: 2 }).set(2)
    expect(r.metrics()).toBe('# HELP g G.\n# TYPE g gauge\ng{b="2",a="1"} 1\ng{b="2",a="0"} 2\n')
  })
})

describe('Counter', () => {
  it('adds and rejects negative, NaN and infinite amounts', () => {
    const c = new Registry().counter({ name: 'c_total', help: 'C.' })
    c.inc()
    c.inc(2.5)
    expect(c.value).toBe(3.5)
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(thrown(() => c.inc(bad))).toMatchObject({ code: 'E_INVALID_VALUE', metric: 'c_total' })
    }
    expect(c.value).toBe(3.5)
  })
})

describe('Gauge', () => {
  it('sets, increments and decrements', () => {
    const g = new Registry().gauge({ name: 'g', help: 'G.' })
    g.set(10)
    g.inc()
    g.dec(3)
    g.inc(0.5)
    expect(g.value).toBe(8.5)
    expect(thrown(() => g.set('1' as never)).code).toBe('E_INVALID_VALUE')
  })

  it('reads live values through collect callbacks at every scrape', () => {
    const registry = new Registry()
    const pools = new Map([
      ['primary', { idle: 3 }],
      ['replica', { idle: 5 }],
    ])
    let calls = 0
    registry.gauge({
      name: 'pool_idle',
      help: 'Idle connections.',
      labelNames: ['pool'],
      collect: (g) => {
        calls++
        for (const [pool, stats] of pools) g.labels({ pool }).set(stats.idle)
      },
    })
    expect(calls).toBe(0)
    expect(registry.metrics()).toContain('pool_idle{pool="primary"} 3\npool_idle{pool="replica"} 5\n')
    pools.get('primary')!.idle = 0
    expect(registry.metrics()).toContain('pool_idle{pool="primary"} 0\n')
    expect(calls).toBe(2)
  })
})
