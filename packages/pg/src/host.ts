import type { Driver, DriverConnection } from './driver.js'
import { PgError } from './errors.js'
import { formatLsn, parseLsn } from './lsn.js'
import { Pool, type PoolOptions, type PoolStats } from './pool.js'

/** What a host is, as far as the cluster last knew. */
export type HostRole = 'primary' | 'replica' | 'unknown'

/** A host's state, for metrics and debugging. */
export interface HostStats extends PoolStats {
  host: string
  role: HostRole
  /** The last probe succeeded and, for a replica, its lag is known. */
  healthy: boolean
  /** Replay lag in milliseconds (0 when caught up); null when unknown or on the primary. */
  lagMs: number | null
  /** Bytes of WAL the replica has yet to replay; null when unknown or on the primary. */
  lagBytes: number | null
  /** The WAL position last seen: replayed (replica) or written (primary). */
  lsn: string | null
  /** Statements in flight on this host. */
  outstanding: number
  reads: number
  writes: number
  /**
   * A replica reads may go to now: healthy, its lag known and within the cluster's `maxLagMs`. Always
   * false for the primary. Set by `Cluster.stats()`; false in a host's own stats.
   */
  inRotation: boolean
}

const probeSql = `SELECT pg_is_in_recovery() AS recovery,
  (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn,
  (CASE WHEN pg_is_in_recovery()
        THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000 END)::float8 AS replay_age_ms`

interface ProbeRow {
  recovery: boolean
  lsn: string | null
  replay_age_ms: number | null
}

/** One server of a cluster: its pool, its role and lag as last probed, and its load. */
export class Host {
  readonly name: string
  readonly pool: Pool
  readonly #driver: Driver
  /** Sessions known to be on a read-only server (learnt when they were opened). */
  readonly #readOnlySessions = new WeakSet<DriverConnection>()
  #probeConn: DriverConnection | undefined
  role: HostRole
  healthy: boolean
  /** Replayed (replica) or current (primary) WAL position. */
  lsn: bigint | undefined
  /** How old the last replayed transaction is, per the last probe. */
  replayAgeMs: number | null = null
  lagMs: number | null = null
  lagBytes: number | null = null
  /** When this host last turned from replica to primary (for choosing among several that claim it). */
  promotedAt = 0
  /** Probes in a row that failed. */
  probeFailures = 0
  outstanding = 0
  reads = 0
  writes = 0
  /** Aborted when the host is marked down; a new one once it answers again. */
  #down = new AbortController()

  constructor(
    driver: Driver,
    role: HostRole,
    poolOptions: PoolOptions | undefined,
    onAcquire?: (host: Host, waitMs: number) => void,
  ) {
    this.name = driver.name
    this.#driver = driver
    this.role = role
    // An explicitly configured single host needs no probe to be trusted.
    this.healthy = role !== 'unknown'
    this.pool = new Pool(driver, poolOptions, driver.name, {
      initialize: async (conn, signal) => {
        if (this.role === 'primary' && driver.maxConnections === 1) return // PGlite: always read-write
        const { rows } = await conn.query<{ recovery: boolean }>(
          'SELECT pg_is_in_recovery() AS recovery',
          [],
          {
            signal,
          },
        )
        if (rows[0]?.recovery) this.#readOnlySessions.add(conn)
      },
      ...(onAcquire ? { onAcquire: (waitMs: number) => onAcquire(this, waitMs) } : {}),
    })
  }

  /** Whether a session was opened on a read-only server: a write must never run on it. */
  isReadOnly(conn: DriverConnection): boolean {
    return this.#readOnlySessions.has(conn)
  }

  /** Asks the server its role and WAL position on a session of its own. Throws when unreachable. */
  async probe(signal: AbortSignal): Promise<void> {
    if (!this.#probeConn || this.#probeConn.broken) {
      this.#probeConn = undefined
      this.#probeConn = await this.#driver.connect(signal)
    }
    let row: ProbeRow | undefined
    try {
      row = (await this.#probeConn.query<ProbeRow>(probeSql, [], { signal })).rows[0]
    } catch (err) {
      void this.#probeConn.close().catch(() => {})
      this.#probeConn = undefined
      throw err
    }
    if (!row) throw new Error('probe returned no row')
    const role: HostRole = row.recovery ? 'replica' : 'primary'
    if (role === 'primary' && this.role !== 'primary') this.promotedAt = Date.now()
    this.role = role
    this.lsn = row.lsn ? parseLsn(row.lsn) : undefined
    this.replayAgeMs = row.replay_age_ms
  }

  /**
   * Fires when the host is marked down. Reads in flight on it listen: behind a cut link (no RST, no
   * FIN) a statement would otherwise wait for its caller's deadline, long after the probe knew.
   */
  get downSignal(): AbortSignal {
    return this.#down.signal
  }

  /** Marks the host unreachable until its next successful probe, and fires {@link downSignal}. */
  markDown(): void {
    this.healthy = false
    this.lagMs = null
    this.lagBytes = null
    if (!this.#down.signal.aborted) {
      this.#down.abort(new PgError('E_HOST_DOWN', `${this.name} is down`, { context: { host: this.name } }))
    }
  }

  /** The host answered a probe: healthy again, with a fresh {@link downSignal}. */
  markUp(): void {
    this.healthy = true
    this.probeFailures = 0
    if (this.#down.signal.aborted) this.#down = new AbortController()
  }

  stats(): HostStats {
    return {
      host: this.name,
      role: this.role,
      healthy: this.healthy,
      lagMs: this.role === 'replica' ? this.lagMs : null,
      lagBytes: this.role === 'replica' ? this.lagBytes : null,
      lsn: this.lsn === undefined ? null : formatLsn(this.lsn),
      outstanding: this.outstanding,
      reads: this.reads,
      writes: this.writes,
      inRotation: false,
      ...this.pool.stats,
    }
  }

  async close(): Promise<void> {
    await this.pool.close()
    await this.#probeConn?.close().catch(() => {})
    this.#probeConn = undefined
  }
}
