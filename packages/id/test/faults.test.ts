import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { describe, expect, it } from 'vitest'
import { pgLeaseStore } from '../src/drivers/pg/index.js'
import { acquireWorkerLease, DEFAULT_EPOCH, decode, IdError } from '../src/index.js'
import {
  countDuplicates,
  type Issuer,
  issuerWorkspace,
  kill9,
  readIds,
  startIssuer,
} from './support/processes.js'
import { startTcpProxy } from './support/tcp-proxy.js'

// Every case ends in "no duplicate" or "an explicit refusal", against a real PostgreSQL server.

const workspace = issuerWorkspace('faults')
let tables = 0

function cluster(url = workspace.database.url) {
  return createCluster({ driver: pgDriver({ connectionString: url }), pool: { max: 2 } })
}

describe('clock steps back (injected clock, lease on PostgreSQL)', () => {
  // A wall clock advancing 1 ms per 50 reads, so spins make time pass reproducibly; steppable by hand.
  function ticking() {
    let reads = 0
    let offset = 0
    return {
      read: () => DEFAULT_EPOCH + 10_000_000 + Math.floor(reads++ / 50) + offset,
      step: (ms: number) => (offset += ms),
    }
  }

  it.each([
    ['1 ms', 'waits', 1],
    ['5 ms', 'waits', 5],
    ['1 s', 'refuses', 1000],
    ['1 h', 'refuses', 3_600_000],
  ])('a step back of %s %s, and never repeats an id', async (_, outcome, stepMs) => {
    const db = cluster()
    const store = pgLeaseStore({ cluster: db, table: `clock_${++tables}` })
    try {
      const clock = ticking()
      const lease = await acquireWorkerLease({
        store,
        ttlMs: 5000,
        quarantineMs: 200,
        clock: clock.read,
        hint: 1,
      })
      const ids = lease.generator()
      const issued = ids.nextBatch(5000)
      clock.step(-stepMs)
      if (outcome === 'waits') {
        issued.push(...ids.nextBatch(5000))
        expect(ids.stats).toMatchObject({ clockBackwardsWaited: 1, clockBackwardsRefused: 0 })
      } else {
        const refused = (() => {
          try {
            ids.nextBatch(10)
          } catch (error) {
            return error as IdError
          }
          return undefined
        })()
        expect(refused).toBeInstanceOf(IdError)
        expect(refused).toMatchObject({ code: 'E_CLOCK_BACKWARDS', backwardsMs: stepMs })
        expect(ids.stats.clockBackwardsRefused).toBe(1)
        // A restart with the clock still behind lands on the same worker id (hint) after quarantine and
        // refuses: its persisted last timestamp is ahead of this clock.
        await lease.release()
        await sleep(250)
        const restart = { store, quarantineMs: 200, clock: clock.read, hint: 1 }
        await expect(acquireWorkerLease(restart)).rejects.toMatchObject({
          code: 'E_CLOCK_BEHIND_LEASE',
          workerId: 1,
        })
        clock.step(stepMs) // the clock is put right: the same worker id resumes above everything issued
        await sleep(250)
        const again = await acquireWorkerLease(restart)
        expect(again.workerId).toBe(1)
        issued.push(...again.generator().nextBatch(5000))
        await again.release()
      }
      expect(new Set(issued).size).toBe(issued.length)
      await lease.release()
    } finally {
      await db.end()
    }
  })
})

describe('kill -9 and restart (child processes, lease on PostgreSQL)', () => {
  // TTL 5 s: a crashed holder's lease outlives every restart delay tried here (0–2 s).
  const env = (extra: Record<string, string>) => ({
    DB_URL: workspace.database.url,
    TTL_MS: '5000',
    QUARANTINE_MS: '300',
    ...extra,
  })

  async function crashAndRestart(options: {
    table: string
    delayMs: number
    restartOffsetMs: number
    hint?: string
    ttlMs?: string
  }): Promise<{ first: Issuer; second: Issuer; files: string[] }> {
    const files = [
      join(workspace.dir, `${options.table}-a.bin`),
      join(workspace.dir, `${options.table}-b.bin`),
    ]
    const hint = {
      ...(options.hint ? { HINT: options.hint } : {}),
      ...(options.ttlMs ? { TTL_MS: options.ttlMs } : {}),
    }
    const first = startIssuer(env({ TABLE: options.table, OUT: files[0]!, ...hint }))
    await first.waitFor('issuing')
    await sleep(300)
    await kill9(first)
    await sleep(options.delayMs)
    const second = startIssuer(
      env({
        TABLE: options.table,
        OUT: files[1]!,
        CLOCK_OFFSET_MS: String(options.restartOffsetMs),
        ...hint,
      }),
    )
    return { first, second, files }
  }

  it.each([
    [0, 0],
    [2000, 0],
    [0, -1000],
    [500, -3_600_000],
  ])(
    'restart %i ms after kill -9, clock offset %i ms: a fresh worker id, no duplicate',
    async (delayMs, offsetMs) => {
      const table = `crash_${++tables}`
      const { first, second, files } = await crashAndRestart({
        table,
        delayMs,
        restartOffsetMs: offsetMs,
        hint: '4',
      })
      const leasedA = await first.waitFor('leased')
      const leasedB = await second.waitFor('leased')
      await second.waitFor('issuing')
      await sleep(300)
      second.child.kill('SIGTERM')
      await second.waitFor('released')
      // The crashed holder's lease is still live (or resting): the restart must not have been given it.
      expect(leasedB.workerId).not.toBe(leasedA.workerId)
      const ids = readIds(files)
      expect(ids.length).toBeGreaterThan(1000)
      expect(countDuplicates(ids)).toBe(0)
    },
  )

  it.each([
    ['right', 'issues', 0],
    ['an hour behind', 'refuses', -3_600_000],
  ])(
    'a restart that must reuse the crashed worker id waits for it; with its clock %s it %s',
    async (_, outcome, offsetMs) => {
      const table = `reuse_${++tables}`
      // Every other worker id is held by someone else, so the restart can only get the crashed one back.
      const db = cluster()
      const store = pgLeaseStore({ cluster: db, table })
      try {
        for (let i = 0; i < 1023; i += 31) {
          const holders = Array.from({ length: 31 }, (_, j) => `other-${i + j}`)
          await Promise.all(
            holders.map((holder) =>
              store.acquire({ holder, ttlMs: 120_000, quarantineMs: 300, issueUntil: 0 }),
            ),
          )
        }
        const { first, second, files } = await crashAndRestart({
          table,
          delayMs: 0,
          restartOffsetMs: offsetMs,
          ttlMs: '1000',
        })
        const leasedA = await first.waitFor('leased')
        const startedAt = performance.now()
        const result = await second.waitFor('leased', 'refused')
        // It waited for the crashed lease to expire (TTL 1 s) and rest (300 ms) instead of failing.
        expect(performance.now() - startedAt).toBeGreaterThan(800)
        if (outcome === 'refuses') {
          expect(result).toMatchObject({ event: 'refused', code: 'E_CLOCK_BEHIND_LEASE' })
          expect(await second.exited).toBe(2)
        } else {
          expect(result).toMatchObject({ event: 'leased', workerId: leasedA.workerId })
          expect(result.fencingToken).toBeGreaterThan(leasedA.fencingToken!)
          expect(result.startAfter).toBeGreaterThan(0)
          await second.waitFor('issuing')
          second.child.kill('SIGTERM')
          await second.waitFor('released')
        }
        const ids = readIds(files)
        expect(countDuplicates(ids)).toBe(0)
      } finally {
        await db.end()
      }
    },
  )

  it('two processes started with the same configuration get different worker ids', async () => {
    const table = `twins_${++tables}`
    const files = [join(workspace.dir, `${table}-a.bin`), join(workspace.dir, `${table}-b.bin`)]
    const twins = files.map((file) => startIssuer(env({ TABLE: table, OUT: file, HINT: '7' })))
    const leased = await Promise.all(twins.map((twin) => twin.waitFor('leased')))
    await Promise.all(twins.map((twin) => twin.waitFor('issuing')))
    await sleep(300)
    for (const twin of twins) twin.child.kill('SIGTERM')
    await Promise.all(twins.map((twin) => twin.waitFor('released')))
    expect(leased[0]!.workerId).not.toBe(leased[1]!.workerId)
    expect(leased.map((event) => event.workerId)).toContain(7)
    expect(countDuplicates(readIds(files))).toBe(0)
  })
})

describe('lease store unreachable', () => {
  it('stops issuing within ttlMs / 2 of losing the store, with E_LEASE_LOST', async () => {
    const proxy = await startTcpProxy({
      host: '127.0.0.1',
      port: Number(new URL(workspace.database.url).port || 5432),
    })
    const url = new URL(workspace.database.url)
    url.port = String(proxy.port)
    const db = cluster(url.toString())
    const store = pgLeaseStore({ cluster: db, table: `cut_${++tables}` })
    const TTL = 1000
    try {
      const lease = await acquireWorkerLease({ store, ttlMs: TTL })
      const ids = lease.generator()
      const issued: bigint[] = []
      let lastSuccess = 0
      let refusal: IdError | undefined
      let cutAt = Number.POSITIVE_INFINITY
      const started = performance.now()
      // Issue ids continuously (yielding to the event loop between batches); cut the link after 600 ms.
      while (performance.now() - started < 600 + TTL) {
        if (cutAt === Number.POSITIVE_INFINITY && performance.now() - started > 600) {
          proxy.cut()
          cutAt = performance.now()
        }
        try {
          issued.push(...ids.nextBatch(50))
          lastSuccess = performance.now()
        } catch (error) {
          refusal = error as IdError
          break
        }
        await sleep(2)
      }
      expect(refusal).toMatchObject({ code: 'E_LEASE_LOST', workerId: lease.workerId })
      expect(lease.lost.aborted).toBe(true)
      expect(lastSuccess - cutAt).toBeLessThanOrEqual(TTL / 2)
      expect(() => ids.next()).toThrow(IdError)
      expect(new Set(issued).size).toBe(issued.length)
      expect(decode(issued.at(-1)!).workerId).toBe(lease.workerId)
    } finally {
      proxy.restore()
      await db.end()
      await proxy.close()
    }
  })
})
