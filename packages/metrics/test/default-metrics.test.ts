import { setImmediate as tick } from 'node:timers/promises'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it, vi } from 'vitest'
import { collectDefaultMetrics, defaultMetricsDefaults, MetricsError, Registry } from '../src/index.js'
import { parseExposition } from './exposition.js'

// prom-client's default metrics (lib/metrics/*.js), by name and type; we export these names unchanged.
const PROM_CLIENT_NAMES: [string, string][] = [
  ['process_cpu_user_seconds_total', 'counter'],
  ['process_cpu_system_seconds_total', 'counter'],
  ['process_cpu_seconds_total', 'counter'],
  ['process_start_time_seconds', 'gauge'],
  ['process_resident_memory_bytes', 'gauge'],
  ['nodejs_eventloop_lag_seconds', 'gauge'],
  ['nodejs_eventloop_lag_min_seconds', 'gauge'],
  ['nodejs_eventloop_lag_max_seconds', 'gauge'],
  ['nodejs_eventloop_lag_mean_seconds', 'gauge'],
  ['nodejs_eventloop_lag_stddev_seconds', 'gauge'],
  ['nodejs_eventloop_lag_p50_seconds', 'gauge'],
  ['nodejs_eventloop_lag_p90_seconds', 'gauge'],
  ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
  ['nodejs_active_handles_total', 'gauge'],
  ['nodejs_active_requests_total', 'gauge'],
  ['nodejs_active_resources_total', 'gauge'],
  ['nodejs_heap_size_total_bytes', 'gauge'],
  ['nodejs_heap_size_used_bytes', 'gauge'],
  ['nodejs_external_memory_bytes', 'gauge'],
  ['nodejs_heap_space_size_total_bytes', 'gauge'],
  ['nodejs_heap_space_size_used_bytes', 'gauge'],
  ['nodejs_heap_space_size_available_bytes', 'gauge'],
  ['nodejs_version_info', 'gauge'],
  ['nodejs_gc_duration_seconds', 'histogram'],
]
// Ours, beside prom-client's: the event-loop histogram's sampling interval, which its samples include.
const OWN_NAMES: [string, string][] = [['nodejs_eventloop_lag_resolution_seconds', 'gauge']]
const LINUX_NAMES: [string, string][] = [
  ['process_virtual_memory_bytes', 'gauge'],
  ['process_heap_bytes', 'gauge'],
  ['process_open_fds', 'gauge'],
  ['process_max_fds', 'gauge'],
]

/** The one sample of an unlabelled family. */
function value(text: string, name: string): number {
  const samples = parseExposition(text).get(name)?.samples
  expect(samples, name).toHaveLength(1)
  return samples![0]!.value
}

describe('collectDefaultMetrics', () => {
  it('exposes every prom-client default metric under its name and type (and the loop histogram resolution), in valid exposition', () => {
    const registry = new Registry()
    const defaults = collectDefaultMetrics(registry)
    try {
      const families = parseExposition(registry.metrics())
      const expected = [
        ...PROM_CLIENT_NAMES,
        ...OWN_NAMES,
        ...(process.platform === 'linux' ? LINUX_NAMES : []),
      ]
      for (const [name, type] of expected) expect(families.get(name)?.type, name).toBe(type)
      expect(families.size).toBe(expected.length)

      const version = families.get('nodejs_version_info')!.samples
      const [major, minor, patch] = process.versions.node.split('.')
      expect(version).toEqual([
        { name: 'nodejs_version_info', labels: { version: process.version, major, minor, patch }, value: 1 },
      ])
      const spaces = families.get('nodejs_heap_space_size_used_bytes')!.samples.map((s) => s.labels['space'])
      expect(spaces).toContain('old')
      expect(spaces).toContain('new')
      const kinds = families.get('nodejs_gc_duration_seconds')!.samples.map((s) => s.labels['kind'])
      expect(new Set(kinds)).toEqual(new Set(['major', 'minor', 'incremental', 'weakcb']))
    } finally {
      defaults.stop()
    }
  })

  it('reads CPU, memory, start time and event-loop delay at scrape time, with the prefix', async () => {
    const registry = new Registry()
    const defaults = collectDefaultMetrics(registry, { prefix: 'app_', eventLoopResolutionMs: 5 })
    try {
      const busyUntil = Date.now() + 20
      while (Date.now() < busyUntil) {
        // burn CPU and block the loop so both move
      }
      await new Promise((resolve) => setTimeout(resolve, 30))
      const text = registry.metrics()
      expect(value(text, 'app_process_cpu_seconds_total')).toBeGreaterThan(0)
      expect(value(text, 'app_process_cpu_seconds_total')).toBeCloseTo(
        value(text, 'app_process_cpu_user_seconds_total') +
          value(text, 'app_process_cpu_system_seconds_total'),
        6,
      )
      expect(value(text, 'app_process_resident_memory_bytes')).toBeGreaterThan(1e6)
      expect(value(text, 'app_nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
      expect(value(text, 'app_nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(
        value(text, 'app_nodejs_heap_size_used_bytes'),
      )
      expect(value(text, 'app_nodejs_external_memory_bytes')).toBeGreaterThan(0)
      expect(
        Math.abs(value(text, 'app_process_start_time_seconds') - (Date.now() / 1000 - process.uptime())),
      ).toBeLessThan(2)
      // The 20 ms block is one delay sample of ≥ 15 ms beside the 5 ms ticks.
      const lag = (stat: string) => value(text, `app_nodejs_eventloop_lag_${stat}_seconds`)
      expect(lag('max')).toBeGreaterThan(0.005)
      expect(lag('min')).toBeGreaterThan(0)
      expect(lag('min')).toBeLessThanOrEqual(lag('p50'))
      expect(lag('p50')).toBeLessThanOrEqual(lag('p90'))
      expect(lag('p90')).toBeLessThanOrEqual(lag('p99'))
      expect(lag('p99')).toBeLessThanOrEqual(lag('max'))
      expect(lag('stddev')).toBeGreaterThan(0)
      // Every sample includes the sampling interval; the resolution gauge says how much to subtract.
      expect(lag('resolution')).toBe(0.005)
      expect(lag('min')).toBeGreaterThanOrEqual(lag('resolution') * 0.5)
      if (process.platform === 'linux') {
        expect(value(text, 'app_process_open_fds')).toBeGreaterThan(2)
        expect(value(text, 'app_process_max_fds')).toBeGreaterThanOrEqual(value(text, 'app_process_open_fds'))
        expect(value(text, 'app_process_virtual_memory_bytes')).toBeGreaterThan(
          value(text, 'app_process_resident_memory_bytes'),
        )
      }

      const again = registry.metrics()
      expect(value(again, 'app_process_cpu_seconds_total')).toBeGreaterThanOrEqual(
        value(text, 'app_process_cpu_seconds_total'),
      )
    } finally {
      defaults.stop()
    }
  })

  it('reports as nodejs_eventloop_lag_seconds the wait of a callback queued at the previous scrape', async () => {
    const registry = new Registry()
    const defaults = collectDefaultMetrics(registry)
    try {
      expect(value(registry.metrics(), 'nodejs_eventloop_lag_seconds')).toBe(0) // no probe has run yet
      await tick() // the probe the scrape queued runs first
      const measured = value(registry.metrics(), 'nodejs_eventloop_lag_seconds')
      expect(measured).toBeGreaterThan(0)
      defaults.stop()
      defaults.stop() // idempotent
      const stopped = registry.metrics() // reports the last probe and queues none
      await tick()
      await tick()
      expect(value(registry.metrics(), 'nodejs_eventloop_lag_seconds')).toBe(
        value(stopped, 'nodejs_eventloop_lag_seconds'),
      )
    } finally {
      defaults.stop()
    }
  })

  it('observes GC pauses by kind into nodejs_gc_duration_seconds', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const registry = new Registry()
    const defaults = collectDefaultMetrics(registry, { gcDurationBuckets: [0.5, 5] })
    try {
      gc() // a full, major collection
      await vi.waitFor(() => {
        const samples = parseExposition(registry.metrics()).get('nodejs_gc_duration_seconds')!.samples
        const count = samples.find((s) => s.name.endsWith('_count') && s.labels['kind'] === 'major')!
        expect(count.value).toBeGreaterThanOrEqual(1)
      })
      const buckets = parseExposition(registry.metrics())
        .get('nodejs_gc_duration_seconds')!
        .samples.filter((s) => s.name.endsWith('_bucket') && s.labels['kind'] === 'major')
      expect(buckets.map((s) => s.labels['le'])).toEqual(['0.5', '5', '+Inf'])
    } finally {
      defaults.stop()
    }
  })

  it('registers all or nothing: a taken name leaves the registry as it was', () => {
    const registry = new Registry()
    registry.gauge({ name: 'nodejs_version_info', help: 'Mine.' })
    let caught: unknown
    try {
      collectDefaultMetrics(registry)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(MetricsError)
    expect(caught).toMatchObject({ code: 'E_DUPLICATE_METRIC', value: 'nodejs_version_info' })
    expect([...parseExposition(registry.metrics()).keys()]).toEqual(['nodejs_version_info'])
    expect(registry.get('process_cpu_seconds_total')).toBeUndefined()
  })

  it('refuses to register twice with one prefix and allows another prefix', () => {
    const registry = new Registry()
    collectDefaultMetrics(registry).stop()
    expect(() => collectDefaultMetrics(registry)).toThrow(MetricsError)
    collectDefaultMetrics(registry, { prefix: 'other_' }).stop()
    expect(registry.get('other_nodejs_version_info')).toBeDefined()
  })

  it.each([
    [
      { eventLoopResolutionMs: 0 },
      'options.eventLoopResolutionMs',
      'options.eventLoopResolutionMs must be an integer ≥ 1',
    ],
    [{ prefix: 'my-app_' }, 'options.prefix', "options.prefix must be '' or match [a-zA-Z_:][a-zA-Z0-9_:]*"],
    [{ prefix: 3 as never }, 'options.prefix', "options.prefix must be '' or match [a-zA-Z_:][a-zA-Z0-9_:]*"],
    [
      { gcDurationBuckets: [0.1, 0.01] },
      'options.gcDurationBuckets',
      'options.gcDurationBuckets must be in increasing order: options.gcDurationBuckets[1] (0.01) is not above options.gcDurationBuckets[0] (0.1)',
    ],
    [
      { gcDurationBuckets: [0] },
      'options.gcDurationBuckets',
      'options.gcDurationBuckets[0] must be a finite number > 0 (+Inf is always added)',
    ],
  ])('rejects %o naming the option, before registering anything', (options, option, message) => {
    const registry = new Registry()
    expect(() => collectDefaultMetrics(registry, options)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option, message }),
    )
    expect(registry.metrics()).toBe('')
  })

  it('documents its defaults', () => {
    expect(defaultMetricsDefaults).toEqual({
      prefix: '',
      eventLoopResolutionMs: 10,
      gcDurationBuckets: [0.001, 0.01, 0.1, 1, 2, 5],
    })
    expect(Object.isFrozen(defaultMetricsDefaults)).toBe(true)
  })
})
