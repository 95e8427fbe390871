import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { acquireWorkerLease, DEFAULT_EPOCH, decode, MemoryLeaseStore, type Snowflake } from '../src/index.js'
import { countDuplicates, issuerWorkspace, readIds, startIssuer } from './support/processes.js'

// The full 10^7 runs in `npm run bench -- id`; here a count that keeps the suite quick.
const PROCESSES = 8
const IDS_PER_PROCESS = 25_000

describe('no duplicates across processes (property)', () => {
  const workspace = issuerWorkspace('property')

  it(`${PROCESSES} processes leasing from one PostgreSQL issue ${PROCESSES * IDS_PER_PROCESS} ids, all distinct`, async () => {
    const files = Array.from({ length: PROCESSES }, (_, i) => join(workspace.dir, `p${i}.bin`))
    // Same configuration everywhere, hint included: only the lease tells them apart.
    const issuers = files.map((file) =>
      startIssuer({
        DB_URL: workspace.database.url,
        OUT: file,
        HINT: '0',
        COUNT: String(IDS_PER_PROCESS),
        BATCH: '1000',
        PACE: 'fast',
        // Uniqueness is under test here, not lease timing: a TTL that a loaded machine's eight starting
        // processes cannot miss a renewal of (the fault tests exercise lost leases on purpose).
        TTL_MS: '10000',
      }),
    )
    const leased = await Promise.all(issuers.map((issuer) => issuer.waitFor('leased')))
    const done = await Promise.all(issuers.map((issuer) => issuer.waitFor('done', 'stopped')))
    expect(done.filter((event) => event.event !== 'done')).toEqual([])
    // A worker id is shared only in sequence: a later holder (higher fencing token) got it after a release
    // and starts after the last timestamp the earlier one issued.
    const byWorker = new Map<number, typeof leased>()
    for (const event of leased)
      byWorker.set(event.workerId!, [...(byWorker.get(event.workerId!) ?? []), event])
    for (const holders of byWorker.values()) {
      const [, ...later] = holders.sort((a, b) => a.fencingToken! - b.fencingToken!)
      for (const event of later) expect(event.startAfter).toBeGreaterThan(0)
    }
    const ids = readIds(files)
    expect(ids.length).toBe(PROCESSES * IDS_PER_PROCESS)
    expect(countDuplicates(ids)).toBe(0)
  })
})

describe('no duplicates under arbitrary clocks, batches, losses and restarts (fast-check model)', () => {
  type Step =
    | { kind: 'issue'; process: number; count: number }
    | { kind: 'clock'; process: number; deltaMs: number }
    | { kind: 'time'; ms: number }
    | { kind: 'restart'; process: number }

  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('issue' as const),
        process: fc.nat(2),
        count: fc.integer({ min: 1, max: 5000 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('clock' as const),
        process: fc.nat(2),
        deltaMs: fc.integer({ min: -3_600_000, max: 50 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('restart' as const), process: fc.nat(2) }) },
  )

  it('every issued id is unique, or the call was refused with a stable code', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        // Three "processes" share one store and the same hint; time only moves when a step says so,
        // so leases expire and come back exactly as the steps dictate.
        let monotonic = 0
        const store = new MemoryLeaseStore({ now: () => monotonic })
        const wall = [0, 0, 0].map(() => DEFAULT_EPOCH + 50_000_000)
        const seen = new Set<bigint>()
        const generators: Array<Snowflake | undefined> = [undefined, undefined, undefined]
        const leases: Array<{ release(): Promise<void> }> = []
        // Each wall clock also creeps 1 ms per 64 reads, so a generator waiting for the next millisecond gets it.
        const reads = [0, 0, 0]
        const start = async (p: number) => {
          try {
            const lease = await acquireWorkerLease({
              store,
              ttlMs: 1000,
              quarantineMs: 200,
              hint: 0,
              waitMs: 0,
              monotonic: () => monotonic,
              clock: () => wall[p]! + monotonic + Math.floor(reads[p]!++ / 64),
            })
            leases.push(lease)
            generators[p] = lease.generator()
          } catch (error) {
            expect(['E_CLOCK_BEHIND_LEASE', 'E_NO_WORKER_ID']).toContain((error as { code: string }).code)
            generators[p] = undefined
          }
        }
        for (let p = 0; p < 3; p++) await start(p)
        for (const s of steps) {
          if (s.kind === 'time') monotonic += s.ms
          else if (s.kind === 'clock') wall[s.process]! += s.deltaMs
          else if (s.kind === 'restart') await start(s.process)
          else {
            const generator = generators[s.process]
            if (!generator) continue
            try {
              const batch = generator.nextBatch(Math.min(s.count, 4096 - 1024))
              expect(decode(batch[0]!).workerId).toBe(generator.workerId)
              const before = seen.size
              for (const id of batch) seen.add(id)
              expect(seen.size - before).toBe(batch.length)
            } catch (error) {
              expect(['E_CLOCK_BACKWARDS', 'E_CLOCK_AHEAD_OF_LEASE', 'E_LEASE_LOST']).toContain(
                (error as { code: string }).code,
              )
            }
          }
        }
        await Promise.all(leases.map((lease) => lease.release()))
      }),
      { numRuns: 60 },
    )
  })
})
