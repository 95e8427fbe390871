import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { createCluster, Session } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { patroniCluster, type StackState } from '@hundredfold/stack'
import pg from 'pg'
import { meanRate, peakRate, sampleCounters } from './counter-sampler.js'
import { stackDrill } from './stack-drill.js'

/** How long the drill holds one replica's WAL back: its lag grows past 5 s, to about this. */
const LAGGING_FOR_MS = 15_000
/** Reads of the replica's counters before the delay: the baseline. */
const BEFORE_MS = 3_000
/** And after it is lifted: the replica back in rotation. */
const AFTER_MS = 6_000
/** How often the probe writes a row and reads it back. */
const PROBE_EVERY_MS = 50

/** What the write-then-read probe saw. */
interface ReadProbe {
  /** Rows written, each read back twice. */
  probes: number
  /** Reads with the write's session that did not find the row. */
  staleWithToken: number
  /** Reads without it that did not. */
  staleWithoutToken: number
  /** Reads the lagging replica served, while it lagged. */
  onLagging: number
  errors: number
}

/**
 * `npm run drill -- lag-replica`: one replica's WAL receiver stopped (SIGSTOP) for 15 s under the mix,
 * then continued: its lag grows past 5 s. `@hundredfold/pg` sees the lag pass `maxLagMs` and takes the replica out of
 * read rotation (`db_replica_in_rotation` 0 on every app); it comes back once caught up. Meanwhile a
 * probe — a `@hundredfold/pg` cluster over the same members, routed as the apps route — writes a row
 * every 50 ms and reads it back from a replica at once, without the write's session and with it (the
 * microblog's own replica reads are few: its caches load from the primary, posts are queued). Floors:
 * `stale_reads_with_token` = 0 and `left_rotation_s` ≤ 5.
 */
export const lagReplica = stackDrill({
  name: 'lag-replica',
  description:
    'one PostgreSQL replica 15 s behind (its WAL receiver stopped) under the mix at half its MST, with a read-your-writes probe on the same members',
  async action(stack, signal, log) {
    const replica = await aReplica(stack.state, signal)
    const label = `host="127.0.0.1:${replica.port}/microblog"`
    const host = `db_queries_total{${label},route="read"}`
    const lag = `db_replica_lag_seconds{${label}}`
    const rotation = `db_replica_in_rotation{${label}}`
    const urls = stack.state.apps.map((app) => `${app.url}/metrics`)
    const apps = Math.max(1, urls.length)
    const sampling = new AbortController()
    const names = [host, lag, rotation]
    const samples = sampleCounters(urls, names, 250, AbortSignal.any([signal, sampling.signal]))
    const probing = new AbortController()
    let probe: Promise<ReadProbe> | undefined
    let receiver: number | undefined
    try {
      await sleep(BEFORE_MS, undefined, { signal })
      const delayedAt = performance.now()
      receiver = await setReplay(replica.url, 'pause', signal)
      log(`${replica.name}: WAL receiver (pid ${receiver}) stopped`)
      probe = probeReadYourWrites(stack.state, replica.port, AbortSignal.any([signal, probing.signal]))
      await sleep(LAGGING_FOR_MS, undefined, { signal })
      await setReplay(replica.url, 'resume', signal, receiver)
      receiver = undefined
      const liftedAt = performance.now()
      log(`${replica.name}: WAL receiver continued`)
      probing.abort()
      const seen = await probe
      await sleep(AFTER_MS, undefined, { signal })
      sampling.abort()
      const all = await samples
      const out = all.find((x) => x.at > delayedAt && (x.values[rotation] ?? 0) === 0)
      const back = all.find((x) => x.at > liftedAt && (x.values[rotation] ?? 0) === apps)
      return {
        lagging_replica: replica.name,
        // From the stop to the first reading with every app reading elsewhere.
        left_rotation_s: out ? round((out.at - delayedAt) / 1000) : null,
        // From the continue to the first reading with every app reading from it again.
        rejoined_s: back ? round((back.at - liftedAt) / 1000) : null,
        // Its lag as the apps saw it (the gauge is summed over them).
        replica_lag_peak_s: Math.round((maxOf(all, lag) / apps) * 100) / 100,
        replica_reads_per_s_before: meanRate(all, host, delayedAt - BEFORE_MS, delayedAt),
        // From 2 s after the stop (its lag seen past maxLagMs) to the continue: out of rotation, 0.
        replica_reads_per_s_lagging: meanRate(all, host, delayedAt + 2_000, liftedAt),
        replica_reads_per_s_after: meanRate(all, host, liftedAt + AFTER_MS / 2, liftedAt + AFTER_MS),
        replica_reads_peak_per_s_after: peakRate(all, host, liftedAt, liftedAt + AFTER_MS),
        read_probes: seen.probes,
        stale_reads_with_token: seen.staleWithToken,
        stale_reads_without_token: seen.staleWithoutToken,
        read_probe_errors: seen.errors,
        // From the stop on: 0 once it left rotation; the first reads may precede the probe that saw the lag.
        probe_reads_on_lagging_replica: seen.onLagging,
      }
    } finally {
      if (receiver !== undefined) process.kill(receiver, 'SIGCONT')
      probing.abort()
      await probe?.catch(() => undefined)
      sampling.abort()
      await samples.catch(() => [])
    }
  },
  floors: { stale_reads_with_token: { max: 0 }, left_rotation_s: { max: 5 } },
  metrics: () => ({}),
})

/** The first replica of the stack (the stack's own, or under Patroni the first member that is not the leader). */
async function aReplica(
  state: StackState,
  signal: AbortSignal,
): Promise<{ name: string; port: number; url: string }> {
  const superuser = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`
  if (state.patroni) {
    const topology = await patroniCluster(state).topology({ signal })
    const member = topology.members.find((m) => m.role !== 'leader' && m.port !== undefined)
    if (!member?.port) throw new Error('the Patroni cluster has no replica')
    return { name: member.name, port: member.port, url: superuser(member.port) }
  }
  const record = state.postgres?.replicas[0]
  if (!record) throw new Error('the stack runs no PostgreSQL replica')
  return { name: record.name, port: record.port, url: superuser(record.port) }
}

/**
 * Stops (SIGSTOP) or continues (SIGCONT) a replica's WAL receiver, by the PID `pg_stat_wal_receiver`
 * gives: no WAL arrives, so replay stops and the lag grows. Neither `pg_wal_replay_pause()` nor
 * `recovery_min_apply_delay` holds under Patroni, which resumes a paused replay within a second and
 * strips recovery settings from `postgresql.auto.conf`; a stopped process it leaves alone.
 */
async function setReplay(
  url: string,
  what: 'pause' | 'resume',
  signal: AbortSignal,
  known?: number,
): Promise<number | undefined> {
  signal.throwIfAborted()
  let pid = known
  if (pid === undefined) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
    await client.connect()
    try {
      const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_wal_receiver')
      pid = rows[0]?.pid
    } finally {
      await client.end()
    }
  }
  if (pid === undefined) throw new Error(`the replica at ${url} runs no WAL receiver`)
  process.kill(pid, what === 'pause' ? 'SIGSTOP' : 'SIGCONT')
  return pid
}

/** The probe's table, in each member's `postgres` database (replicated like every other). */
const PROBE_TABLE = 'hf_drill_lag_probe'

/**
 * A `@hundredfold/pg` cluster over the stack's members, routed as the apps route (`maxLagMs` 1000),
 * writing a row and reading it back from a replica at once — once without the write's session and once
 * with it — until `signal`. The reads name the port that served them.
 */
async function probeReadYourWrites(
  state: StackState,
  laggingPort: number,
  signal: AbortSignal,
): Promise<ReadProbe> {
  const seen: ReadProbe = { probes: 0, staleWithToken: 0, staleWithoutToken: 0, errors: 0, onLagging: 0 }
  const server = (url: string) =>
    pgDriver({ connectionString: url.replace(/\/[^/]*$/, '/postgres'), statementTimeoutMs: 5_000 })
  const routing = { maxLagMs: 1_000 }
  const cluster = state.databaseHosts?.length
    ? createCluster({ hosts: state.databaseHosts.map(server), routing })
    : createCluster({ primary: server(state.databaseUrl), replicas: state.replicaUrls.map(server), routing })
  try {
    await cluster.ready()
    await cluster.write(`CREATE TABLE IF NOT EXISTS ${PROBE_TABLE} (k bigint PRIMARY KEY)`, [], { signal })
    const sql = `SELECT inet_server_port() AS port, EXISTS (SELECT 1 FROM ${PROBE_TABLE} WHERE k = $1) AS found`
    for (let k = Date.now() * 1000; !signal.aborted; k++) {
      try {
        const session = new Session()
        await cluster.write(`INSERT INTO ${PROBE_TABLE} (k) VALUES ($1)`, [k], { session, signal })
        seen.probes++
        // Without the session first: it has the less time to catch up of the two.
        for (const [options, stale] of [
          [{ signal }, 'staleWithoutToken'],
          [{ session, signal }, 'staleWithToken'],
        ] as const) {
          const { rows } = await cluster.read<{ port: number; found: boolean }>(sql, [k], options)
          if (!rows[0]?.found) seen[stale]++
          if (rows[0]?.port === laggingPort) seen.onLagging++
        }
      } catch {
        if (!signal.aborted) seen.errors++
      }
      await sleep(PROBE_EVERY_MS, undefined, { signal }).catch(() => undefined)
    }
    return seen
  } finally {
    await cluster.write(`DROP TABLE IF EXISTS ${PROBE_TABLE}`).catch(() => {})
    await cluster.end()
  }
}

const round = (value: number): number => Math.round(value * 100) / 100

function maxOf(samples: ReadonlyArray<{ values: Record<string, number> }>, name: string): number {
  return samples.reduce((max, s) => Math.max(max, s.values[name] ?? 0), 0)
}
