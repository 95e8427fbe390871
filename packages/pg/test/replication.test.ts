import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgDriver } from '../src/drivers/pg/index.js'
import { type Cluster, createCluster, PgError, Session } from '../src/index.js'
import { type ReplicaSet, startReplicaSet } from '../src/testing/index.js'
import { replicaSetCluster } from './support/replica-set-cluster.js'

/** Writes version `v` of key `k`, never lowering it, and records the write's position in `session`. */
const upsert = (db: Cluster, k: number, v: number, session: Session) =>
  db.write(
    'INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = GREATEST(kv.v, $2)',
    [k, v],
    {
      session,
    },
  )

/** Waits until `check` holds, polling; fails after `ms` (a bound on waiting, not an assertion of speed). */
async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const started = Date.now()
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** One completed probe round, as `hundredfold:pg:probe` publishes it. */
interface ProbeRound {
  cluster: Cluster
  primary: string | undefined
  answered: string[]
  failed: string[]
}

/** Records the probe rounds of `cluster` from now on, until `stop()`. */
function recordProbes(cluster: Cluster): { rounds: ProbeRound[]; stop(): void } {
  const rounds: ProbeRound[] = []
  const listener = (message: unknown) => {
    const round = message as ProbeRound
    if (round.cluster === cluster) rounds.push(round)
  }
  subscribe('hundredfold:pg:probe', listener)
  return { rounds, stop: () => unsubscribe('hundredfold:pg:probe', listener) }
}

describe('a primary and two streaming replicas', () => {
  let set: ReplicaSet
  let db: Cluster

  beforeAll(async () => {
    set = await startReplicaSet({ replicas: 2 })
    await set.sql(set.primary, 'CREATE TABLE kv (k int PRIMARY KEY, v int NOT NULL)')
    db = replicaSetCluster(set, {
      pool: { max: 16 },
      routing: { maxLagMs: 200, probeIntervalMs: 100, tokenWaitMs: 30 },
    })
    await db.ready()
    // A replica that has replayed no transaction yet has no known lag, and is not read from until it has:
    // wait for both to be fit (the CREATE TABLE above reaches them within a few probes).
    for (let i = 0; i < 200; i++) {
      const fit = db.stats().hosts.filter((h) => h.role === 'replica' && h.healthy && h.lagMs !== null)
      if (fit.length === 2) break
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }, 120_000)

  afterAll(async () => {
    await db?.end()
    await set?.destroy()
  })

  it('discovers roles, sends writes to the primary and reads to replicas', async () => {
    const stats = db.stats()
    expect(stats.primary?.host).toBe('primary')
    expect(
      stats.hosts
        .filter((h) => h.role === 'replica')
        .map((h) => h.host)
        .sort(),
    ).toEqual(['replica1', 'replica2'])
    const write = await db.write('SELECT pg_is_in_recovery() AS recovery')
    expect(write.rows[0]).toEqual({ recovery: false })
    const reads = await Promise.all(
      Array.from({ length: 40 }, () =>
        db.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery'),
      ),
    )
    expect(reads.every((r) => r.rows[0]!.recovery)).toBe(true)
  })

  it('read-your-writes: 10^4 random sessions see their own writes with tokens, mostly from replicas', async () => {
    // Bounds far above any replay lag of streaming on loopback, however busy the machine: a read
    // waits for a replica to catch up rather than going to the primary, so the share on replicas
    // depends on routing, not on speed.
    const patient = replicaSetCluster(set, {
      pool: { max: 16 },
      routing: { maxLagMs: 30_000, probeIntervalMs: 100, tokenWaitMs: 10_000 },
    })
    await patient.ready()
    const sessions = fc.sample(
      fc.record({ k: fc.integer({ min: 1, max: 500 }), reads: fc.integer({ min: 1, max: 3 }) }),
      10_000,
    )
    let version = 0
    let stale = 0
    let onReplica = 0
    let reads = 0
    let next = 0
    const worker = async () => {
      for (let i = next++; i < sessions.length; i = next++) {
        const { k, reads: count } = sessions[i]!
        const session = new Session()
        const v = ++version
        await upsert(patient, k, v, session)
        for (let r = 0; r < count; r++) {
          // A token travels as a string: rebuild the session from it, as another process would.
          const carried = new Session(session.token)
          const { rows } = await patient.read<{ v: number; recovery: boolean }>(
            'SELECT v, pg_is_in_recovery() AS recovery FROM kv WHERE k = $1',
            [k],
            { session: carried },
          )
          reads++
          if (!rows[0] || rows[0].v < v) stale++
          if (rows[0]?.recovery) onReplica++
        }
      }
    }
    try {
      await Promise.all(Array.from({ length: 16 }, worker))
    } finally {
      await patient.end()
    }
    expect(stale).toBe(0)
    expect(onReplica / reads).toBeGreaterThanOrEqual(0.9)
    expect(patient.stats().tokensAhead).toBe(0)
  }, 120_000)

  it('read-your-writes holds with 0–2 s of replay lag, where reads without tokens go stale', async () => {
    await set.setApplyDelay(set.replicas[0]!, 300)
    await set.setApplyDelay(set.replicas[1]!, 2000)
    const lagged = replicaSetCluster(set, {
      routing: { maxLagMs: 5000, probeIntervalMs: 100, tokenWaitMs: 20 },
    })
    try {
      await lagged.ready()
      let version = 1_000_000
      let staleWithToken = 0
      let staleWithout = 0
      let next = 0
      const keys = fc.sample(fc.integer({ min: 1000, max: 1200 }), 1500)
      const worker = async () => {
        for (let i = next++; i < keys.length; i = next++) {
          const k = keys[i]!
          const session = new Session()
          const v = ++version
          await upsert(lagged, k, v, session)
          const withToken = await lagged.read<{ v: number }>('SELECT v FROM kv WHERE k = $1', [k], {
            session,
          })
          if (!withToken.rows[0] || withToken.rows[0].v < v) staleWithToken++
          const without = await lagged.read<{ v: number }>('SELECT v FROM kv WHERE k = $1', [k])
          if (!without.rows[0] || without.rows[0].v < v) staleWithout++
        }
      }
      await Promise.all(Array.from({ length: 16 }, worker))
      expect(staleWithToken).toBe(0)
      expect(staleWithout).toBeGreaterThan(0)
    } finally {
      await lagged.end()
      await set.setApplyDelay(set.replicas[0]!, 0)
      await set.setApplyDelay(set.replicas[1]!, 0)
    }
  }, 120_000)

  it('a token ahead of the primary (forged) is read as no token: on a replica, cleared, counted', async () => {
    await until(
      () => db.stats().hosts.every((h) => h.healthy && (h.lagMs ?? 0) <= 200),
      10_000,
      'replicas caught up',
    )
    const before = db.stats()
    const forged = new Session('FFFFFFFF/FFFFFFFF')
    const { rows } = await db.read<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery', [], {
      session: forged,
    })
    // Before, no replica could ever reach it: the read waited tokenWaitMs and went to the primary.
    expect(rows[0]!.recovery).toBe(true)
    expect(forged.token).toBeUndefined()
    const after = db.stats()
    expect(after.tokensAhead).toBe(before.tokensAhead + 1)
    expect(after.primary!.reads).toBe(before.primary!.reads)
    // The session reads normally from then on, with no further check.
    await db.read('SELECT 1', [], { session: forged })
    expect(db.stats().tokensAhead).toBe(before.tokensAhead + 1)

    // A genuine token from a write this cluster never saw (another process's) is honoured, not dropped.
    await set.sql(set.primary, 'INSERT INTO kv (k, v) VALUES (7777, 1) ON CONFLICT (k) DO UPDATE SET v = 1')
    const [row] = await set.sql<{ lsn: string }>(
      set.primary,
      'SELECT pg_current_wal_insert_lsn()::text AS lsn',
    )
    const lsn = row!.lsn
    const carried = new Session(lsn)
    const seen = await db.read<{ v: number }>('SELECT v FROM kv WHERE k = 7777', [], { session: carried })
    expect(seen.rows).toEqual([{ v: 1 }])
    expect(carried.token).toBe(lsn)
    expect(db.stats().tokensAhead).toBe(before.tokensAhead + 1)
  })

  it('takes a replica out of rotation at the first probe that sees its lag past maxLagMs', async () => {
    let writing = true
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        await db.write('INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2', [
          5000,
          i,
        ])
        await sleep(20)
      }
    })()
    try {
      await until(
        () => db.stats().hosts.every((h) => h.healthy && (h.lagMs ?? 0) <= 200),
        5000,
        'replicas caught up',
      )
      await set.setApplyDelay(set.replicas[1]!, 1500)
      // The delay takes effect on WAL that arrives from now on. Wait until replica2 itself reports a
      // replay age past maxLagMs (200), measured the way the probe measures it.
      const replayAgeMs = async () => {
        const [row] = await set.sql<{ age: number | null }>(
          set.replicas[1]!,
          'SELECT (extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS age',
        )
        return row?.age ?? 0
      }
      await until(async () => (await replayAgeMs()) > 400, 10_000, 'replica2 to lag on the server')
      const probes = recordProbes(db)
      try {
        // A round under way now may have asked replica2 before its lag grew: the second round that
        // replica2 answers from here on started after it, so it must take replica2 out.
        await until(
          () => probes.rounds.filter((r) => r.answered.includes('replica2')).length >= 2,
          10_000,
          'two probe rounds answered by replica2',
        )
        const stats = db.stats().hosts
        const r2 = stats.find((h) => h.host === 'replica2')!
        expect(r2.lagMs === null || r2.lagMs > 200).toBe(true)
        expect(r2.inRotation).toBe(false)
        expect(stats.find((h) => h.host === 'replica1')!.inRotation).toBe(true)
        expect(stats.find((h) => h.role === 'primary')!.inRotation).toBe(false)
      } finally {
        probes.stop()
      }
      const reads = await Promise.all(
        Array.from({ length: 30 }, () =>
          db.read<{ port: number }>("SELECT current_setting('port')::int AS port"),
        ),
      )
      expect(new Set(reads.map((r) => r.rows[0]!.port))).toEqual(new Set([set.replicas[0]!.port]))
    } finally {
      writing = false
      await writer
      await set.setApplyDelay(set.replicas[1]!, 0)
    }
    await until(
      () => db.stats().hosts.every((h) => h.healthy && (h.lagMs ?? 0) <= 200),
      10_000,
      'replica2 back',
    )
    await until(
      () => db.stats().hosts.find((h) => h.host === 'replica2')!.inRotation,
      5_000,
      'replica2 in rotation again',
    )
  }, 60_000)

  it('loses no idempotent read when a replica crashes (pg_ctl stop -m immediate)', async () => {
    // Counts, not durations: readers run until 100 reads have completed after the crash.
    let failures = 0
    let done = 0
    let running = true
    const reader = async () => {
      while (running) {
        try {
          await db.read('SELECT count(*) FROM kv')
          done++
        } catch (err) {
          failures++
          console.error('read failed', err)
        }
      }
    }
    const readers = Array.from({ length: 8 }, reader)
    await until(() => done >= 50, 20_000, 'reads before the crash')
    await set.stop(set.replicas[0]!, 'immediate')
    const atCrash = done
    await until(() => done >= atCrash + 100, 20_000, '100 reads after the crash')
    running = false
    await Promise.all(readers)
    expect(failures).toBe(0)
    await set.start(set.replicas[0]!)
    await until(() => db.stats().hosts.filter((h) => h.healthy).length === 3, 10_000, 'replica1 back')
  }, 60_000)

  it('fails over: after the primary stops and a replica is promoted, writes resume there; none reach a read-only host', async () => {
    const discovered = createCluster({
      hosts: set.servers.map((s) => pgDriver({ connectionString: s.url, label: s.name })),
      routing: { probeIntervalMs: 100, maxLagMs: 300 },
      pool: { acquireTimeoutMs: 1000 },
    })
    try {
      await discovered.ready()
      expect(discovered.stats().primary?.host).toBe('primary')
      const outcomes: Array<{ ok: boolean; code?: string }> = []
      let running = true
      let n = 10_000
      const writer = (async () => {
        while (running) {
          const k = n++
          try {
            await discovered.write('INSERT INTO kv (k, v) VALUES ($1, 1)', [k])
            outcomes.push({ ok: true })
          } catch (err) {
            outcomes.push({ ok: false, code: err instanceof PgError ? err.code : String(err) })
            await sleep(5)
          }
        }
      })()
      await until(() => outcomes.filter((o) => o.ok).length >= 20, 10_000, 'writes before the stop')
      await set.stop(set.primary, 'fast')
      await until(() => outcomes.some((o) => !o.ok), 10_000, 'a write to fail after the stop')
      // With no primary, replicas keep the lag they had (none can grow): reads go on from them,
      // past maxLagMs of replay age, for the failover's length.
      const probesWithout = recordProbes(discovered)
      await until(
        () => probesWithout.rounds.filter((r) => !r.primary).length >= 5,
        10_000,
        'probe rounds with no primary',
      )
      probesWithout.stop()
      const replicaReadsBefore = discovered
        .stats()
        .hosts.filter((h) => h.role === 'replica')
        .reduce((n, h) => n + h.reads, 0)
      const readWithout = await discovered.read('SELECT count(*)::int AS n FROM kv')
      expect(readWithout.rows[0]).toBeDefined()
      const replicaReadsAfter = discovered
        .stats()
        .hosts.filter((h) => h.role === 'replica')
        .reduce((n, h) => n + h.reads, 0)
      expect(replicaReadsAfter).toBe(replicaReadsBefore + 1)
      expect(
        discovered
          .stats()
          .hosts.filter((h) => h.role === 'replica' && h.healthy)
          .every((h) => h.lagMs !== null && h.lagMs <= 300),
      ).toBe(true)
      const probes = recordProbes(discovered)
      // pg_ctl promote -w returns once replica1 accepts writes (the cluster may have seen it already).
      await set.promote(set.replicas[0]!)
      const promoted = probes.rounds.length
      await until(() => discovered.stats().primary?.host === 'replica1', 10_000, 'replica1 to be primary')
      probes.stop()
      // Found at the latest by the second probe round that replica1 answered after its promotion (the
      // first may have asked it just before), however long those rounds took.
      const found = probes.rounds.findIndex((r) => r.primary === 'replica1')
      expect(found).toBeGreaterThanOrEqual(0)
      const answeredSince = probes.rounds
        .slice(promoted, found + 1)
        .filter((r) => r.answered.includes('replica1'))
      expect(answeredSince.length).toBeLessThanOrEqual(2)
      await until(
        () => outcomes.slice(-5).length === 5 && outcomes.slice(-5).every((o) => o.ok),
        10_000,
        'writes to resume',
      )
      running = false
      await writer
      // Every failed write failed fast as retryable, never with a read-only error from a replica.
      const codes = new Set(outcomes.filter((o) => !o.ok).map((o) => o.code))
      for (const code of codes) expect(['E_NO_PRIMARY', 'E_CONNECTION_LOST', 'E_CONNECT']).toContain(code)
      // Every acknowledged write is on the new primary.
      // (A write whose session died mid-statement is unacknowledged: it may or may not have committed.)
      const acknowledged = outcomes.filter((o) => o.ok).length
      const unknown = outcomes.filter((o) => o.code === 'E_CONNECTION_LOST').length
      const rows = await set.sql<{ n: string }>(
        set.replicas[0]!,
        'SELECT count(*) AS n FROM kv WHERE k >= 10000',
      )
      expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(acknowledged)
      expect(Number(rows[0]!.n)).toBeLessThanOrEqual(acknowledged + unknown)
    } finally {
      await discovered.end()
    }
  }, 60_000)
})
