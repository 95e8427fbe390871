import * as diagnostics from 'node:diagnostics_channel'
import { MetricsError, Registry } from '@hundredfold/metrics'
import { describe, expect, it } from 'vitest'
import {
  channelName,
  counterOn,
  countRejection,
  GUARD_CHANNELS,
  gaugeOn,
  guardMetrics,
  histogramOn,
  publish,
} from '../src/observe/index.js'

describe('publish()', () => {
  it('publishes on hundredfold:guard:<event>', () => {
    const seen: unknown[] = []
    const listener = (message: unknown, name: string | symbol) => seen.push([name, message])
    diagnostics.subscribe(channelName('bulkhead-full'), listener)
    try {
      publish('bulkhead-full', { policy: 'db', queued: 10 })
    } finally {
      diagnostics.unsubscribe(channelName('bulkhead-full'), listener)
    }
    expect(seen).toEqual([['hundredfold:guard:bulkhead-full', { policy: 'db', queued: 10 }]])
  })

  it('builds a lazy payload only when someone listens', () => {
    let built = 0
    const payload = () => {
      built++
      return { policy: 'x' }
    }
    publish('nobody-listens', payload)
    expect(built).toBe(0)
    const listener = () => {}
    diagnostics.subscribe(channelName('nobody-listens'), listener)
    publish('nobody-listens', payload)
    diagnostics.unsubscribe(channelName('nobody-listens'), listener)
    expect(built).toBe(1)
  })

  it('names every channel of GUARD_CHANNELS under hundredfold:guard:', () => {
    for (const name of Object.values(GUARD_CHANNELS)) expect(name).toMatch(/^hundredfold:guard:[a-z-]+$/)
    expect(Object.isFrozen(GUARD_CHANNELS)).toBe(true)
  })
})

describe('guard metrics', () => {
  it('shares one set of families per registry, and nothing without one', () => {
    const registry = new Registry()
    expect(guardMetrics(registry)).toBe(guardMetrics(registry))
    expect(guardMetrics(undefined)).toBeUndefined()
    countRejection(undefined, 'p', 'E_TIMEOUT') // a no-op
    countRejection(registry, 'p', 'E_TIMEOUT')
    countRejection(registry, 'p', 'E_TIMEOUT')
    expect(registry.metrics()).toContain(
      'hundredfold_guard_rejections_total{policy="p",reason="E_TIMEOUT"} 2',
    )
  })

  it('reuses a family of the same name, type and labels, and refuses a clash', () => {
    const registry = new Registry()
    const options = { name: 'hundredfold_guard_shed_total', help: 'Shed.', labelNames: ['policy'] as const }
    expect(counterOn(registry, options)).toBe(counterOn(registry, options))
    const gauge = { name: 'hundredfold_guard_limit', help: 'Limit.', labelNames: ['policy'] as const }
    expect(gaugeOn(registry, gauge)).toBe(gaugeOn(registry, gauge))
    const histogram = {
      name: 'hundredfold_guard_wait_seconds',
      help: 'Wait.',
      labelNames: ['policy'] as const,
    }
    expect(histogramOn(registry, histogram)).toBe(histogramOn(registry, histogram))
    expect(() => gaugeOn(registry, { ...options })).toThrow(MetricsError)
    expect(() => counterOn(registry, { ...options, labelNames: ['route'] })).toThrow(
      expect.objectContaining({ code: 'E_DUPLICATE_METRIC' }),
    )
  })
})
