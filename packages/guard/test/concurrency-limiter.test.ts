import * as diagnostics from 'node:diagnostics_channel'
import { Registry } from '@hundredfold/metrics'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { aimd } from '../src/concurrency/aimd.js'
import { CONCURRENCY_CHANNELS } from '../src/concurrency/concurrency-events.js'
import { type ConcurrencyPermit, concurrencyLimiter } from '../src/concurrency/concurrency-limiter.js'
import { isOverloadError } from '../src/concurrency/concurrency-limiter-options.js'
import { fixed } from '../src/concurrency/fixed.js'
import type { LimitAlgorithm } from '../src/concurrency/limit-algorithm.js'
import { GuardError } from '../src/errors.js'

/** A limit the test moves by hand, recording every sample it is fed. */
function manualLimit(initial: number) {
  const samples: { rttMs: number; inFlight: number; dropped: boolean }[] = []
  let limit = initial
  const algorithm: LimitAlgorithm & { set(limit: number): void } = {
    name: 'manual',
    get limit() {
      return limit
    },
    set(to) {
      limit = to
    },
    onSample(rttMs, inFlight, dropped) {
      samples.push({ rttMs, inFlight, dropped })
      return limit
    },
  }
  return { algorithm, samples }
}

function deferred<T = void>() {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

afterEach(() => {
  vi.useRealTimers()
})

describe('concurrencyLimiter', () => {
  it('admits up to the limit and sheds the next call at once with E_CONCURRENCY_LIMITED', async () => {
    const limiter = concurrencyLimiter({ name: 'api', limit: fixed(2) })
    const gates = [deferred(), deferred()]
    const running = gates.map((gate) => limiter.execute(() => gate.promise))
    expect(limiter.inFlight).toBe(2)

    const shed = limiter.execute(async () => 'never')
    await expect(shed).rejects.toMatchObject({
      code: 'E_CONCURRENCY_LIMITED',
      policy: 'api',
      limit: 2,
      inFlight: 2,
    })
    for (const gate of gates) gate.resolve()
    await Promise.all(running)
    expect(limiter.stats()).toMatchObject({ inFlight: 0, admitted: 2, shed: 1, succeeded: 2 })
  })

  it('feeds each call its RTT from admission and the in-flight count it was admitted with', async () => {
    let now = 1_000
    const { algorithm, samples } = manualLimit(10)
    const limiter = concurrencyLimiter({ limit: algorithm, now: () => now })
    const first = deferred()
    const a = limiter.execute(() => first.promise)
    const b = limiter.execute(async () => {
      now += 5
    })
    await b
    now += 20
    first.resolve()
    await a
    expect(samples).toEqual([
      { rttMs: 5, inFlight: 2, dropped: false },
      { rttMs: 25, inFlight: 1, dropped: false },
    ])
  })

  it('counts overload failures as drops, and neither samples other failures nor caller aborts', async () => {
    const { algorithm, samples } = manualLimit(10)
    const limiter = concurrencyLimiter({ limit: algorithm })
    const timeout = new GuardError('E_TIMEOUT', 'slow', { timeoutMs: 100 })
    await expect(limiter.execute(() => Promise.reject(timeout))).rejects.toBe(timeout)
    await expect(limiter.execute(() => Promise.reject(new Error('not found')))).rejects.toThrow('not found')
    const controller = new AbortController()
    const aborted = limiter.execute(async () => {
      controller.abort()
      throw timeout
    }, controller.signal)
    await expect(aborted).rejects.toBe(timeout)
    expect(samples.map((s) => s.dropped)).toEqual([true])
    expect(limiter.stats()).toMatchObject({ dropped: 1, ignored: 2, inFlight: 0 })
  })

  it('refuses a call whose signal already fired, without taking a slot', async () => {
    const limiter = concurrencyLimiter({ limit: 1 })
    await expect(limiter.execute(async () => 1, AbortSignal.abort('gone'))).rejects.toMatchObject({
      code: 'E_ABORTED',
      cause: 'gone',
    })
    expect(limiter.stats()).toMatchObject({ admitted: 0, shed: 0, inFlight: 0 })
  })

  it('releases a permit once: later releases are no-ops', () => {
    const { algorithm, samples } = manualLimit(1)
    const limiter = concurrencyLimiter({ limit: algorithm })
    const permit = limiter.tryAcquire()!
    expect(limiter.tryAcquire()).toBeUndefined()
    expect(permit.release('success')).toBe(true)
    expect(permit.release('drop')).toBe(false)
    expect(permit.release()).toBe(false)
    expect(limiter.inFlight).toBe(0)
    expect(samples).toHaveLength(1)
  })

  it('admits more once the algorithm raises the limit, and none while in flight exceeds a lowered one', () => {
    const { algorithm } = manualLimit(2)
    const limiter = concurrencyLimiter({ limit: algorithm })
    const permits = [limiter.tryAcquire()!, limiter.tryAcquire()!]
    algorithm.set(1)
    permits[0]!.release()
    expect(limiter.tryAcquire()).toBeUndefined() // 1 in flight, limit 1
    algorithm.set(3)
    expect(limiter.tryAcquire()).toBeDefined()
  })

  it('lowers the limit of an AIMD client as its calls time out', async () => {
    const limiter = concurrencyLimiter({ limit: aimd({ initialLimit: 10 }) })
    const timeout = new GuardError('E_TIMEOUT', 'slow')
    for (let i = 0; i < 5; i++) await limiter.execute(() => Promise.reject(timeout)).catch(() => {})
    expect(limiter.limit).toBeLessThan(10)
  })

  it('with maxQueued, a call waits for a slot up to maxQueueWaitMs, then is shed', async () => {
    vi.useFakeTimers()
    const limiter = concurrencyLimiter({ limit: 1, maxQueued: 1, maxQueueWaitMs: 50 })
    const gate = deferred()
    const running = limiter.execute(() => gate.promise)
    const queued = limiter.execute(async () => 'second')
    expect(limiter.queued).toBe(1)
    await expect(limiter.execute(async () => 'third')).rejects.toMatchObject({
      code: 'E_CONCURRENCY_LIMITED',
    })

    gate.resolve()
    await running
    await expect(queued).resolves.toBe('second')

    const again = deferred()
    const holder = limiter.execute(() => again.promise)
    const late = limiter.execute(async () => 'late')
    const outcome = expect(late).rejects.toMatchObject({ code: 'E_CONCURRENCY_LIMITED', waitedMs: 50 })
    await vi.advanceTimersByTimeAsync(50)
    await outcome
    again.resolve()
    await holder
    expect(limiter.stats()).toMatchObject({ inFlight: 0, queued: 0, shed: 2, admitted: 3 })
  })

  it('never has more calls in flight than the limit allowed at admission (random arrivals, completions and limits)', () => {
    type Step =
      | { kind: 'arrive' }
      | { kind: 'complete'; index: number; drop: boolean }
      | { kind: 'limit'; to: number }
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.constant({ kind: 'arrive' as const }),
      fc.record({ kind: fc.constant('complete' as const), index: fc.nat(), drop: fc.boolean() }),
      fc.record({ kind: fc.constant('limit' as const), to: fc.integer({ min: 1, max: 8 }) }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 300 }), (initial, steps) => {
        const { algorithm } = manualLimit(initial)
        const limiter = concurrencyLimiter({ limit: algorithm })
        const held: ConcurrencyPermit[] = []
        for (const s of steps) {
          if (s.kind === 'arrive') {
            const before = limiter.inFlight
            const permit = limiter.tryAcquire()
            if (permit) {
              expect(before).toBeLessThan(algorithm.limit)
              held.push(permit)
            } else {
              expect(before).toBeGreaterThanOrEqual(algorithm.limit)
            }
          } else if (s.kind === 'complete' && held.length > 0) {
            const [permit] = held.splice(s.index % held.length, 1)
            permit!.release(s.drop ? 'drop' : 'success')
          } else if (s.kind === 'limit') {
            algorithm.set(s.to)
          }
          expect(limiter.inFlight).toBe(held.length)
        }
        for (const permit of held) permit.release()
        expect(limiter.inFlight).toBe(0)
      }),
      { numRuns: 300 },
    )
  })

  it('never runs more calls than the limit with a queue in front (random arrivals and completions)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(fc.oneof(fc.constant(-1), fc.nat()), { maxLength: 80 }),
        async (limit, maxQueued, steps) => {
          const limiter = concurrencyLimiter({ limit, maxQueued, maxQueueWaitMs: 60_000 })
          const gates: { resolve: () => void }[] = []
          const calls: Promise<unknown>[] = []
          let running = 0
          let most = 0
          for (const s of steps) {
            if (s === -1) {
              const gate = deferred()
              calls.push(
                limiter
                  .execute(async () => {
                    running++
                    most = Math.max(most, running)
                    gates.push(gate)
                    await gate.promise
                    running--
                  })
                  .catch((error: GuardError) => expect(error.code).toBe('E_CONCURRENCY_LIMITED')),
              )
            } else if (gates.length > 0) {
              gates.splice(s % gates.length, 1)[0]!.resolve()
            }
            await flush()
            expect(limiter.inFlight).toBeLessThanOrEqual(limit)
            expect(limiter.queued).toBeLessThanOrEqual(maxQueued)
          }
          while (gates.length > 0) {
            gates.shift()!.resolve()
            await flush()
          }
          await Promise.all(calls)
          expect(most).toBeLessThanOrEqual(limit)
          expect(limiter.inFlight).toBe(0)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('reports the limit, in-flight calls, outcomes and shed calls on a registry', async () => {
    const registry = new Registry()
    const limiter = concurrencyLimiter({
      name: 'api',
      limit: aimd({ initialLimit: 1, timeoutMs: 1_000 }),
      registry,
    })
    const gate = deferred()
    const running = limiter.execute(() => gate.promise)
    await limiter.execute(async () => 1).catch(() => {})
    let text = registry.metrics()
    expect(text).toContain('hundredfold_guard_concurrency_in_flight{policy="api"} 1')
    expect(text).toContain(
      'hundredfold_guard_rejections_total{policy="api",reason="E_CONCURRENCY_LIMITED"} 1',
    )
    gate.resolve()
    await running
    text = registry.metrics()
    expect(text).toContain('hundredfold_guard_concurrency_in_flight{policy="api"} 0')
    expect(text).toContain('hundredfold_guard_concurrency_limit{policy="api"} 2')
    expect(text).toContain('hundredfold_guard_concurrency_calls_total{policy="api",outcome="success"} 1')
    // A second limiter on the same registry shares the families.
    concurrencyLimiter({ name: 'search', limit: 4, registry })
    expect(registry.metrics()).toContain('hundredfold_guard_concurrency_limit{policy="search"} 4')
  })

  it('publishes limit moves and shed calls on diagnostics channels', async () => {
    const moves: unknown[] = []
    const sheds: unknown[] = []
    const onMove = (event: unknown) => moves.push(event)
    const onShed = (event: unknown) => sheds.push(event)
    diagnostics.subscribe(CONCURRENCY_CHANNELS.limit, onMove)
    diagnostics.subscribe(CONCURRENCY_CHANNELS.limited, onShed)
    try {
      const limiter = concurrencyLimiter({ name: 'ev', limit: aimd({ initialLimit: 1 }) })
      const permit = limiter.tryAcquire()!
      limiter.tryAcquire()
      permit.release('success')
      expect(sheds).toEqual([{ policy: 'ev', code: 'E_CONCURRENCY_LIMITED', limit: 1, inFlight: 1 }])
      expect(moves).toMatchObject([
        { policy: 'ev', algorithm: 'aimd', previous: 1, limit: 2, dropped: false },
      ])
    } finally {
      diagnostics.unsubscribe(CONCURRENCY_CHANNELS.limit, onMove)
      diagnostics.unsubscribe(CONCURRENCY_CHANNELS.limited, onShed)
    }
  })

  it('rejects bad options, naming them', () => {
    for (const [options, option] of [
      [{ maxQueued: -1 }, 'options.maxQueued'],
      [{ maxQueued: Number.POSITIVE_INFINITY }, 'options.maxQueued'],
      [{ maxQueueWaitMs: 0 }, 'options.maxQueueWaitMs'],
      [{ limit: 'many' }, 'options.limit'],
      [{ name: '' }, 'options.name'],
      [{ isDrop: true }, 'options.isDrop'],
    ] as const) {
      expect(() => concurrencyLimiter(options as never)).toThrow(expect.objectContaining({ option }))
    }
  })

  it('isOverloadError counts timeouts and refusals, not other failures', () => {
    expect(isOverloadError(new GuardError('E_CIRCUIT_OPEN', 'open'))).toBe(true)
    expect(isOverloadError(new GuardError('E_DEGRADED', 'degraded'))).toBe(false)
    expect(isOverloadError(new DOMException('slow', 'TimeoutError'))).toBe(true)
    expect(isOverloadError(Object.assign(new Error('t'), { code: 'ETIMEDOUT' }))).toBe(true)
    expect(isOverloadError(new Error('boom'))).toBe(false)
    expect(isOverloadError(undefined)).toBe(false)
  })
})
