import * as diagnostics from 'node:diagnostics_channel'
import { getEventListeners } from 'node:events'
import { Registry } from '@hundredfold/metrics'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { deadline } from '../src/deadline/index.js'
import { GUARD_CHANNELS } from '../src/observe/index.js'
import { wrap } from '../src/policy.js'
import { fakeClock } from '../src/testing/index.js'
import { adaptiveTimeout, timeout } from '../src/timeout/index.js'

afterEach(() => {
  vi.useRealTimers()
})

const hang = (signal: AbortSignal) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
  )

describe('timeout()', () => {
  it('rejects with E_TIMEOUT when the bound fires, aborting the inner signal, without waiting for the call', async () => {
    vi.useFakeTimers()
    let inner: AbortSignal | undefined
    const call = timeout({ ms: 100, name: 'db' }).execute(({ signal }) => {
      inner = signal
      return new Promise<never>(() => {}) // ignores its signal
    })
    const outcome = expect(call).rejects.toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 100, policy: 'db' })
    await vi.advanceTimersByTimeAsync(100)
    await outcome
    expect(inner!.aborted).toBe(true)
    expect(inner!.reason).toMatchObject({ code: 'E_TIMEOUT' })
  })

  it('passes a value or an error through untouched', async () => {
    const policy = timeout({ ms: 1_000 })
    expect(await policy.execute(async () => 42)).toBe(42)
    const failure = new Error('boom')
    await expect(policy.execute(() => Promise.reject(failure))).rejects.toBe(failure)
    await expect(
      policy.execute(() => {
        throw failure
      }),
    ).rejects.toBe(failure)
  })

  it("rejects with E_ABORTED (the reason as cause) when the caller's signal fires", async () => {
    const caller = new AbortController()
    let inner: AbortSignal | undefined
    const call = timeout({ ms: 10_000 }).execute(({ signal }) => {
      inner = signal
      return hang(signal)
    }, caller.signal)
    const reason = new Error('client went away')
    caller.abort(reason)
    await expect(call).rejects.toMatchObject({ code: 'E_ABORTED', cause: reason })
    expect(inner!.reason).toBe(reason)
  })

  it('stops at the request deadline when it comes first, and does not start once it has passed', async () => {
    vi.useFakeTimers()
    const request = deadline(50)
    const call = timeout({ ms: 1_000 }).execute(({ signal }) => hang(signal), request.signal)
    const outcome = expect(call).rejects.toMatchObject({ code: 'E_TIMEOUT', timeoutMs: 50 })
    await vi.advanceTimersByTimeAsync(50)
    await outcome
    const fn = vi.fn(async () => 1)
    await expect(timeout({ ms: 1_000 }).execute(fn, request.signal)).rejects.toMatchObject({
      code: 'E_DEADLINE_EXCEEDED',
    })
    const short = deadline(10)
    await expect(timeout({ ms: 1_000, minBudgetMs: 20 }).execute(fn, short.signal)).rejects.toMatchObject({
      code: 'E_DEADLINE_EXCEEDED',
    })
    expect(fn).not.toHaveBeenCalled()
  })

  it('leaves no listener on a long-lived parent signal and no timer, after thousands of calls', async () => {
    vi.useFakeTimers()
    const server = new AbortController()
    const policy = timeout({ ms: 100 })
    const calls: Promise<unknown>[] = []
    for (let i = 0; i < 3_000; i++) {
      const kind = i % 3
      calls.push(
        policy
          .execute(
            ({ signal }) =>
              kind === 0 ? Promise.resolve(i) : kind === 1 ? Promise.reject(new Error('x')) : hang(signal),
            server.signal,
          )
          .catch(() => undefined),
      )
    }
    // Thousands in flight on one signal: still one listener (no MaxListenersExceededWarning).
    expect(getEventListeners(server.signal, 'abort')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(100)
    await Promise.all(calls)
    expect(getEventListeners(server.signal, 'abort')).toHaveLength(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('composes under wrap with the outer deadline', async () => {
    const request = deadline(5_000)
    const left = await wrap(timeout({ ms: 1_000 }), timeout({ ms: 200 })).execute(
      async ({ signal }) => signal.aborted,
      request.signal,
    )
    expect(left).toBe(false)
    request.dispose()
  })

  it('publishes hundredfold:guard:timeout and counts the timeout on the registry', async () => {
    vi.useFakeTimers()
    const registry = new Registry()
    const events: unknown[] = []
    const listener = (event: unknown) => events.push(event)
    diagnostics.subscribe(GUARD_CHANNELS.timeout, listener)
    try {
      const call = timeout({ ms: 10, name: 'search', registry }).execute(({ signal }) => hang(signal))
      const outcome = expect(call).rejects.toMatchObject({ code: 'E_TIMEOUT' })
      await vi.advanceTimersByTimeAsync(10)
      await outcome
    } finally {
      diagnostics.unsubscribe(GUARD_CHANNELS.timeout, listener)
    }
    expect(events).toEqual([{ policy: 'search', timeoutMs: 10 }])
    expect(registry.metrics()).toContain(
      'hundredfold_guard_rejections_total{policy="search",reason="E_TIMEOUT"} 1',
    )
  })

  it('validates its options eagerly, naming the bad one', () => {
    expect(() => timeout({ ms: 0 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'options.ms' }),
    )
    expect(() => timeout({ ms: 10, minBudgetMs: -1 })).toThrow(
      expect.objectContaining({ option: 'options.minBudgetMs' }),
    )
    expect(() => timeout({ ms: 10, name: '' })).toThrow(expect.objectContaining({ option: 'options.name' }))
  })
})

describe('adaptiveTimeout()', () => {
  /** Runs `n` calls whose latency (drawn by `latency`) passes on the fake clock. */
  async function calls(
    policy: ReturnType<typeof adaptiveTimeout>,
    clock: ReturnType<typeof fakeClock>,
    n: number,
    latency: (i: number) => number,
  ) {
    for (let i = 0; i < n; i++) {
      await policy.execute(async () => {
        clock.advance(latency(i))
      })
    }
  }

  it('starts at initialMs and keeps it until minSamples calls are measured', async () => {
    const clock = fakeClock()
    const policy = adaptiveTimeout({
      minMs: 10,
      maxMs: 2_000,
      initialMs: 500,
      minSamples: 50,
      updateEvery: 1,
      now: clock.now,
    })
    await calls(policy, clock, 49, () => 20)
    expect(policy.timeoutMs).toBe(500)
    await calls(policy, clock, 1, () => 20)
    // p99 of 20 ms is the upper bound of its 2%-wide bucket: the bound is 30 ms to 30.6 ms.
    expect(policy.timeoutMs).toBeGreaterThanOrEqual(30)
    expect(policy.timeoutMs).toBeLessThanOrEqual(20 * 1.02 * 1.5)
  })

  it('follows a shifting latency distribution (p99 × multiplier), within [minMs, maxMs]', async () => {
    const clock = fakeClock()
    const policy = adaptiveTimeout({
      percentile: 0.99,
      multiplier: 1.5,
      minMs: 20,
      maxMs: 1_000,
      windowMs: 10_000,
      now: clock.now,
    })
    // 1..100 ms, evenly: p99 = 99 ms, so the bound settles at ≈ 149 ms (buckets are 2% wide).
    await calls(policy, clock, 1_000, (i) => 1 + (i % 100))
    expect(policy.percentileMs).toBeGreaterThanOrEqual(99)
    expect(policy.percentileMs).toBeLessThanOrEqual(99 * 1.02)
    expect(policy.timeoutMs).toBeGreaterThanOrEqual(148.5)
    expect(policy.timeoutMs).toBeLessThanOrEqual(99 * 1.02 * 1.5)
    // Slower: 300..399 ms. Once the old calls leave the window, p99 ≈ 398 → bound ≈ 597.
    await calls(policy, clock, 300, (i) => 300 + (i % 100))
    expect(policy.timeoutMs).toBeGreaterThan(590)
    expect(policy.timeoutMs).toBeLessThanOrEqual(399 * 1.02 * 1.5)
    // Far slower than maxMs allows: pinned at maxMs.
    await calls(policy, clock, 200, () => 5_000)
    expect(policy.timeoutMs).toBe(1_000)
    // Very fast: held up by minMs.
    clock.advance(20_000)
    await calls(policy, clock, 200, () => 1)
    expect(policy.timeoutMs).toBe(20)
  })

  it('grows its bound (up to maxMs) when calls keep timing out, instead of starving', async () => {
    vi.useFakeTimers()
    const clock = fakeClock()
    const policy = adaptiveTimeout({
      minMs: 10,
      maxMs: 400,
      initialMs: 50,
      minSamples: 1,
      updateEvery: 1,
      now: clock.now,
    })
    const bounds: number[] = []
    for (let i = 0; i < 8; i++) {
      const bound = policy.timeoutMs
      bounds.push(bound)
      const call = policy.execute(({ signal }) => hang(signal))
      const outcome = expect(call).rejects.toMatchObject({ code: 'E_TIMEOUT', timeoutMs: bound })
      await vi.advanceTimersByTimeAsync(bound)
      await outcome
    }
    expect(bounds[0]).toBe(50)
    for (let i = 1; i < bounds.length; i++)
      expect(bounds[i]).toBeGreaterThanOrEqual(Math.min(400, bounds[i - 1]! * 1.5))
    expect(bounds.at(-1)).toBe(400)
  })

  it('does not measure failed calls (fast errors would pull the bound down)', async () => {
    const clock = fakeClock()
    const policy = adaptiveTimeout({ minMs: 1, maxMs: 1_000, minSamples: 1, updateEvery: 1, now: clock.now })
    await calls(policy, clock, 10, () => 100)
    const before = policy.timeoutMs
    for (let i = 0; i < 100; i++)
      await policy.execute(() => Promise.reject(new Error('fast'))).catch(() => {})
    expect(policy.timeoutMs).toBe(before)
    expect(policy.samples).toBe(10)
  })

  it('exports its bound as a gauge and publishes its moves', async () => {
    const clock = fakeClock()
    const registry = new Registry()
    const moves: unknown[] = []
    const listener = (event: unknown) => moves.push(event)
    diagnostics.subscribe(GUARD_CHANNELS.adaptiveTimeout, listener)
    try {
      const policy = adaptiveTimeout({
        name: 'replica',
        minMs: 1,
        maxMs: 1_000,
        minSamples: 1,
        updateEvery: 1,
        registry,
        now: clock.now,
      })
      expect(registry.metrics()).toContain('hundredfold_guard_timeout_seconds{policy="replica"} 1')
      await calls(policy, clock, 1, () => 100)
      expect(registry.metrics()).toContain(
        `hundredfold_guard_timeout_seconds{policy="replica"} ${policy.timeoutMs / 1000}`,
      )
    } finally {
      diagnostics.unsubscribe(GUARD_CHANNELS.adaptiveTimeout, listener)
    }
    expect(moves).toEqual([expect.objectContaining({ policy: 'replica', previousMs: 1_000, samples: 1 })])
  })

  it('validates its options eagerly, naming the bad one', () => {
    const option = (o: Parameters<typeof adaptiveTimeout>[0]) => {
      try {
        adaptiveTimeout(o)
      } catch (err) {
        return (err as { option?: string }).option
      }
      return undefined
    }
    expect(option({ percentile: 1 })).toBe('options.percentile')
    expect(option({ multiplier: 0.5 })).toBe('options.multiplier')
    expect(option({ minMs: 100, maxMs: 50 })).toBe('options.maxMs')
    expect(option({ initialMs: 100_000 })).toBe('options.initialMs')
    expect(option({ slices: 0 })).toBe('options.slices')
    expect(option({ now: 3 as never })).toBe('options.now')
  })
})
