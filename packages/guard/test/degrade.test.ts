import * as diagnostics from 'node:diagnostics_channel'
import { Registry } from '@hundredfold/metrics'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { concurrencyLimiter } from '../src/concurrency/concurrency-limiter.js'
import { fixed } from '../src/concurrency/fixed.js'
import { DEGRADE_CHANNELS, type DegradeSwitchEvent } from '../src/degrade/degrade-events.js'
import { degradeSwitch } from '../src/degrade/degrade-switch.js'
import { optional } from '../src/degrade/optional.js'
import { breakerOpenSignal, eventLoopDelaySignal, inFlightSignal } from '../src/degrade/signals.js'
import { GuardError } from '../src/errors.js'
import { wrap } from '../src/policy.js'

/** A signal and a clock the test sets by hand. */
function fakeWorld(start = 1_000_000) {
  const world = { value: 0, now: start }
  return { world, signal: () => world.value, now: () => world.now }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('degradeSwitch', () => {
  it('turns on above onAbove, stays on in the band between, and turns off only below offBelow', () => {
    const { world, signal, now } = fakeWorld()
    const antispam = degradeSwitch({
      name: 'antispam',
      signal,
      now,
      onAbove: 100,
      offBelow: 40,
      minOnMs: 0,
      minOffMs: 0,
    })
    const states: boolean[] = []
    for (const value of [10, 100, 101, 70, 40, 39, 70, 100, 150]) {
      world.value = value
      world.now += 1_000
      states.push(antispam.sample())
    }
    expect(states).toEqual([false, false, true, true, true, false, false, false, true])
  })

  it('stays on at least minOnMs and off at least minOffMs, whatever the signal does', () => {
    const { world, signal, now } = fakeWorld()
    const s = degradeSwitch({
      name: 'recs',
      signal,
      now,
      onAbove: 10,
      offBelow: 5,
      minOnMs: 5_000,
      minOffMs: 2_000,
    })
    world.value = 20
    expect(s.sample()).toBe(true)
    world.value = 0
    world.now += 4_999
    expect(s.sample()).toBe(true) // below offBelow, but not on for minOnMs yet
    world.now += 1
    expect(s.sample()).toBe(false)
    world.value = 20
    world.now += 1_999
    expect(s.sample()).toBe(false) // above onAbove, but not off for minOffMs yet
    world.now += 1
    expect(s.sample()).toBe(true)
  })

  it('records each transition with its time, value and reason, and the last on and off times', () => {
    const { world, signal, now } = fakeWorld(1_700_000_000_000)
    const s = degradeSwitch({
      name: 'antispam',
      signal,
      now,
      onAbove: 100,
      offBelow: 40,
      minOnMs: 0,
      minOffMs: 0,
    })
    world.value = 120
    world.now += 500
    s.sample()
    world.value = 30
    world.now += 10_000
    s.sample()
    expect(s.transitions).toEqual([
      { policy: 'antispam', on: true, at: 1_700_000_000_500, value: 120, reason: 'signal' },
      { policy: 'antispam', on: false, at: 1_700_000_010_500, value: 30, reason: 'signal' },
    ])
    expect(s.stats()).toMatchObject({
      on: false,
      turnedOn: 1,
      turnedOff: 1,
      lastOnAt: 1_700_000_000_500,
      lastOffAt: 1_700_000_010_500,
    })
  })

  it('keeps at most historySize transitions, counting all of them', () => {
    const { world, signal, now } = fakeWorld()
    const s = degradeSwitch({
      name: 'x',
      signal,
      now,
      onAbove: 1,
      offBelow: 1,
      minOnMs: 0,
      minOffMs: 0,
      historySize: 3,
    })
    for (let i = 0; i < 10; i++) {
      world.value = i % 2 === 0 ? 2 : 0
      world.now += 1
      s.sample()
    }
    expect(s.transitions).toHaveLength(3)
    expect(s.transitions.at(-1)!.at).toBe(world.now)
    expect(s.stats()).toMatchObject({ turnedOn: 5, turnedOff: 5 })
  })

  it('samples lazily on read, at most once per intervalMs, when not started', () => {
    const { world, now } = fakeWorld()
    const signal = vi.fn(() => world.value)
    const s = degradeSwitch({
      name: 'lazy',
      signal,
      now,
      onAbove: 10,
      offBelow: 5,
      intervalMs: 500,
      minOffMs: 0,
    })
    world.value = 50
    expect(s.on).toBe(true)
    expect(s.on).toBe(true)
    expect(signal).toHaveBeenCalledTimes(1)
    world.now += 499
    void s.on
    expect(signal).toHaveBeenCalledTimes(1)
    world.now += 1
    void s.on
    expect(signal).toHaveBeenCalledTimes(2)
  })

  it('samples every intervalMs once started, on an unref’d timer, until stopped', async () => {
    vi.useFakeTimers({ now: 0 })
    let value = 0
    const signal = vi.fn(() => value)
    const s = degradeSwitch({
      name: 'timer',
      signal,
      onAbove: 10,
      offBelow: 5,
      intervalMs: 100,
      minOnMs: 0,
      minOffMs: 0,
    })
    s.start()
    s.start() // idempotent
    expect(signal).toHaveBeenCalledTimes(1)
    value = 20
    await vi.advanceTimersByTimeAsync(100)
    expect(s.stats().on).toBe(true)
    expect(s.transitions[0]!.at).toBe(100) // Date.now, faked
    value = 0
    await vi.advanceTimersByTimeAsync(100)
    expect(s.stats().on).toBe(false)
    expect(signal).toHaveBeenCalledTimes(3)
    s.stop()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(signal).toHaveBeenCalledTimes(3)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('force() holds it on or off whatever the signal, and auto hands it back', () => {
    const { world, signal, now } = fakeWorld()
    const s = degradeSwitch({
      name: 'antispam',
      signal,
      now,
      onAbove: 100,
      offBelow: 40,
      minOnMs: 60_000,
      minOffMs: 0,
    })
    s.force('on')
    expect(s.on).toBe(true)
    expect(s.mode).toBe('on')
    world.value = 500
    s.force('off') // ignores minOnMs and the signal
    expect(s.on).toBe(false)
    world.now += 10_000
    expect(s.sample()).toBe(false)
    s.force('auto')
    expect(s.on).toBe(true) // the signal is high: on at once (minOffMs 0)
    expect(s.transitions.map((t) => [t.on, t.reason])).toEqual([
      [true, 'forced'],
      [false, 'forced'],
      [true, 'signal'],
    ])
    expect(() => s.force('maybe' as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
  })

  it('treats a throwing or non-finite signal as no sample', () => {
    const { world, now } = fakeWorld()
    let mode: 'ok' | 'throw' | 'nan' = 'ok'
    const signal = () => {
      if (mode === 'throw') throw new Error('probe failed')
      return mode === 'nan' ? Number.NaN : 50
    }
    const s = degradeSwitch({ name: 'x', signal, now, onAbove: 10, offBelow: 5, minOnMs: 0 })
    expect(s.sample()).toBe(true)
    mode = 'throw'
    world.now += 1
    expect(s.sample()).toBe(true)
    mode = 'nan'
    expect(s.sample()).toBe(true)
    expect(s.stats().value).toBe(50)
  })

  it('tells onChange and the degrade-switch channel of each transition, and survives a throwing listener', () => {
    const { world, signal, now } = fakeWorld()
    const seen: DegradeSwitchEvent[] = []
    const published: unknown[] = []
    const listener = (event: unknown) => published.push(event)
    diagnostics.subscribe(DEGRADE_CHANNELS.change, listener)
    try {
      const s = degradeSwitch({
        name: 'antispam',
        signal,
        now,
        onAbove: 1,
        offBelow: 0,
        minOnMs: 0,
        onChange: (event) => {
          seen.push(event)
          throw new Error('listener bug')
        },
      })
      world.value = 5
      expect(s.sample()).toBe(true)
      expect(seen).toEqual([{ policy: 'antispam', on: true, at: world.now, value: 5, reason: 'signal' }])
      expect(published).toEqual(seen)
    } finally {
      diagnostics.unsubscribe(DEGRADE_CHANNELS.change, listener)
    }
  })

  it('reports its state, signal, transitions and skipped work on a registry', async () => {
    const registry = new Registry()
    const { world, signal, now } = fakeWorld()
    const s = degradeSwitch({ name: 'antispam', signal, now, onAbove: 1, offBelow: 0, registry })
    world.value = 3
    s.sample()
    await optional(
      s,
      async () => 'checked',
      () => 'skipped',
    )
    const text = registry.metrics()
    expect(text).toContain('hundredfold_guard_degrade_on{policy="antispam"} 1')
    expect(text).toContain('hundredfold_guard_degrade_signal{policy="antispam"} 3')
    expect(text).toContain('hundredfold_guard_degrade_transitions_total{policy="antispam",to="on"} 1')
    expect(text).toContain('hundredfold_guard_degrade_skipped_total{policy="antispam"} 1')
  })

  it('rejects bad options, naming them', () => {
    const base = { name: 'x', signal: () => 0, onAbove: 10, offBelow: 5 }
    for (const [options, option] of [
      [{ ...base, name: '' }, 'options.name'],
      [{ ...base, signal: 3 }, 'options.signal'],
      [{ ...base, onAbove: Number.NaN }, 'options.onAbove'],
      [{ ...base, offBelow: 11 }, 'options.offBelow'],
      [{ ...base, minOnMs: -1 }, 'options.minOnMs'],
      [{ ...base, intervalMs: 0 }, 'options.intervalMs'],
      [{ ...base, historySize: 0 }, 'options.historySize'],
    ] as const) {
      expect(() => degradeSwitch(options as never)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION', option }),
      )
    }
  })
})

describe('optional', () => {
  function switchAt(on: boolean) {
    const s = degradeSwitch({ name: 'recs', signal: () => 0, onAbove: 1, offBelow: 0 })
    if (on) s.force('on')
    return s
  }

  it('runs the work while off', async () => {
    const fn = vi.fn(async () => 'recommendations')
    await expect(optional(switchAt(false), fn, () => 'none')).resolves.toBe('recommendations')
    expect(fn).toHaveBeenCalledOnce()
  })

  it('skips the work while on, counting it, and answers the fallback', async () => {
    const s = switchAt(true)
    const fn = vi.fn(async () => 'recommendations')
    await expect(optional(s, fn, () => 'none')).resolves.toBe('none')
    expect(fn).not.toHaveBeenCalled()
    expect(s.stats().skipped).toBe(1)
  })

  it('rejects with E_DEGRADED while on without a fallback', async () => {
    const s = switchAt(true)
    const error = (await optional(s, async () => 1).catch((e: unknown) => e)) as GuardError
    expect(error).toBeInstanceOf(GuardError)
    expect(error).toMatchObject({ code: 'E_DEGRADED', switch: 'recs' })
    expect(s.stats().skipped).toBe(1)
  })

  it('the switch is a policy too: wrap() runs through it while off and stops at it while on', async () => {
    const s = switchAt(false)
    await expect(wrap(s).execute(async () => 'ran')).resolves.toBe('ran')
    s.force('on')
    await expect(wrap(s).execute(async () => 'ran')).rejects.toMatchObject({ code: 'E_DEGRADED' })
  })
})

describe('signals', () => {
  it('inFlightSignal reads a limiter’s in-flight calls, or their share of its limit', () => {
    const limiter = concurrencyLimiter({ limit: fixed(4) })
    const count = inFlightSignal(limiter)
    const share = inFlightSignal(limiter, { relative: true })
    const permits = [limiter.tryAcquire()!, limiter.tryAcquire()!, limiter.tryAcquire()!]
    expect(count()).toBe(3)
    expect(share()).toBe(0.75)
    for (const p of permits) p.release()
    expect(count()).toBe(0)
    expect(() => inFlightSignal({ inFlight: 1 }, { relative: true })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
  })

  it('a switch on in-flight calls turns on when the limiter fills', () => {
    const limiter = concurrencyLimiter({ limit: fixed(10) })
    const { world, now } = fakeWorld()
    const s = degradeSwitch({
      name: 'recs',
      signal: inFlightSignal(limiter, { relative: true }),
      now,
      onAbove: 0.8,
      offBelow: 0.5,
      minOnMs: 0,
    })
    const permits = Array.from({ length: 9 }, () => limiter.tryAcquire()!)
    expect(s.sample()).toBe(true)
    for (const p of permits.splice(0, 3)) p.release() // 6/10: in the band
    world.now += 1
    expect(s.sample()).toBe(true)
    for (const p of permits.splice(0, 2)) p.release() // 4/10
    world.now += 1
    expect(s.sample()).toBe(false)
  })

  it('breakerOpenSignal is 1 while a breaker is open or isolated, from an object or a function', () => {
    const breaker = { state: 'closed' as string }
    const fromObject = breakerOpenSignal(breaker)
    const fromFunction = breakerOpenSignal(() => breaker.state)
    const values = ['closed', 'open', 'half-open', 'isolated'].map((state) => {
      breaker.state = state
      return [fromObject(), fromFunction()]
    })
    expect(values).toEqual([
      [0, 0],
      [1, 1],
      [0, 0],
      [1, 1],
    ])
    expect(() => breakerOpenSignal({} as never)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
  })

  it('eventLoopDelaySignal reads a percentile in ms, resets at each read, and closes', () => {
    const delay = eventLoopDelaySignal({ percentile: 99, resolutionMs: 1 })
    try {
      const value = delay()
      expect(value).toBeGreaterThanOrEqual(0)
      expect(Number.isFinite(value)).toBe(true)
    } finally {
      delay.close()
      delay.close()
    }
    expect(() => eventLoopDelaySignal({ percentile: 0 })).toThrow(
      expect.objectContaining({ option: 'options.percentile' }),
    )
  })
})
