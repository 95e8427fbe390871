import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import type { LeaseStore } from '../lease/lease-store.js'

/** Makes a fresh, empty store for one test; `close` releases what it holds. */
export type StoreFactory = () => Promise<{ store: LeaseStore; close(): Promise<void> }>

const TTL = 300
const QUARANTINE = 200

/** What a renewal by a key that no longer holds its worker id must reject with. */
const lost = (workerId?: number) => ({
  name: 'IdError',
  code: 'E_LEASE_LOST',
  ...(workerId === undefined ? {} : { workerId }),
})

/**
 * The behaviour every LeaseStore must have, written once and run against each (memory, postgres), as
 * bentocache's registerCacheDriverTestSuite does for its drivers. Call it at the top level of a vitest
 * test file; `factory` runs once per test and must hand back an empty store. The suite waits out real
 * TTLs of a few hundred ms, so a store must honour `ttlMs` and `quarantineMs` on its own clock.
 *
 * @example
 * import { registerLeaseStoreContract } from '@hundredfold/id/testing'
 * registerLeaseStoreContract('my store', async () => {
 *   const store = myLeaseStore({ table: `leases_${Date.now()}` })
 *   return { store, close: () => store.close() }
 * })
 */
export function registerLeaseStoreContract(name: string, factory: StoreFactory): void {
  describe(`LeaseStore contract: ${name}`, () => {
    let opened: { store: LeaseStore; close(): Promise<void> } | undefined
    const open = async () => {
      opened = await factory()
      return opened.store
    }
    afterEach(async () => {
      await opened?.close()
      opened = undefined
    })
    const request = (holder: string, extra: { hint?: number; ttlMs?: number; issueUntil?: number } = {}) => ({
      holder,
      ttlMs: TTL,
      quarantineMs: QUARANTINE,
      issueUntil: 100,
      ...extra,
    })

    it('grants distinct worker ids to concurrent holders, with increasing fencing tokens', async () => {
      const store = await open()
      const grants = await Promise.all(Array.from({ length: 40 }, (_, i) => store.acquire(request(`h${i}`))))
      const workerIds = new Set(grants.map((grant) => grant!.workerId))
      expect(workerIds.size).toBe(40)
      const tokens = grants.map((grant) => grant!.fencingToken)
      expect(new Set(tokens).size).toBe(40)
      for (const grant of grants)
        expect(grant).toMatchObject({ lastTimestamp: 0, holder: expect.any(String) })
      const later = await store.acquire(request('late'))
      expect(later!.fencingToken).toBeGreaterThan(Math.max(...tokens))
    })

    it('prefers the hint while it is free, and never hands it to a second holder', async () => {
      const store = await open()
      const first = await store.acquire(request('a', { hint: 37 }))
      expect(first!.workerId).toBe(37)
      const second = await store.acquire(request('b', { hint: 37 }))
      expect(second!.workerId).not.toBe(37)
    })

    it('has 1024 worker ids and answers undefined when every one is leased', async () => {
      const store = await open()
      const held = new Set<number>()
      for (let batch = 0; batch < 64; batch++) {
        const grants = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            store.acquire(request(`h${batch * 16 + i}`, { ttlMs: 60_000 })),
          ),
        )
        for (const grant of grants) held.add(grant!.workerId)
      }
      expect(held.size).toBe(1024)
      expect(Math.min(...held)).toBe(0)
      expect(Math.max(...held)).toBe(1023)
      expect(await store.acquire(request('one-too-many'))).toBeUndefined()
    })

    it('renews, persists the highest bound, and a release stores the exact last timestamp', async () => {
      const store = await open()
      const grant = (await store.acquire(request('a', { hint: 5, issueUntil: 500 })))!
      expect(grant.lastTimestamp).toBe(0)
      await store.renew(grant, { ttlMs: TTL, issueUntil: 1_000 })
      await store.renew(grant, { ttlMs: TTL, issueUntil: 900 })
      await sleep(TTL - 100)
      await store.renew(grant, { ttlMs: TTL, issueUntil: 1_200 }) // still held: renewed in time
      await store.release(grant, 1_100) // the holder stopped at 1100: nothing above it was issued
      expect(await store.acquire(request('b', { hint: 5 }))).not.toMatchObject({ workerId: 5 })
      await sleep(QUARANTINE + 50)
      const next = (await store.acquire(request('c', { hint: 5, issueUntil: 2_000 })))!
      expect(next).toMatchObject({ workerId: 5, lastTimestamp: 1_100 })
      expect(next.fencingToken).toBeGreaterThan(grant.fencingToken)
    })

    it('after a crash, hands the next holder the bound the crashed one had on record', async () => {
      const store = await open()
      const crashed = (await store.acquire(request('a', { hint: 6, issueUntil: 700 })))!
      await store.renew(crashed, { ttlMs: TTL, issueUntil: 2_000 })
      await sleep(TTL + QUARANTINE + 50)
      expect(await store.acquire(request('b', { hint: 6, issueUntil: 3_000 }))).toMatchObject({
        workerId: 6,
        lastTimestamp: 2_000,
      })
      const early = (await store.acquire(request('c', { hint: 7, issueUntil: 700 })))!
      await sleep(TTL + QUARANTINE + 50) // crashed before any renewal: the acquisition's bound holds
      expect(await store.acquire(request('d', { hint: 7 }))).toMatchObject({
        workerId: 7,
        lastTimestamp: 700,
      })
      expect(early.workerId).toBe(7)
    })

    it('refuses renewal to a stale token, another holder, or an expired lease', async () => {
      const store = await open()
      const grant = (await store.acquire(request('a')))!
      const update = { ttlMs: TTL, issueUntil: 1 }
      for (const key of [
        { ...grant, fencingToken: grant.fencingToken + 1000 },
        { ...grant, holder: 'someone-else' },
      ]) {
        await expect(store.renew(key, update)).rejects.toMatchObject(lost(grant.workerId))
      }
      await sleep(TTL + 50)
      await expect(store.renew(grant, update)).rejects.toMatchObject(lost())
    })

    it('reuses an expired worker id only after its quarantine, and fences the old holder out', async () => {
      const store = await open()
      const old = (await store.acquire(request('old', { hint: 9 })))!
      await store.renew(old, { ttlMs: TTL, issueUntil: 4_242 })
      await sleep(TTL + 20)
      // Expired but resting: not handed out yet.
      expect(await store.acquire(request('new', { hint: 9 }))).not.toMatchObject({ workerId: 9 })
      await sleep(QUARANTINE + 50)
      const taken = (await store.acquire(request('new2', { hint: 9 })))!
      expect(taken).toMatchObject({ workerId: 9, lastTimestamp: 4_242 })
      await expect(store.renew(old, { ttlMs: TTL, issueUntil: 5_000 })).rejects.toMatchObject(lost())
      // A stale release changes nothing: the new holder keeps its lease.
      await store.release(old, 9_999)
      await store.renew(taken, { ttlMs: TTL, issueUntil: 4_300 })
    })

    it('hands out never-used worker ids before ones that just came out of quarantine', async () => {
      const store = await open()
      const a = (await store.acquire(request('a')))!
      await store.release(a, 10)
      await sleep(QUARANTINE + 50)
      const b = (await store.acquire(request('b')))!
      expect(b.workerId).not.toBe(a.workerId)
      expect(b.lastTimestamp).toBe(0)
      expect(a.lastTimestamp).toBe(0)
    })
  })
}
