import * as diagnostics from 'node:diagnostics_channel'
import { Registry } from '@hundredfold/metrics'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type BreakerState, type CircuitBreakerOptions, circuitBreaker } from '../src/breaker/index.js'
import { GuardError } from '../src/errors.js'
import { type BreakerStateEvent, GUARD_CHANNELS } from '../src/observe/index.js'
import { wrap } from '../src/policy.js'
import { rateLimit, rateLimiter } from '../src/rate-limit/index.js'
import { fakeClock } from '../src/testing/index.js'
import { timeout } from '../src/timeout/index.js'

const ok = () => Promise.resolve('ok')
const boom = () => Promise.reject(new Error('boom'))

function setup(options: CircuitBreakerOptions = {}) {
  const clock = fakeClock(1_000_000)
  const changes: BreakerStateEvent[] = []
  const breaker = circuitBreaker({ now: clock.now, onStateChange: (e) => changes.push(e), ...options })
  const run = (fn: () => Promise<unknown>) => breaker.execute(fn).catch((err: unknown) => err)
  return { clock, breaker, changes, run }
}

function deferred() {
  let resolve!: (value: string) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<string>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const flush = () => new Promise((resolve) => setImmediate(resolve))

describe('circuitBreaker(): triggers', () => {
  it('opens on the failure ratio of a count window, judged from minimumCalls on', async () => {
    const { breaker, run, changes } = setup({ windowSize: 10, minimumCalls: 10, failureRatio: 0.5 })
    for (let i = 0; i < 4; i++) await run(boom)
    for (let i = 0; i < 5; i++) await run(ok)
    expect(breaker.state).toBe('closed') // 4 of 9: not judged yet
    await run(boom)
    expect(breaker.state).toBe('open') // 5 of 10
    expect(changes.map((c) => [c.to, c.reason])).toEqual([['open', 'failure-ratio']])
  })

  it('counts only the last windowSize calls', async () => {
    const { breaker, run } = setup({ windowSize: 4, minimumCalls: 4, failureRatio: 0.75 })
    for (let i = 0; i < 2; i++) await run(boom)
    for (let i = 0; i < 4; i++) await run(ok) // the failures slide out
    await run(boom)
    await run(boom)
    expect(breaker.state).toBe('closed') // 2 of the last 4
    await run(boom)
    expect(breaker.state).toBe('open')
  })

  it('forgets failures older than windowMs in a time window', async () => {
    const { breaker, run, clock } = setup({
      window: 'time',
      windowMs: 10_000,
      minimumCalls: 4,
      failureRatio: 0.5,
    })
    await run(boom)
    await run(boom)
    clock.advance(11_000)
    await run(boom)
    await run(ok)
    await run(ok)
    expect(breaker.stats()).toMatchObject({ calls: 3, failures: 1 })
    expect(breaker.state).toBe('closed')
    await run(boom)
    expect(breaker.state).toBe('open')
  })

  it('opens on the slow-call ratio: calls slower than slowCallMs, even successful ones', async () => {
    const { breaker, run, clock, changes } = setup({
      windowSize: 5,
      minimumCalls: 5,
      slowCallMs: 100,
      slowCallRatio: 0.6,
    })
    const slow = async () => {
      clock.advance(150)
      return 'late'
    }
    await run(ok)
    await run(ok)
    await run(slow)
    await run(slow)
    expect(breaker.state).toBe('closed')
    await run(slow)
    expect(breaker.state).toBe('open')
    expect(changes.at(-1)).toMatchObject({ to: 'open', reason: 'slow-call-ratio' })
  })

  it('opens after consecutiveFailures in a row; a success resets the streak', async () => {
    const { breaker, run, changes } = setup({ failureRatio: false, consecutiveFailures: 3 })
    await run(boom)
    await run(boom)
    await run(ok)
    await run(boom)
    await run(boom)
    expect(breaker.state).toBe('closed')
    await run(boom)
    expect(breaker.state).toBe('open')
    expect(changes.at(-1)?.reason).toBe('consecutive-failures')
  })

  it('asks isFailure: errors it clears count as successes (by default the guard’s own refusals)', async () => {
    const notFound = Object.assign(new Error('404'), { status: 404 })
    const { breaker, run } = setup({
      consecutiveFailures: 2,
      isFailure: (err) => (err as { status?: number }).status !== 404,
    })
    for (let i = 0; i < 10; i++) await run(() => Promise.reject(notFound))
    expect(breaker.state).toBe('closed')
    const defaults = setup({ consecutiveFailures: 2 })
    const limited = new GuardError('E_RATE_LIMITED', 'limited')
    for (let i = 0; i < 10; i++) await defaults.run(() => Promise.reject(limited))
    expect(defaults.breaker.state).toBe('closed')
    await defaults.run(() => Promise.reject(new GuardError('E_TIMEOUT', 'slow')))
    await defaults.run(() => Promise.reject(new GuardError('E_TIMEOUT', 'slow')))
    expect(defaults.breaker.state).toBe('open')
  })

  it('does not count calls the caller aborted (E_ABORTED)', async () => {
    const { breaker, run } = setup({ consecutiveFailures: 1 })
    await run(() => Promise.reject(new GuardError('E_ABORTED', 'gone')))
    expect(breaker.state).toBe('closed')
    expect(breaker.stats().calls).toBe(0)
  })

  it('does not count a call whose caller aborted it, whatever error the call then threw', async () => {
    const { breaker } = setup({ consecutiveFailures: 1 })
    const controller = new AbortController()
    const call = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled')))),
      controller.signal,
    )
    controller.abort()
    await expect(call).rejects.toThrow('cancelled')
    expect(breaker.state).toBe('closed')
    expect(breaker.stats().calls).toBe(0)
  })
})

describe('circuitBreaker(): states', () => {
  it('fails at once while open, with retryAfterMs, never calling the function', async () => {
    const { breaker, run, clock } = setup({ consecutiveFailures: 1, openMs: 5_000 })
    await run(boom)
    clock.advance(1_000)
    let called = false
    const error = await run(async () => {
      called = true
    })
    expect(called).toBe(false)
    expect(error).toMatchObject({ code: 'E_CIRCUIT_OPEN', retryAfterMs: 4_000, policy: 'breaker' })
    expect(breaker.stats().retryAfterMs).toBe(4_000)
  })

  it('turns half-open after openMs and admits exactly halfOpenProbes probes; all succeeding closes it', async () => {
    const { breaker, run, clock, changes } = setup({
      consecutiveFailures: 1,
      openMs: 5_000,
      halfOpenProbes: 3,
    })
    await run(boom)
    clock.advance(5_000)
    expect(breaker.state).toBe('half-open')
    const probes = [deferred(), deferred(), deferred()]
    const running = probes.map((p) => run(() => p.promise))
    expect(await run(ok)).toMatchObject({ code: 'E_CIRCUIT_OPEN' }) // the fourth
    probes[0]!.resolve('a')
    probes[1]!.resolve('b')
    await flush()
    expect(breaker.state).toBe('half-open')
    probes[2]!.resolve('c')
    expect(await Promise.all(running)).toEqual(['a', 'b', 'c'])
    expect(breaker.state).toBe('closed')
    expect(changes.map((c) => `${c.to}:${c.reason}`)).toEqual([
      'open:consecutive-failures',
      'half-open:open-elapsed',
      'closed:probes-succeeded',
    ])
  })

  it('reopens on any failed probe, for an open period that grows up to maxOpenMs', async () => {
    const { breaker, run, clock } = setup({
      consecutiveFailures: 1,
      openMs: 1_000,
      maxOpenMs: 3_000,
      openBackoff: 2,
    })
    await run(boom)
    const periods: number[] = []
    for (let i = 0; i < 4; i++) {
      clock.advance(breaker.stats().retryAfterMs)
      await run(boom) // the probe fails
      periods.push(breaker.stats().retryAfterMs)
    }
    expect(periods).toEqual([2_000, 3_000, 3_000, 3_000])
    clock.advance(3_000)
    await run(ok)
    expect(breaker.state).toBe('closed')
    await run(boom)
    expect(breaker.stats().retryAfterMs).toBe(1_000) // back to openMs once closed
  })

  it('counts a slow probe as a failed one', async () => {
    const { breaker, run, clock } = setup({ consecutiveFailures: 1, openMs: 1_000, slowCallMs: 100 })
    await run(boom)
    clock.advance(1_000)
    await run(async () => {
      clock.advance(200)
    })
    expect(breaker.state).toBe('open')
  })

  it('frees the slot of a probe the caller aborted', async () => {
    const { breaker, run, clock } = setup({ consecutiveFailures: 1, openMs: 1_000 })
    await run(boom)
    clock.advance(1_000)
    await run(() => Promise.reject(new GuardError('E_ABORTED', 'gone')))
    expect(breaker.state).toBe('half-open')
    await run(ok)
    expect(breaker.state).toBe('closed')
  })

  it('drops the outcomes of calls admitted before the state changed', async () => {
    const { breaker, run } = setup({ consecutiveFailures: 1, openMs: 1_000 })
    const late = deferred()
    const slowCall = run(() => late.promise)
    await run(boom) // opens
    late.reject(new Error('late failure'))
    await slowCall
    expect(breaker.stats().retryAfterMs).toBe(1_000) // not reopened for longer by the late failure
  })

  it('isolate() holds it open until reset(), which also forgets the window', async () => {
    const { breaker, run, changes } = setup({ windowSize: 10, minimumCalls: 10 })
    await run(boom)
    breaker.isolate()
    const isolated = (await run(ok)) as GuardError
    expect(isolated).toMatchObject({ code: 'E_CIRCUIT_OPEN' })
    expect(isolated.retryAfterMs).toBeUndefined()
    expect(breaker.state).toBe('isolated')
    breaker.reset()
    expect(breaker.state).toBe('closed')
    expect(breaker.stats().calls).toBe(0)
    expect(await run(ok)).toBe('ok')
    expect(changes.map((c) => c.reason)).toEqual(['isolate', 'reset'])
  })

  it('rejects a call whose signal already fired with E_ABORTED', async () => {
    const { breaker } = setup()
    const controller = new AbortController()
    controller.abort()
    await expect(breaker.execute(ok, controller.signal)).rejects.toMatchObject({ code: 'E_ABORTED' })
  })
})

describe('circuitBreaker(): observability', () => {
  it('publishes state changes and rejections, and exports its state as a gauge', async () => {
    const registry = new Registry()
    const states: unknown[] = []
    const rejected: unknown[] = []
    const onState = (e: unknown) => states.push(e)
    const onRejected = (e: unknown) => rejected.push(e)
    diagnostics.subscribe(GUARD_CHANNELS.breakerState, onState)
    diagnostics.subscribe(GUARD_CHANNELS.breakerRejected, onRejected)
    try {
      const { run } = setup({ name: 'payments', consecutiveFailures: 1, openMs: 2_000, registry })
      expect(registry.metrics()).toContain('hundredfold_guard_breaker_state{policy="payments"} 0')
      await run(boom)
      await run(ok)
      expect(registry.metrics()).toContain('hundredfold_guard_breaker_state{policy="payments"} 2')
      expect(registry.metrics()).toContain(
        'hundredfold_guard_rejections_total{policy="payments",reason="E_CIRCUIT_OPEN"} 1',
      )
    } finally {
      diagnostics.unsubscribe(GUARD_CHANNELS.breakerState, onState)
      diagnostics.unsubscribe(GUARD_CHANNELS.breakerRejected, onRejected)
    }
    expect(states).toEqual([
      { policy: 'payments', from: 'closed', to: 'open', reason: 'consecutive-failures', openMs: 2_000 },
    ])
    expect(rejected).toEqual([{ policy: 'payments', code: 'E_CIRCUIT_OPEN', retryAfterMs: 2_000 }])
  })

  it('validates its options eagerly, naming the bad one', () => {
    const option = (o: CircuitBreakerOptions) => {
      try {
        circuitBreaker(o)
      } catch (err) {
        return (err as { option?: string }).option
      }
      return undefined
    }
    expect(option({ windowSize: 10, minimumCalls: 20 })).toBe('options.minimumCalls')
    expect(option({ failureRatio: 1.5 })).toBe('options.failureRatio')
    expect(option({ openMs: 1_000, maxOpenMs: 10 })).toBe('options.maxOpenMs')
    expect(option({ halfOpenProbes: 0 })).toBe('options.halfOpenProbes')
    expect(option({ window: 'sliding' as never })).toBe('options.window')
    expect(option({ slowCallMs: -1 })).toBe('options.slowCallMs')
    expect(option({ consecutiveFailures: 1.5 })).toBe('options.consecutiveFailures')
  })
})

describe('circuitBreaker(): properties', () => {
  type Command =
    | { kind: 'start' }
    | { kind: 'settle'; index: number; fail: boolean }
    | { kind: 'advance'; ms: number }
  const command = fc.oneof(
    { weight: 4, arbitrary: fc.constant<Command>({ kind: 'start' }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('settle' as const), index: fc.nat(), fail: fc.boolean() }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1_500 }) }),
    },
  )

  it('never runs a call while open, and never admits more than k probes in one half-open period', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(command, { minLength: 30, maxLength: 150 }),
        async (k, commands) => {
          const clock = fakeClock(0)
          let admittedThisHalfOpen = 0
          const breaker = circuitBreaker({
            now: clock.now,
            consecutiveFailures: 2,
            failureRatio: false,
            openMs: 1_000,
            halfOpenProbes: k,
            onStateChange: (e) => {
              if (e.to === 'half-open') admittedThisHalfOpen = 0
            },
          })
          const pending: ReturnType<typeof deferred>[] = []
          const violations: string[] = []
          for (const c of commands) {
            if (c.kind === 'advance') clock.advance(c.ms)
            else if (c.kind === 'settle') {
              const call = pending.splice(c.index % Math.max(1, pending.length), 1)[0]
              if (call) {
                if (c.fail) call.reject(new Error('x'))
                else call.resolve('ok')
                await flush()
              }
            } else {
              const stateBefore: BreakerState = breaker.state
              const call = deferred()
              let ran = false
              breaker
                .execute(() => {
                  ran = true
                  if (stateBefore === 'open' || stateBefore === 'isolated') violations.push('ran while open')
                  if (stateBefore === 'half-open' && ++admittedThisHalfOpen > k)
                    violations.push('more than k probes')
                  return call.promise
                })
                .catch(() => {})
              if (ran) pending.push(call)
            }
          }
          expect(violations).toEqual([])
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('circuitBreaker() composed', () => {
  it('under wrap(rateLimit, breaker, timeout): timeouts open it, rate-limit refusals do not count', async () => {
    const limiter = rateLimiter({ limit: 3, windowMs: 60_000 })
    const breaker = circuitBreaker({ consecutiveFailures: 2, failureRatio: false })
    const guarded = wrap(rateLimit(limiter, 'svc'), breaker, timeout({ ms: 5 }))
    const never = ({ signal }: { signal: AbortSignal }) =>
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    await expect(guarded.execute(never)).rejects.toMatchObject({ code: 'E_TIMEOUT' })
    await expect(guarded.execute(never)).rejects.toMatchObject({ code: 'E_TIMEOUT' })
    expect(breaker.state).toBe('open')
    await expect(guarded.execute(async () => 1)).rejects.toMatchObject({ code: 'E_CIRCUIT_OPEN' })
    await expect(guarded.execute(async () => 1)).rejects.toMatchObject({ code: 'E_RATE_LIMITED' })
    expect(breaker.stats().calls).toBe(2)
  })
})
