import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  acquireWorkerLease,
  DEFAULT_EPOCH,
  decode,
  type LeaseStore,
  MemoryLeaseStore,
  statefulSetOrdinal,
  type WorkerLeaseOptions,
} from '../src/index.js'
import { rejection, thrown } from './support/caught.js'
import { ChaosLeaseStore } from './support/chaos-lease-store.js'

const T0 = DEFAULT_EPOCH + 9_000_000
const TTL = 1000 // renewals every 200 ms, issuing stops 500 ms after the last good one

// Fake timers drive the renewal loop; Date.now() (faked too) is the lease's monotonic clock and the store's.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

function setup(extra: Partial<WorkerLeaseOptions> = {}) {
  const memory = new MemoryLeaseStore({ now: () => Date.now() })
  const store = new ChaosLeaseStore(memory)
  let wall = T0
  // The wall clock runs from T0 with the (fake) time elapsed since setup; never wraps back mid-test.
  const started = Date.now()
  const options = {
    store,
    ttlMs: TTL,
    quarantineMs: 300,
    monotonic: () => Date.now(),
    clock: () => wall + (Date.now() - started),
    ...extra,
  }
  return { memory, store, options, setWall: (ms: number) => (wall = ms) }
}

describe('acquireWorkerLease', () => {
  it('leases a worker id, keeps it renewed, and issues ids under it', async () => {
    const { options, store } = setup({ hint: 12 })
    const lease = await acquireWorkerLease(options)
    expect(lease).toMatchObject({ workerId: 12, fencingToken: 1, startAfter: 0 })
    const ids = lease.generator()
    expect(lease.generator()).toBe(ids)
    expect(decode(ids.next()).workerId).toBe(12)
    await vi.advanceTimersByTimeAsync(TTL * 5)
    expect(store.calls.renew).toBeGreaterThanOrEqual(20)
    expect(lease.valid).toBe(true)
    expect(decode(ids.next()).workerId).toBe(12)
    await lease.release()
  })

  it('stops issuing exactly ttlMs / 2 after the last good renewal when the store is unreachable', async () => {
    const { options, store } = setup()
    const lease = await acquireWorkerLease(options)
    const ids = lease.generator()
    await vi.advanceTimersByTimeAsync(1000)
    const renewals = store.calls.renew
    expect(renewals).toBe(5)
    const lastGoodSentAt = Date.now() // the fifth renewal was sent just now
    store.mode = 'unreachable'
    const lost = vi.fn()
    lease.lost.addEventListener('abort', lost)
    // Renewals keep failing; ids keep coming until the deadline…
    await vi.advanceTimersByTimeAsync(TTL / 2 - 1)
    expect(store.calls.renew).toBeGreaterThan(renewals)
    expect(Date.now() - lastGoodSentAt).toBe(TTL / 2 - 1)
    expect(() => ids.nextBatch(3)).not.toThrow()
    // …and not one millisecond past it, even without the event loop turning.
    vi.setSystemTime(lastGoodSentAt + TTL / 2 + 1)
    expect(thrown(() => ids.next())).toMatchObject({ code: 'E_LEASE_LOST', workerId: lease.workerId })
    expect(lost).toHaveBeenCalledTimes(1)
    expect(lease.lost.reason).toMatchObject({ code: 'E_LEASE_LOST' })
    expect(lease.valid).toBe(false)
  })

  it('retries a failed renewal every retryEveryMs, so a store back within ttlMs / 2 keeps the lease', async () => {
    // TTL 1000: renewals every 200 ms; the deadline is 500 ms after the last good one.
    const { options, store } = setup({ retryEveryMs: 20 })
    const lease = await acquireWorkerLease(options)
    await vi.advanceTimersByTimeAsync(200) // the first renewal, good
    store.mode = 'unreachable'
    const before = store.calls.renew
    // Down for 450 ms (a failover): renewed every 200 ms it would try at +200 and +400 and then
    // only at +600, past the deadline; retried every 20 ms it tries again right after the store is back.
    await vi.advanceTimersByTimeAsync(450)
    expect(store.calls.renew - before).toBeGreaterThanOrEqual(10)
    store.mode = 'ok'
    await vi.advanceTimersByTimeAsync(40)
    expect(lease.valid).toBe(true)
    await vi.advanceTimersByTimeAsync(2000)
    expect(lease.valid).toBe(true)
    // Back to renewEveryMs once renewed: about 10 renewals in 2 s, not 100.
    await lease.release()
  })

  // Unreachable: lost from its own timer once the TTL's safe half has passed, with nobody asking for ids.
  // Taken over: lost at the first renewal that hears it.
  it.each([
    ['unreachable', TTL / 2 + 5],
    ['taken', TTL / 5 + 1],
  ] as const)('a lease whose store turns %s is lost after %d ms on its own timer', async (mode, ms) => {
    const { options, store } = setup()
    const lease = await acquireWorkerLease(options)
    store.mode = mode
    await vi.advanceTimersByTimeAsync(ms)
    expect(lease.lost.aborted).toBe(true)
    expect(thrown(() => lease.generator().next()).code).toBe('E_LEASE_LOST')
  })

  it('release persists the last timestamp; the next holder starts after it', async () => {
    const { options, memory } = setup({ hint: 3 })
    const first = await acquireWorkerLease(options)
    const last = first.generator().nextBatch(10).at(-1)!
    await first.release()
    await first.release() // twice is fine
    expect(thrown(() => first.generator().next()).code).toBe('E_LEASE_RELEASED')
    expect(first.lost.reason).toMatchObject({ code: 'E_LEASE_RELEASED' })

    await vi.advanceTimersByTimeAsync(301)
    const second = await acquireWorkerLease({ ...options, store: memory })
    expect(second).toMatchObject({ workerId: 3, startAfter: decode(last).timestamp })
    expect(second.generator().next() > last).toBe(true)
    await second.release()
  })

  it('refuses with E_CLOCK_BEHIND_LEASE when the clock is behind the worker id, and gives it back', async () => {
    const { options, setWall } = setup({ hint: 8 })
    const first = await acquireWorkerLease(options)
    first.generator().next()
    await first.release()
    await vi.advanceTimersByTimeAsync(301)
    setWall(T0 - 3_600_000) // an hour behind
    const error = await rejection(acquireWorkerLease(options))
    expect(error).toMatchObject({ code: 'E_CLOCK_BEHIND_LEASE', workerId: 8 })
    expect(error.backwardsMs).toBeGreaterThan(3_500_000)
    setWall(T0)
    await vi.advanceTimersByTimeAsync(301)
    const retried = await acquireWorkerLease(options)
    expect(retried.workerId).toBe(8)
    await retried.release()
  })

  it('waits for a worker id to come free instead of failing, so restarts never run out', async () => {
    const { options, memory } = setup()
    const held: Array<{ workerId: number }> = []
    for (let i = 0; i < 1024; i++) {
      held.push(
        (await memory.acquire({ holder: `crashed-${i}`, ttlMs: 700, quarantineMs: 300, issueUntil: 0 }))!,
      )
    }
    const pending = acquireWorkerLease({ ...options, store: memory })
    let settled = false
    void pending.then(() => (settled = true))
    await vi.advanceTimersByTimeAsync(900)
    expect(settled).toBe(false) // expired at 700 ms, resting until 1000 ms
    await vi.advanceTimersByTimeAsync(400)
    const lease = await pending
    expect(lease.workerId).toBeGreaterThanOrEqual(0)
    await lease.release()
  })

  it('gives up with E_NO_WORKER_ID after waitMs, and with E_ABORTED on its signal', async () => {
    const full: LeaseStore = {
      name: 'full',
      acquire: async () => undefined,
      renew: async () => {},
      release: async () => {},
      close: async () => {},
    }
    const { options } = setup()
    const waiting = rejection(acquireWorkerLease({ ...options, store: full, waitMs: 1000 }))
    await vi.advanceTimersByTimeAsync(1100)
    expect((await waiting).code).toBe('E_NO_WORKER_ID')

    const controller = new AbortController()
    const aborted = rejection(acquireWorkerLease({ ...options, store: full, signal: controller.signal }))
    await vi.advanceTimersByTimeAsync(300)
    controller.abort()
    expect((await aborted).code).toBe('E_ABORTED')
  })

  it.each([
    [{ store: undefined }, 'options.store must be a LeaseStore such as pgLeaseStore()'],
    [{ ttlMs: 50 }, 'options.ttlMs must be an integer in 100..3600000'],
    [{ renewEveryMs: 500 }, 'options.renewEveryMs must be at least 1 and below ttlMs / 2'],
    [{ quarantineMs: 5 }, 'options.quarantineMs must exceed options.maxBackwardsMs'],
    [{ quarantineMs: 50, maxBackwardsMs: 50 }, 'options.quarantineMs must exceed options.maxBackwardsMs'],
    [{ hint: 1024 }, 'options.hint must be an integer in 0..1023'],
    [{ holder: '' }, 'options.holder must be a string of 1..200 characters'],
    [{ clock: 1 }, 'options.clock must be a function returning unix milliseconds'],
  ])('rejects %o', async (bad, message) => {
    const { options } = setup()
    const error = await rejection(acquireWorkerLease({ ...options, ...bad } as never))
    expect(error).toMatchObject({ code: 'E_INVALID_OPTION', message })
  })
})

describe('statefulSetOrdinal', () => {
  it.each([
    ['ids-0', 0],
    ['id-service-17', 17],
    ['ids-1023', 1023],
    ['ids-1024', undefined],
    ['ids', undefined],
    ['ids-3a', undefined],
  ])('%s → %s', (name, ordinal) => {
    expect(statefulSetOrdinal(name)).toBe(ordinal)
  })
})
