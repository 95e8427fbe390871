import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Bus, Invalidation } from '../bus.js'
import { createCache } from '../cache.js'
import type { L2Store } from '../l2-store.js'
import { chaosStore } from './chaos-store.js'

/**
 * What a contract run needs over one backend: L2 stores and buses (one per simulated node), and a
 * cleanup run once at the end. The suite closes the stores and buses it opens.
 */
export interface BackendFixture {
  store(): L2Store
  bus(): Bus
  cleanup(): Promise<void>
}

let unique = 0
const key = (name: string) => `${name}:${process.pid}:${Date.now()}:${++unique}`

/**
 * The contract every L2 store and bus pass, written once (bentocache's `registerCacheDriverTestSuite`):
 * the lease protocol at the store, delivery on the bus, and the cache's behaviour over both. Call it
 * at the top level of a vitest test file; `open` runs once, in `beforeAll`.
 *
 * @example
 * registerBackendContract('redis', async () => ({
 *   store: () => redisStore({ connection: url, prefix }),
 *   bus: () => redisBus({ connection: url, channel }),
 *   cleanup: async () => {},
 * }))
 */
export function registerBackendContract(name: string, open: () => Promise<BackendFixture>): void {
  describe(`backend contract: ${name}`, () => {
    let fixture: BackendFixture
    let store: L2Store
    beforeAll(async () => {
      fixture = await open()
      store = fixture.store()
    })
    afterAll(async () => {
      await store.close()
      await fixture.cleanup()
    })

    it('grants one lease per key; the others are told it is busy', async () => {
      const k = key('lease')
      const [first] = await store.acquire([k], ['t1'], 5000)
      const [second] = await store.acquire([k], ['t2'], 5000)
      expect(first).toEqual({ kind: 'lease', token: 't1', stale: undefined })
      expect(second).toEqual({ kind: 'busy', stale: undefined })
    })

    it('stores a fill carrying the current lease, then serves it as a hit', async () => {
      const k = key('fill')
      await store.acquire([k], ['t1'], 5000)
      expect(await store.fill([{ key: k, token: 't1', payload: 'v1', ttlMs: 5000, graceMs: 0 }])).toEqual([
        true,
      ])
      expect(await store.acquire([k], ['t2'], 5000)).toEqual([{ kind: 'hit', payload: 'v1' }])
      expect(await store.peek([k])).toEqual([{ payload: 'v1', fresh: true }])
    })

    it('refuses a fill whose lease a delete voided, and one with a wrong token', async () => {
      const k = key('voided')
      await store.acquire([k], ['t1'], 5000)
      await store.delete([k])
      expect(await store.fill([{ key: k, token: 't1', payload: 'old', ttlMs: 5000, graceMs: 0 }])).toEqual([
        false,
      ])
      await store.acquire([k], ['t2'], 5000)
      expect(await store.fill([{ key: k, token: 't1', payload: 'old', ttlMs: 5000, graceMs: 0 }])).toEqual([
        false,
      ])
      expect(await store.peek([k])).toEqual([undefined])
      expect(await store.fill([{ key: k, token: 't2', payload: 'new', ttlMs: 5000, graceMs: 0 }])).toEqual([
        true,
      ])
    })

    it('serves a stale value within grace beside a new lease, and drops it after', async () => {
      const k = key('grace')
      await store.acquire([k], ['t1'], 5000)
      await store.fill([{ key: k, token: 't1', payload: 'v1', ttlMs: 40, graceMs: 200 }])
      await sleep(80)
      expect(await store.peek([k])).toEqual([{ payload: 'v1', fresh: false }])
      expect(await store.acquire([k], ['t2'], 5000)).toEqual([{ kind: 'lease', token: 't2', stale: 'v1' }])
      expect(await store.acquire([k], ['t3'], 5000)).toEqual([{ kind: 'busy', stale: 'v1' }])
      await sleep(250)
      expect(await store.peek([k])).toEqual([undefined])
    })

    it('lets an abandoned lease expire, and then refuses its token', async () => {
      const k = key('expire')
      await store.acquire([k], ['t1'], 40)
      await sleep(80)
      expect(await store.acquire([k], ['t2'], 5000)).toEqual([
        { kind: 'lease', token: 't2', stale: undefined },
      ])
      expect(await store.fill([{ key: k, token: 't1', payload: 'x', ttlMs: 5000, graceMs: 0 }])).toEqual([
        false,
      ])
    })

    it('answers many keys in one call, each on its own terms', async () => {
      const [a, b, c] = [key('a'), key('b'), key('c')]
      await store.acquire([a], ['ta'], 5000)
      await store.fill([{ key: a, token: 'ta', payload: 'A', ttlMs: 5000, graceMs: 0 }])
      await store.acquire([b], ['tb'], 5000)
      const results = await store.acquire([a, b, c], ['x1', 'x2', 'x3'], 5000)
      expect(results).toEqual([
        { kind: 'hit', payload: 'A' },
        { kind: 'busy', stale: undefined },
        { kind: 'lease', token: 'x3', stale: undefined },
      ])
      expect(
        await store.fill([
          { key: b, token: 'x2', payload: 'B', ttlMs: 5000, graceMs: 0 },
          { key: c, token: 'x3', payload: 'C', ttlMs: 5000, graceMs: 0 },
        ]),
      ).toEqual([false, true])
    })

    it('clears every value and lease, so outstanding tokens are refused', async () => {
      const [a, b] = [key('clear-a'), key('clear-b')]
      await store.acquire([a], ['ta'], 5000)
      await store.fill([{ key: a, token: 'ta', payload: 'A', ttlMs: 5000, graceMs: 0 }])
      await store.acquire([b], ['tb'], 5000)
      await store.clear()
      expect(await store.peek([a, b])).toEqual([undefined, undefined])
      expect(await store.fill([{ key: b, token: 'tb', payload: 'B', ttlMs: 5000, graceMs: 0 }])).toEqual([
        false,
      ])
      expect(await store.acquire([a], ['ta2'], 5000)).toEqual([
        { kind: 'lease', token: 'ta2', stale: undefined },
      ])
    })

    it('delivers an invalidation to every subscriber', async () => {
      const [one, two] = [fixture.bus(), fixture.bus()]
      const heard: Invalidation[] = []
      const off = await two.subscribe((message) => heard.push(message))
      await one.publish({ origin: 'n1', keys: ['k1', 'k2'] })
      for (let i = 0; i < 50 && heard.length === 0; i++) await sleep(10)
      expect(heard).toEqual([{ origin: 'n1', keys: ['k1', 'k2'] }])
      off()
      await Promise.all([one.close(), two.close()])
    })

    describe('the cache over this backend, two nodes', () => {
      const nodes = () => {
        const [busA, busB] = [fixture.bus(), fixture.bus()]
        const a = createCache({ l2: store, bus: busA, nodeId: 'a' })
        const b = createCache({ l2: store, bus: busB, nodeId: 'b' })
        return {
          a,
          b,
          async close() {
            await Promise.all([a.close(), b.close()])
            await Promise.all([busA.close(), busB.close()])
          },
        }
      }

      it('runs the loader once for concurrent callers on both nodes', async () => {
        const { a, b, close } = nodes()
        await Promise.all([a.ready(), b.ready()])
        const k = key('once')
        let loads = 0
        const loader = async () => {
          loads++
          await sleep(50)
          return { n: 1 }
        }
        const all = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).getOrLoad(k, loader)),
        )
        expect(loads).toBe(1)
        expect(all.every((v) => v?.n === 1)).toBe(true)
        await close()
      })

      it('evicts the other node’s L1 on delete, so it reloads the new value', async () => {
        const { a, b, close } = nodes()
        await Promise.all([a.ready(), b.ready()])
        const k = key('evict')
        let version = 1
        const loader = async () => ({ version })
        expect(await b.getOrLoad(k, loader)).toEqual({ version: 1 })
        expect(b.stats().l1Size).toBe(1)
        version = 2
        await a.delete(k)
        for (let i = 0; i < 50 && b.stats().invalidationsReceived === 0; i++) await sleep(10)
        expect(await b.getOrLoad(k, loader)).toEqual({ version: 2 })
        await close()
      })

      it('caches a miss, and multi-gets in one loader call', async () => {
        const { a, b, close } = nodes()
        const [k1, k2, k3] = [key('m1'), key('m2'), key('m3')]
        const calls: string[][] = []
        const many = async (keys: readonly string[]) => {
          calls.push([...keys])
          return new Map(keys.filter((k) => k !== k3).map((k) => [k, k.toUpperCase()]))
        }
        const first = await a.getManyOrLoad([k1, k2, k3], many)
        expect([...first.keys()].sort()).toEqual([k1, k2].sort())
        const second = await b.getManyOrLoad([k1, k2, k3], many)
        expect(second.size).toBe(2)
        expect(calls).toHaveLength(1)
        expect(await b.getOrLoad(k3, async () => 'never')).toBeUndefined()
        expect(b.stats().l2Hits).toBe(3)
        await close()
      })

      it('refuses the stale set of a loader that read before a write', async () => {
        const { a, b, close } = nodes()
        const k = key('race')
        let db = 'old'
        let readDone!: () => void
        const read = new Promise<void>((resolve) => (readDone = resolve))
        const slow = a.getOrLoad(k, async () => {
          const seen = db
          readDone()
          await sleep(50)
          return seen
        })
        await read
        db = 'new'
        await b.delete(k)
        expect(await slow).toBe('old')
        expect(a.stats().staleSetsRefused).toBe(1)
        expect(await b.getOrLoad(k, async () => db)).toBe('new')
        expect(await a.getOrLoad(k, async () => db)).toBe('new')
        await close()
      })

      it('serves no key stale from L2 after an outage that dropped its delete, on either node', async () => {
        // L2 unreachable from node a only: the backend keeps its data, as behind a broken network.
        const { store: flaky, control } = chaosStore(store)
        const [busA, busB] = [fixture.bus(), fixture.bus()]
        const a = createCache({
          l2: flaky,
          bus: busA,
          nodeId: 'a',
          breakerThreshold: 1,
          breakerCooldownMs: 20,
          maxPendingDeletes: 2,
        })
        const b = createCache({ l2: store, bus: busB, nodeId: 'b', l1Max: false })
        const keys = Array.from({ length: 5 }, (_, i) => key(`dropped${i}`))
        let db = 'old'
        for (const k of keys) await a.getOrLoad(k, async () => db)
        control.mode = 'down'
        db = 'new'
        for (const k of keys) await a.delete(k)
        expect(a.stats()).toMatchObject({
          breaker: 'open',
          droppedDeletes: 3,
          pendingDeletes: 2,
          l2Trusted: false,
        })
        expect((await store.peek(keys)).map((v) => v?.payload)).toEqual(Array(5).fill('v"old"'))
        control.mode = 'ok'
        for (let i = 0; i < 100 && a.stats().breaker !== 'closed'; i++) {
          await a.getOrLoad(key('probe'), async () => 'x') // after the cooldown, a call starts the probe
          await sleep(10)
        }
        expect(a.stats()).toMatchObject({ breaker: 'closed', pendingDeletes: 0, l2Trusted: false })
        // The two kept deletes were replayed; the three dropped keys still hold "old" in L2 …
        expect((await store.peek(keys)).map((v) => v?.payload)).toEqual([
          'v"old"',
          'v"old"',
          'v"old"',
          undefined,
          undefined,
        ])
        // … yet node a serves none of them: it deletes each key from L2 before reading it there.
        for (const k of keys) expect(await a.getOrLoad(k, async () => db)).toBe('new')
        expect(a.stats().distrustedKeysCleared).toBe(keys.length)
        // And L2 was repaired by those reads, so node b (which trusts L2) reads the new values too.
        for (const k of keys) expect(await b.getOrLoad(k, async () => 'never')).toBe('new')
        await Promise.all([a.close(), b.close()])
        await Promise.all([busA.close(), busB.close()])
      })
    })
  })
}
