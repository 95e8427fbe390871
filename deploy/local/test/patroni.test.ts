import { setTimeout as sleep } from 'node:timers/promises'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  haPortOffsets,
  type PatroniCluster,
  type PatroniMember,
  startPatroniCluster,
} from '../src/ha/index.js'
import { isPortFree } from '../src/ports.js'

/** A base port below the ephemeral range whose every port a 3 + 3 cluster needs is free. */
async function freeBase(): Promise<number> {
  const offsets = Object.values(haPortOffsets).flatMap((o) => [o, o + 1, o + 2])
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 250) * 50
    if ((await Promise.all(offsets.map((o) => isPortFree(base + o)))).every(Boolean)) return base
  }
  throw new Error('no free block of ports in 20000-32499')
}

async function sql<Row>(member: PatroniMember, text: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: member.url, connectionTimeoutMillis: 2000 })
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query(text, params)).rows as Row[]
  } finally {
    await client.end()
  }
}

async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (
    !(await Promise.resolve()
      .then(check)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}

/**
 * Starts a cluster for one suite; `stop` in `afterAll` aborts a start still under way (which then
 * stops what it started) and destroys a started cluster, by PID.
 */
function clusterFixture(synchronous: boolean) {
  const controller = new AbortController()
  let starting: Promise<PatroniCluster> | undefined
  return {
    async start(): Promise<PatroniCluster> {
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(50_000)])
      starting = freeBase().then((basePort) => startPatroniCluster({ basePort, synchronous }, { signal }))
      return starting
    },
    async stop(): Promise<void> {
      controller.abort(new Error('the suite is over'))
      const cluster = await starting?.catch(() => undefined)
      await cluster?.destroy()
    },
  }
}

describe('a Patroni cluster: 3 etcd members, 3 PostgreSQL members, asynchronous replication', () => {
  const fixture = clusterFixture(false)
  let cluster: PatroniCluster

  beforeAll(async () => {
    cluster = await fixture.start()
  }, 60_000)
  afterAll(() => fixture.stop(), 60_000)

  it('promotes a replica when the primary crashes; every replicated row survives and @hundredfold/pg follows', async () => {
    const signal = AbortSignal.timeout(80_000)
    const primary = await cluster.waitForPrimary({ signal, timeoutMs: 10_000 })
    const replicas = cluster.members.filter((m) => m !== primary)
    expect(replicas).toHaveLength(2)

    const db = createCluster({
      hosts: cluster.members.map((m) => pgDriver({ connectionString: m.url, label: m.name })),
      routing: { probeIntervalMs: 100 },
      pool: { acquireTimeoutMs: 2000 },
    })
    try {
      await db.ready()
      expect(db.stats().primary?.host).toBe(primary.name)
      await db.exec('CREATE TABLE ha_rows (id int PRIMARY KEY, phase text NOT NULL)', { signal })
      for (let id = 1; id <= 100; id++) {
        await db.write('INSERT INTO ha_rows (id, phase) VALUES ($1, $2)', [id, 'before'], { signal })
      }
      await sql(primary, "INSERT INTO ha_rows SELECT g, 'before' FROM generate_series(101, 1000) g")

      // Asynchronous replication can lose what a replica has not received: wait until both replayed it all.
      const [position] = await sql<{ lsn: string }>(primary, 'SELECT pg_current_wal_lsn()::text AS lsn')
      const lsn = position!.lsn
      for (const replica of replicas) {
        await until(
          async () => {
            const [row] = await sql<{ ok: boolean }>(
              replica,
              'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok',
              [lsn],
            )
            return row?.ok === true
          },
          20_000,
          `${replica.name} to replay ${lsn}`,
        )
      }

      const killedAt = performance.now()
      const killed = await cluster.kill(primary, 'SIGKILL', { signal })
      expect(killed.postmaster).toBeGreaterThan(0)
      expect(killed.patroni).toBeGreaterThan(0)
      const next = await cluster.waitForPrimary({ signal, exclude: [primary], timeoutMs: 60_000 })
      const seconds = (performance.now() - killedAt) / 1000
      console.log(`failover: ${next.name} promoted ${seconds.toFixed(1)} s after SIGKILL of ${primary.name}`)
      expect(seconds).toBeLessThan(60)
      expect(replicas).toContain(next)

      const [state] = await sql<{ standby: boolean; n: number; sum: string }>(
        next,
        'SELECT pg_is_in_recovery() AS standby, count(*)::int AS n, sum(id)::text AS sum FROM ha_rows',
      )
      expect(state).toEqual({ standby: false, n: 1000, sum: String((1000 * 1001) / 2) })

      // The same client, configured with all three hosts from the start, finds the new primary.
      await until(
        () => db.stats().primary?.host === next.name,
        15_000,
        `@hundredfold/pg to find ${next.name}`,
      )
      for (let id = 1001; id <= 1010; id++) {
        await db.write('INSERT INTO ha_rows (id, phase) VALUES ($1, $2)', [id, 'after'], { signal })
      }
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM ha_rows WHERE phase = 'after'",
        [],
        { signal },
      )
      expect(rows[0]?.n).toBe(10)
      const topology = await cluster.topology({ signal })
      expect(topology.members.find((m) => m.role === 'leader')?.name).toBe(next.name)
    } finally {
      await db.end()
    }
  }, 90_000)
})

describe('a Patroni cluster with synchronous: true', () => {
  const fixture = clusterFixture(true)
  let cluster: PatroniCluster

  beforeAll(async () => {
    cluster = await fixture.start()
  }, 60_000)
  afterAll(() => fixture.stop(), 60_000)

  it('has one synchronous standby, named by GET /cluster and by synchronous_standby_names', async () => {
    const signal = AbortSignal.timeout(20_000)
    const primary = await cluster.waitForPrimary({ signal, timeoutMs: 10_000 })
    let sync: string[] = []
    await until(
      async () => {
        const { members } = await cluster.topology({ signal })
        sync = members.filter((m) => m.role === 'sync_standby').map((m) => m.name)
        return sync.length > 0
      },
      15_000,
      'a sync_standby in GET /cluster',
    )
    expect(sync).toHaveLength(1)
    expect(sync[0]).not.toBe(primary.name)
    const [row] = await sql<{ names: string }>(
      primary,
      "SELECT current_setting('synchronous_standby_names') AS names",
    )
    expect(row?.names).toContain(sync[0])
  }, 30_000)
})
