import { describe, expect, it } from 'vitest'
import { collectDefaultMetrics, MetricsError, Registry } from '../src/index.js'

describe('collectDefaultMetrics', () => {
  it('exposes CPU, memory, start time and event-loop delay read at scrape time', async () => {
    const registry = new Registry()
    const defaults = collectDefaultMetrics(registry, { prefix: 'app_', eventLoopResolutionMs: 5 })
    try {
      const busyUntil = Date.now() + 20
      while (Date.now() < busyUntil) {
        // burn CPU and block the loop so both move
      }
      await new Promise((resolve) => setTimeout(resolve, 30))
      const text = registry.metrics()
      const value = (name: string) => {
        const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
        expect(match, name).not.toBeNull()
        return Number(match![1])
      }
      expect(value('app_process_cpu_seconds_total')).toBeGreaterThan(0)
      expect(value('app_process_cpu_seconds_total')).toBeCloseTo(
        value('app_process_cpu_user_seconds_total') + value('app_process_cpu_system_seconds_total'),
        6,
      )
      expect(value('app_process_resident_memory_bytes')).toBeGreaterThan(1e6)
      expect(value('app_nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
      expect(value('app_nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(
        value('app_nodejs_heap_size_used_bytes'),
      )
      expect(value('app_nodejs_external_memory_bytes')).toBeGreaterThan(0)
      expect(
        Math.abs(value('app_process_start_time_seconds') - (Date.now() / 1000 - process.uptime())),
      ).toBeLessThan(2)
      expect(value('app_nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.005)
      expect(value('app_nodejs_eventloop_lag_p50_seconds')).toBeGreaterThan(0)
      expect(text).toContain('# TYPE app_process_cpu_seconds_total counter\n')

      const cpuBefore = value('app_process_cpu_seconds_total')
      const again = registry.metrics()
      const cpuAfter = Number(/^app_process_cpu_seconds_total (\S+)$/m.exec(again)![1])
      expect(cpuAfter).toBeGreaterThanOrEqual(cpuBefore)
    } finally {
      defaults.stop()
    }
  })

  it('refuses to register twice and validates its options', () => {
    const registry = new Registry()
    collectDefaultMetrics(registry).stop()
    expect(() => collectDefaultMetrics(registry)).toThrow(MetricsError)
    expect(() => collectDefaultMetrics(new Registry(), { eventLoopResolutionMs: 0 })).toThrow(
      'options.eventLoopResolutionMs must be an integer ≥ 1',
    )
  })
})
