import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  bucketHistogramDefaults,
  exponentialBuckets,
  latencyBuckets,
  linearBuckets,
  Registry,
} from '../src/index.js'
import { thrown } from './caught.js'
import { parseExposition, sumHistograms } from './exposition.js'

describe('BucketHistogram exposition', () => {
  it('renders cumulative buckets up to +Inf, then _sum and _count, per label set (golden)', () => {
    const registry = new Registry()
    const rpc = { name: 'rpc_duration_seconds', help: 'RPC latency.', labelNames: ['method'] } as const
    const h = registry.bucketHistogram({ ...rpc, buckets: [0.01, 0.1, 1] })
    const get = h.labels({ method: 'get' })
    for (const seconds of [0.005, 0.01, 0.05, 0.5, 2]) get.observe(seconds) // 0.01 is `le` 0.01: inclusive
    h.labels({ method: 'put' })
    expect(registry.metrics()).toBe(
      [
        '# HELP rpc_duration_seconds RPC latency.',
        '# TYPE rpc_duration_seconds histogram',
        'rpc_duration_seconds_bucket{method="get",le="0.01"} 2',
        'rpc_duration_seconds_bucket{method="get",le="0.1"} 3',
        'rpc_duration_seconds_bucket{method="get",le="1"} 4',
        'rpc_duration_seconds_bucket{method="get",le="+Inf"} 5',
        'rpc_duration_seconds_sum{method="get"} 2.565',
        'rpc_duration_seconds_count{method="get"} 5',
        'rpc_duration_seconds_bucket{method="put",le="0.01"} 0',
        'rpc_duration_seconds_bucket{method="put",le="0.1"} 0',
        'rpc_duration_seconds_bucket{method="put",le="1"} 0',
        'rpc_duration_seconds_bucket{method="put",le="+Inf"} 0',
        'rpc_duration_seconds_sum{method="put"} 0',
        'rpc_duration_seconds_count{method="put"} 0',
        '',
      ].join('\n'),
    )
    expect(get.cumulativeCounts()).toEqual([2, 3, 4, 5])
    expect(get.count).toBe(5)
    expect(get.sum).toBeCloseTo(2.565, 12)
  })

  it('defaults to latencyBuckets, 0.5 ms to 10 s, and an unlabelled family has the child methods', () => {
    const registry = new Registry()
    const h = registry.bucketHistogram({ name: 'job_seconds', help: 'Jobs.' })
    expect(h.buckets).toEqual(latencyBuckets)
    expect(bucketHistogramDefaults.buckets).toBe(latencyBuckets)
    expect(latencyBuckets[0]).toBe(0.0005)
    expect(latencyBuckets.at(-1)).toBe(10)
    h.observe(0.0004)
    h.observe(20)
    expect(h.count).toBe(2)
    expect(h.sum).toBe(20.0004)
    expect(h.cumulativeCounts()).toEqual([...latencyBuckets.map(() => 1), 2])
    const family = parseExposition(registry.metrics()).get('job_seconds')!
    expect(family.type).toBe('histogram')
    expect(family.samples.filter((s) => s.name === 'job_seconds_bucket')).toHaveLength(
      latencyBuckets.length + 1,
    )
  })

  it('keeps cumulative counts, +Inf = count and the exact sum for any observations (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { maxLength: 200 }),
        fc.uniqueArray(fc.double({ min: 0.0001, max: 15, noNaN: true }), { minLength: 1, maxLength: 12 }),
        (values, bounds) => {
          const buckets = [...bounds].sort((a, b) => a - b)
          const registry = new Registry()
          const h = registry.bucketHistogram({ name: 'x', help: 'X.', buckets })
          for (const v of values) h.observe(v)
          // The oracle: a bucket counts every value at or below its bound.
          const expected = [...buckets.map((le) => values.filter((v) => v <= le).length), values.length]
          expect(h.cumulativeCounts()).toEqual(expected)
          const family = parseExposition(registry.metrics()).get('x')! // throws if not cumulative etc.
          const rendered = family.samples.filter((s) => s.name === 'x_bucket').map((s) => s.value)
          expect(rendered).toEqual(expected)
          expect(family.samples.find((s) => s.name === 'x_count')!.value).toBe(values.length)
        },
      ),
    )
  })
})

describe('aggregation across processes', () => {
  it('adds up: the bucket counts of two registries sum to those of one that saw every value (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            process: fc.constantFrom(0, 1),
            route: fc.constantFrom('/a', '/b'),
            seconds: fc.double({ min: 0, max: 12, noNaN: true }),
          }),
          { maxLength: 300 },
        ),
        (observations) => {
          const make = () => {
            const registry = new Registry()
            const h = registry.bucketHistogram({ name: 'req_seconds', help: 'R.', labelNames: ['route'] })
            h.labels({ route: '/a' })
            h.labels({ route: '/b' })
            return { registry, h }
          }
          const processes = [make(), make()]
          const oracle = make()
          for (const { process, route, seconds } of observations) {
            processes[process]!.h.labels({ route }).observe(seconds)
            oracle.h.labels({ route }).observe(seconds)
          }
          const summed = sumHistograms(
            processes.map((p) => p.registry.metrics()),
            'req_seconds',
          )
          const single = sumHistograms([oracle.registry.metrics()], 'req_seconds')
          expect([...summed.keys()]).toEqual([...single.keys()])
          for (const [key, value] of single) {
            if (key.startsWith('req_seconds_sum')) expect(summed.get(key)).toBeCloseTo(value, 9)
            else expect(summed.get(key)).toBe(value)
          }
        },
      ),
    )
  })

  it('answers a fleet-wide percentile from the summed buckets that no single process holds', () => {
    const processes = [new Registry(), new Registry()]
    const [fast, slow] = processes.map((r) =>
      r.bucketHistogram({ name: 'req_seconds', help: 'R.', buckets: [0.001, 0.01, 0.1, 1] }),
    )
    for (let i = 0; i < 90; i++) fast!.observe(0.0008) // 90 fast requests on one instance
    for (let i = 0; i < 10; i++) slow!.observe(0.5) // 10 slow ones on the other
    const summed = sumHistograms(
      processes.map((r) => r.metrics()),
      'req_seconds',
    )
    const cumulative = ['0.001', '0.01', '0.1', '1', '+Inf'].map(
      (le) => summed.get(`req_seconds_bucket${JSON.stringify([['le', le]])}`)!,
    )
    expect(cumulative).toEqual([90, 90, 90, 100, 100])
    // histogram_quantile(0.95): rank 95 falls in the (0.1, 1] bucket, which only the slow instance filled.
    const rank = 0.95 * cumulative.at(-1)!
    expect(cumulative.findIndex((c) => c >= rank)).toBe(3)
  })
})

describe('BucketHistogram options and values', () => {
  it.each([
    ['a number', 0.5 as never, 'options.buckets must be an array of bucket upper bounds'],
    ['empty', [], 'options.buckets must hold at least one upper bound'],
    ['zero', [0, 1], 'options.buckets[0] must be a finite number > 0 (+Inf is always added)'],
    ['negative', [-1, 1], 'options.buckets[0] must be a finite number > 0 (+Inf is always added)'],
    ['NaN', [0.1, Number.NaN], 'options.buckets[1] must be a finite number > 0 (+Inf is always added)'],
    [
      '+Inf',
      [0.1, Number.POSITIVE_INFINITY],
      'options.buckets[1] must be a finite number > 0 (+Inf is always added)',
    ],
    [
      'a string',
      [0.1, '1' as never],
      'options.buckets[1] must be a finite number > 0 (+Inf is always added)',
    ],
    [
      'unsorted',
      [0.1, 0.5, 0.25],
      'options.buckets must be in increasing order: options.buckets[2] (0.25) is not above options.buckets[1] (0.5)',
    ],
    [
      'repeated',
      [0.1, 0.1],
      'options.buckets must be in increasing order: options.buckets[1] (0.1) is not above options.buckets[0] (0.1)',
    ],
  ])('rejects buckets that are %s, naming the option, and registers nothing', (_, buckets, message) => {
    const registry = new Registry()
    const err = thrown(() => registry.bucketHistogram({ name: 'h_seconds', help: 'H.', buckets }))
    expect(err).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.buckets',
      metric: 'h_seconds',
      message,
    })
    expect(registry.get('h_seconds')).toBeUndefined()
    expect(registry.metrics()).toBe('')
  })

  it('copies and freezes the bounds, so changing the caller’s array changes nothing', () => {
    const bounds = [1, 2]
    const h = new Registry().bucketHistogram({ name: 'h', help: 'H.', buckets: bounds })
    bounds.push(3)
    expect(h.buckets).toEqual([1, 2])
    expect(Object.isFrozen(h.buckets)).toBe(true)
  })

  it('rejects non-finite observations and keeps its state', () => {
    const h = new Registry().bucketHistogram({ name: 'h', help: 'H.', buckets: [1] })
    h.observe(0.5)
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, '1' as never]) {
      expect(thrown(() => h.observe(bad))).toMatchObject({ code: 'E_INVALID_VALUE', metric: 'h' })
    }
    expect(h.cumulativeCounts()).toEqual([1, 1])
    expect(h.sum).toBe(0.5)
  })

  it('reserves the `le` label and the names it renders', () => {
    const registry = new Registry()
    expect(
      thrown(() => registry.bucketHistogram({ name: 'h', help: 'H.', labelNames: ['le'] })),
    ).toMatchObject({ code: 'E_INVALID_NAME', label: 'le' })
    registry.bucketHistogram({ name: 'rpc_seconds', help: 'R.' })
    for (const name of ['rpc_seconds', 'rpc_seconds_bucket', 'rpc_seconds_sum', 'rpc_seconds_count']) {
      expect(thrown(() => registry.gauge({ name, help: 'G.' })).code).toBe('E_DUPLICATE_METRIC')
    }
    registry.counter({ name: 'size_bucket', help: 'C.' })
    expect(thrown(() => registry.bucketHistogram({ name: 'size', help: 'S.' }))).toMatchObject({
      code: 'E_DUPLICATE_METRIC',
      value: 'size_bucket',
    })
  })
})

describe('bucket generators', () => {
  it('makes linear and exponential bounds that read as written', () => {
    expect(linearBuckets(0.1, 0.1, 5)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5])
    expect(exponentialBuckets(0.001, 2, 4)).toEqual([0.001, 0.002, 0.004, 0.008])
    expect(exponentialBuckets(0.1, 3, 3)).toEqual([0.1, 0.3, 0.9])
    const h = new Registry().bucketHistogram({ name: 'h', help: 'H.', buckets: exponentialBuckets(1, 10, 3) })
    expect(h.buckets).toEqual([1, 10, 100])
  })

  it.each([
    [() => linearBuckets(0, 1, 3), 'start must be a finite number > 0', 'start'],
    [() => linearBuckets(1, 0, 3), 'width must be a finite number > 0', 'width'],
    [() => linearBuckets(1, 1, 0), 'count must be an integer ≥ 1', 'count'],
    [() => exponentialBuckets(1, 1, 3), 'factor must be a finite number > 1', 'factor'],
    [() => exponentialBuckets(-1, 2, 3), 'start must be a finite number > 0', 'start'],
    [() => exponentialBuckets(1, 2, 1.5), 'count must be an integer ≥ 1', 'count'],
  ])('rejects bad arguments (%#)', (make, message, option) => {
    expect(thrown(make)).toMatchObject({ code: 'E_INVALID_OPTION', message, option })
  })
})
