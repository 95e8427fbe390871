import * as diagnostics from 'node:diagnostics_channel'
import { Registry } from '@hundredfold/metrics'
import fc from 'fast-check'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { bulkhead } from '../src/bulkhead/bulkhead.js'
import { BULKHEAD_CHANNELS } from '../src/bulkhead/bulkhead-events.js'
import { WaiterQueue } from '../src/bulkhead/waiter-queue.js'
import type { GuardError } from '../src/errors.js'
import { wrap } from '../src/policy.js'

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((res) => {
    resolve = res
  })
  return { promise, resolve }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

afterEach(() => {
  vi.useRealTimers()
})

describe('bulkhead', () => {
  it('runs at most maxConcurrent, queues at most maxQueued, and refuses the next at once with E_BULKHEAD_FULL', async () => {
    const db = bulkhead({ name: 'db', maxConcurrent: 2, maxQueued: 1 })
    const gates = [deferred(), deferred(), deferred()]
    const calls = gates.map((gate) => db.execute(() => gate.promise))
    expect(db.inFlight).toBe(2)
    expect(db.queued).toBe(1)

    await expect(db.execute(async () => 'refused')).rejects.toMatchObject({
      code: 'E_BULKHEAD_FULL',
      policy: 'db',
      queued: 1,
      maxQueued: 1,
    })
    for (const gate of gates) gate.resolve()
    await Promise.all(calls)
    expect(db.stats()).toEqual({ inFlight: 0, queued: 0, admitted: 3, full: 1, timedOut: 0, aborted: 0 })
  })

  it('admits waiters first in, first out', async () => {
    const db = bulkhead({ maxConcurrent: 1, maxQueued: 10 })
    const order: number[] = []
    const first = deferred()
    const holder = db.execute(() => first.promise)
    const waiters = [1, 2, 3, 4].map((n) =>
      db.execute(async () => {
        order.push(n)
      }),
    )
    first.resolve()
    await Promise.all([holder, ...waiters])
    expect(order).toEqual([1, 2, 3, 4])
  })

  it('takes an aborted waiter out of the queue at once, and the next one moves up', async () => {
    const db = bulkhead({ maxConcurrent: 1, maxQueued: 2 })
    const first = deferred()
    const holder = db.execute(() => first.promise)
    const controller = new AbortController()
    const aborted = db.execute(async () => 'never', controller.signal)
    const kept = db.execute(async () => 'kept')
    expect(db.queued).toBe(2)

    controller.abort(new Error('client gone'))
    await expect(aborted).rejects.toMatchObject({ code: 'E_ABORTED', cause: new Error('client gone') })
    expect(db.queued).toBe(1)
    // The freed place in the queue is usable at once.
    const third = db.execute(async () => 'third')
    expect(db.queued).toBe(2)

    first.resolve()
    await expect(kept).resolves.toBe('kept')
    await expect(third).resolves.toBe('third')
    await holder
    expect(db.stats()).toMatchObject({ aborted: 1, inFlight: 0, queued: 0 })
  })

  it('fails a call that waited queueTimeoutMs with E_QUEUE_TIMEOUT', async () => {
    vi.useFakeTimers()
    let now = 0
    const db = bulkhead({ name: 'db', maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 200, now: () => now })
    const first = deferred()
    const holder = db.execute(() => first.promise)
    const waiting = db.execute(async () => 'late')
    const outcome = expect(waiting).rejects.toMatchObject({
      code: 'E_QUEUE_TIMEOUT',
      policy: 'db',
      waitedMs: 200,
      timeoutMs: 200,
    })
    now = 199
    await vi.advanceTimersByTimeAsync(199)
    expect(db.queued).toBe(1)
    now = 200
    await vi.advanceTimersByTimeAsync(1)
    await outcome
    expect(db.queued).toBe(0)
    first.resolve()
    await holder
    expect(db.stats()).toMatchObject({ timedOut: 1, inFlight: 0 })
  })

  it('releases the slot when the call fails, and passes the signal on', async () => {
    const db = bulkhead({ maxConcurrent: 1 })
    const controller = new AbortController()
    await expect(
      db.execute(async ({ signal }) => {
        expect(signal).toBe(controller.signal)
        throw new Error('query failed')
      }, controller.signal),
    ).rejects.toThrow('query failed')
    expect(db.inFlight).toBe(0)
    await expect(db.execute(async () => 'next')).resolves.toBe('next')
  })

  it('refuses a call whose signal already fired', async () => {
    const db = bulkhead({ maxConcurrent: 1 })
    await expect(db.execute(async () => 1, AbortSignal.abort())).rejects.toMatchObject({ code: 'E_ABORTED' })
    expect(db.stats().admitted).toBe(0)
  })

  it('keeps separate dependencies apart: one full bulkhead does not refuse the other', async () => {
    const postgres = bulkhead({ name: 'postgres', maxConcurrent: 1 })
    const search = bulkhead({ name: 'search', maxConcurrent: 1 })
    const slow = deferred()
    const stuck = search.execute(() => slow.promise)
    await expect(search.execute(async () => 1)).rejects.toMatchObject({
      code: 'E_BULKHEAD_FULL',
      policy: 'search',
    })
    await expect(postgres.execute(async () => 'row')).resolves.toBe('row')
    slow.resolve()
    await stuck
  })

  it('composes with wrap()', async () => {
    const outer = bulkhead({ name: 'outer', maxConcurrent: 1 })
    const inner = bulkhead({ name: 'inner', maxConcurrent: 1 })
    await expect(wrap(outer, inner).execute(async () => 'done')).resolves.toBe('done')
    expect(outer.stats().admitted + inner.stats().admitted).toBe(2)
  })

  it('shows in-flight calls, queue depth, its bound and queue waits on a registry', async () => {
    vi.useFakeTimers()
    let now = 0
    const registry = new Registry()
    const db = bulkhead({ name: 'db', maxConcurrent: 1, maxQueued: 3, registry, now: () => now })
    const first = deferred()
    const holder = db.execute(() => first.promise)
    const waiter = db.execute(async () => 'queued')
    let text = registry.metrics()
    expect(text).toContain('hundredfold_guard_bulkhead_in_flight{policy="db"} 1')
    expect(text).toContain('hundredfold_guard_bulkhead_queued{policy="db"} 1')
    expect(text).toContain('hundredfold_guard_bulkhead_max_queued{policy="db"} 3')
    now = 40
    first.resolve()
    await Promise.all([holder, waiter])
    text = registry.metrics()
    expect(text).toContain('hundredfold_guard_bulkhead_queued{policy="db"} 0')
    expect(text).toContain('hundredfold_guard_queue_wait_seconds_count{policy="db"} 2')
    expect(text).toMatch(/hundredfold_guard_queue_wait_seconds\{policy="db",quantile="0.999"\} 0\.04/)
    bulkhead({ name: 'cache', maxConcurrent: 1, registry }) // a second one shares the families
    expect(registry.metrics()).toContain('hundredfold_guard_bulkhead_in_flight{policy="db"} 0')
  })

  it('counts refusals on the shared rejections counter and publishes them', async () => {
    const registry = new Registry()
    const events: unknown[] = []
    const onFull = (event: unknown) => events.push(event)
    diagnostics.subscribe(BULKHEAD_CHANNELS.full, onFull)
    try {
      const db = bulkhead({ name: 'db', maxConcurrent: 1, registry })
      const gate = deferred()
      const holder = db.execute(() => gate.promise)
      await db.execute(async () => 1).catch(() => {})
      gate.resolve()
      await holder
      expect(registry.metrics()).toContain(
        'hundredfold_guard_rejections_total{policy="db",reason="E_BULKHEAD_FULL"} 1',
      )
      expect(events).toEqual([{ policy: 'db', inFlight: 1, queued: 0, maxQueued: 0 }])
    } finally {
      diagnostics.unsubscribe(BULKHEAD_CHANNELS.full, onFull)
    }
  })

  it('never exceeds its bounds, and every admitted call finishes (random arrivals, completions, aborts)', async () => {
    type Step = { kind: 'arrive' } | { kind: 'complete'; index: number } | { kind: 'abort'; index: number }
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.constant({ kind: 'arrive' as const }),
      fc.record({ kind: fc.constant('complete' as const), index: fc.nat() }),
      fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.array(step, { maxLength: 60 }),
        async (maxConcurrent, maxQueued, steps) => {
          const db = bulkhead({ maxConcurrent, maxQueued, queueTimeoutMs: 60_000 })
          const running: (() => void)[] = []
          const controllers: AbortController[] = []
          const settled: Promise<unknown>[] = []
          let started = 0
          let finished = 0
          for (const s of steps) {
            if (s.kind === 'arrive') {
              const controller = new AbortController()
              controllers.push(controller)
              settled.push(
                db
                  .execute(async () => {
                    started++
                    const gate = deferred()
                    running.push(gate.resolve)
                    await gate.promise
                    finished++
                  }, controller.signal)
                  .catch((error: GuardError) =>
                    expect(['E_BULKHEAD_FULL', 'E_ABORTED']).toContain(error.code),
                  ),
              )
            } else if (s.kind === 'complete' && running.length > 0) {
              running.splice(s.index % running.length, 1)[0]!()
            } else if (s.kind === 'abort' && controllers.length > 0) {
              controllers[s.index % controllers.length]!.abort()
            }
            await flush()
            expect(db.inFlight).toBeLessThanOrEqual(maxConcurrent)
            expect(db.queued).toBeLessThanOrEqual(maxQueued)
            expect(db.inFlight).toBe(started - finished)
          }
          while (running.length > 0) {
            running.shift()!()
            await flush()
          }
          await Promise.all(settled)
          expect(db.inFlight).toBe(0)
          expect(db.queued).toBe(0)
        },
      ),
      { numRuns: 80 },
    )
  })

  it('rejects bad options, naming them', () => {
    for (const [options, option] of [
      [{}, 'options.maxConcurrent'],
      [{ maxConcurrent: 0 }, 'options.maxConcurrent'],
      [{ maxConcurrent: 1, maxQueued: Number.POSITIVE_INFINITY }, 'options.maxQueued'],
      [{ maxConcurrent: 1, queueTimeoutMs: Number.POSITIVE_INFINITY }, 'options.queueTimeoutMs'],
      [{ maxConcurrent: 1, name: 7 }, 'options.name'],
    ] as const) {
      expect(() => bulkhead(options as never)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION', option }),
      )
    }
  })
})

describe('WaiterQueue', () => {
  it('removes from the head, the middle and the tail, and a second removal does nothing', () => {
    const queue = new WaiterQueue<string>()
    const nodes = ['a', 'b', 'c', 'd'].map((v) => queue.push(v))
    queue.remove(nodes[1]!)
    queue.remove(nodes[1]!)
    queue.remove(nodes[3]!)
    expect(queue.size).toBe(2)
    expect(queue.shift()).toBe('a')
    queue.remove(nodes[0]!) // already shifted
    expect(queue.shift()).toBe('c')
    expect(queue.shift()).toBeUndefined()
    expect(queue.size).toBe(0)
    queue.push('e')
    expect(queue.shift()).toBe('e')
  })
})
