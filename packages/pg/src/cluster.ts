import { channel } from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import type {
  Driver,
  DriverConnection,
  QueryResult,
  RowMode,
  StatementOptions,
  TypeParsers,
} from './driver.js'
import { PgError } from './errors.js'
import { Host, type HostRole, type HostStats } from './host.js'
import { linkSignals } from './link-signals.js'
import { parseLsn } from './lsn.js'
import type { PoolOptions } from './pool.js'
import { PrimaryPosition, positionSql } from './primary-position.js'
import { type RoutingOptions, routingOptions } from './routing-options.js'
import type { Session } from './session.js'

/**
 * How long after the last primary was seen a replica keeps the lag it had then (no write can land
 * meanwhile, so reads go on from replicas through a failover); past it, its lag is its replay age.
 */
export const LAG_HELD_WITHOUT_PRIMARY_MS = 30_000

/** Per-call options. */
export interface CallOptions {
  /** Aborts the wait for a session or the statement itself (the session is then closed). */
  signal?: AbortSignal | undefined
  /**
   * Read-your-writes: reads go only where this session's writes are visible; writes and
   * transactions record their position in it.
   */
  session?: Session | undefined
  /** Rows as objects (default) or as arrays in column order. */
  rowMode?: RowMode | undefined
  /** Replaces the driver's type mapping for this statement, as node-postgres's `types` does. */
  types?: TypeParsers | undefined
  /** A prepared-statement name, as node-postgres's `name` (PGlite runs it unnamed). */
  name?: string | undefined
}

/** The statements of one transaction, all on one primary session. */
export interface Transaction {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: StatementOptions,
  ): Promise<QueryResult<Row>>
}

/** A primary session held by `reserve()`. */
export interface ReservedSession {
  /** Runs a statement on the held session; the signal defaults to the one given to `reserve()`. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: RowMode | StatementOptions,
  ): Promise<QueryResult<Row>>
  /** Gives the session back; `destroy` closes it (after an error that may have left it dirty). */
  release(destroy?: boolean): void
}

/** Options of `createCluster`. Give `driver` (one primary), `primary` + `replicas`, or `hosts` (roles discovered). */
export interface ClusterOptions {
  /** One server, trusted as the primary without probing (a single PostgreSQL, or PGlite). */
  driver?: Driver
  /** The primary, as configured; the probe still checks it. */
  primary?: Driver
  /** Streaming replicas. */
  replicas?: readonly Driver[]
  /** Servers whose roles the probe discovers (`pg_is_in_recovery()`); the read-write one is the primary. */
  hosts?: readonly Driver[]
  /** Pool options, applied to each host. */
  pool?: PoolOptions
  routing?: RoutingOptions
}

/** A snapshot of every host. */
export interface ClusterStats {
  /** The current primary, if one is known. */
  primary: HostStats | undefined
  hosts: HostStats[]
  /**
   * Reads whose session token was ahead of the primary's WAL position (forged, or from writes a
   * failover lost): each was read as if it had no token.
   */
  tokensAhead: number
}

const acquireChannel = channel('hundredfold:pg:acquire')
const roleChannel = channel('hundredfold:pg:role-change')
const probeChannel = channel('hundredfold:pg:probe')

/**
 * SQLSTATEs that mean the session or server went away, not that the statement was wrong. Not
 * `57014` (query_canceled: `statement_timeout`, a cancel request): the server and session are fine.
 */
const connectionStates = /^(08|57P0[1-3])/

/**
 * A PostgreSQL cluster: where a statement runs is chosen by what it is. `write`, `query`, `exec` and
 * `transaction` go to the primary; `read` goes to a replica whose lag is under `maxLagMs` (picked by
 * fewest statements in flight, of two at random), and — with a `session` — only to one that has
 * replayed the session's writes. A read that fails because its host went away is retried elsewhere.
 *
 * @example
 * const db = createCluster({ primary: pgDriver({ connectionString: a }), replicas: [pgDriver({ connectionString: b })] })
 * const session = new Session()
 * await db.write('INSERT INTO posts …', params, { session })
 * const { rows } = await db.read('SELECT … FROM posts …', params, { session, signal })
 */
export class Cluster {
  readonly #hosts: Host[]
  readonly #drivers: Driver[]
  readonly #routing: Readonly<Required<RoutingOptions>>
  readonly #probing: boolean
  #primary: Host | undefined
  /** `Date.now()` when the last probe round that found a primary ended, while none is known since. */
  #primaryLostAt: number | undefined
  #firstProbe: Promise<void>
  #probeTimer: NodeJS.Timeout | undefined
  #probeRunning: Promise<void> | undefined
  #ended = false
  readonly #position = new PrimaryPosition()

  constructor(options: ClusterOptions) {
    const given = [options?.driver, options?.primary, ...(options?.replicas ?? []), ...(options?.hosts ?? [])]
    if (!options || given.every((d) => d === undefined)) {
      throw invalid('options.driver, options.primary or options.hosts must name a driver such as pgDriver()')
    }
    for (const driver of given) {
      if (driver !== undefined && typeof driver.connect !== 'function') {
        throw invalid('every driver must be a driver such as pgDriver() or pgliteDriver()')
      }
    }
    if (options.driver && (options.primary || options.replicas?.length || options.hosts?.length)) {
      throw invalid(
        'options.driver is for one server; use options.primary with options.replicas, or options.hosts',
      )
    }
    this.#routing = routingOptions(options.routing)
    const onAcquire = (host: Host, waitMs: number) => {
      if (acquireChannel.hasSubscribers) acquireChannel.publish({ cluster: this, host: host.name, waitMs })
    }
    const make = (driver: Driver, role: HostRole) => new Host(driver, role, options.pool, onAcquire)
    if (options.driver) {
      this.#hosts = [make(options.driver, 'primary')]
    } else {
      this.#hosts = [
        ...(options.primary ? [make(options.primary, 'unknown')] : []),
        ...(options.replicas ?? []).map((d) => make(d, 'unknown')),
        ...(options.hosts ?? []).map((d) => make(d, 'unknown')),
      ]
    }
    this.#drivers = given.filter((d): d is Driver => d !== undefined)
    this.#probing = !options.driver
    if (this.#probing) {
      this.#firstProbe = this.#probeAll()
      this.#probeTimer = setInterval(() => void this.#probeAll(), this.#routing.probeIntervalMs)
      this.#probeTimer.unref()
    } else {
      this.#primary = this.#hosts[0]
      this.#firstProbe = Promise.resolve()
    }
  }

  /**
   * Resolves once every host has been probed once (immediately for a single `driver`), and each replica
   * that answered has a known lag — a replica that has replayed no transaction yet has none, and is not
   * read from until it has — or after `4 × probeIntervalMs` more, whichever comes first.
   */
  async ready(): Promise<void> {
    await this.#firstProbe
    const until = Date.now() + 4 * this.#routing.probeIntervalMs
    while (
      Date.now() < until &&
      this.#hosts.some((h) => h.role === 'replica' && h.lagMs === null && h.probeFailures === 0)
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Runs a statement on the primary. */
  query<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: CallOptions = {},
  ): Promise<QueryResult<Row>> {
    return this.#onPrimary((conn) => conn.query<Row>(sql, params, options), options)
  }

  /**
   * Runs a statement that changes data, on the primary; with a `session`, records its position. The same
   * call as `query`, named for what it does so a reader sees where the writes are.
   */
  write<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: CallOptions) {
    return this.query<Row>(sql, params, options)
  }

  /** Runs a multi-statement script without parameters on the primary (schema migrations). */
  exec(sql: string, options: CallOptions = {}): Promise<void> {
    return this.#onPrimary((conn) => conn.exec(sql, options.signal), options)
  }

  /** Runs a read-only statement on a fit replica, else as `routing.whenNoReplica` says. */
  async read<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options: CallOptions = {},
  ): Promise<QueryResult<Row>> {
    await this.#firstProbe
    const tried = new Set<Host>()
    for (;;) {
      const picked = await this.#reader(options, tried)
      if (!picked) continue // its replica could not be reached: it is marked down, pick again
      const { host, conn } = picked
      host.outstanding++
      host.reads++
      let broken = false
      // A read also gives up when its host is marked down (a probe timed out, another read lost its
      // connection): behind a cut link it would otherwise hang until the caller's deadline.
      const down = host.downSignal
      const linked = linkSignals(options.signal, down)
      try {
        return await conn.query<Row>(sql, params, { ...options, signal: linked.signal })
      } catch (err) {
        broken = conn.broken
        if (options.signal?.aborted || !(isConnectionFailure(err) || down.aborted)) throw err
        // The host went away under this read: it is idempotent, so try it elsewhere.
        host.markDown()
        this.#losePrimary(host)
        tried.add(host)
        this.#probeSoon()
      } finally {
        linked.dispose()
        host.outstanding--
        host.pool.release(conn, broken)
      }
    }
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT on one primary session. Any error (or abort) rolls back and is
   * rethrown; nothing of a failed transaction stays behind.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, options: CallOptions = {}): Promise<T> {
    return this.#onPrimary(async (conn) => {
      const signal = options.signal
      await conn.query('BEGIN', [], { signal })
      try {
        const tx: Transaction = {
          query: (sql, params = [], statement = {}) =>
            conn.query(sql, params, { ...statement, signal: statement.signal ?? signal }),
        }
        const result = await fn(tx)
        await conn.query('COMMIT', [], { signal })
        return result
      } catch (err) {
        if (!conn.broken) await conn.query('ROLLBACK', []).catch(() => conn.close())
        throw err
      }
    }, options)
  }

  /**
   * Holds one primary session until `release()`: for adapters that send BEGIN … COMMIT themselves
   * (`asPool`). Prefer `transaction`, which cannot leak a session.
   */
  async reserve(options: CallOptions = {}): Promise<ReservedSession> {
    await this.#firstProbe
    const host = this.#primary
    if (!host) throw this.#noPrimary()
    const conn = await host.pool.acquire(options.signal)
    if (host.isReadOnly(conn)) {
      host.pool.release(conn, true)
      this.#probeSoon()
      throw this.#noPrimary()
    }
    host.outstanding++
    let released = false
    return {
      query: (sql, params = [], statement = {}) => {
        host.writes++
        const given = typeof statement === 'string' ? { rowMode: statement } : statement
        return conn.query(sql, params, { ...given, signal: given.signal ?? options.signal })
      },
      release: (destroy = false) => {
        if (released) return
        released = true
        host.outstanding--
        host.pool.release(conn, destroy || conn.broken)
      },
    }
  }

  stats(): ClusterStats {
    return {
      primary: this.#primary?.stats(),
      hosts: this.#hosts.map((host) => ({ ...host.stats(), inRotation: this.#inRotation(host) })),
      tokensAhead: this.#position.tokensAhead,
    }
  }

  /** Stops probing and closes every pool and driver. Safe to call twice. */
  async end(): Promise<void> {
    if (this.#ended) return
    this.#ended = true
    clearInterval(this.#probeTimer)
    await this.#probeRunning?.catch(() => {})
    await Promise.all(this.#hosts.map((host) => host.close()))
    await Promise.all(this.#drivers.map((driver) => driver.close()))
  }

  async #onPrimary<T>(fn: (conn: DriverConnection) => Promise<T>, options: CallOptions): Promise<T> {
    await this.#firstProbe
    const host = this.#primary
    if (!host) throw this.#noPrimary()
    const conn = await host.pool.acquire(options.signal)
    let broken = false
    host.outstanding++
    host.writes++
    try {
      if (host.isReadOnly(conn)) {
        // Opened on a server that was read-only: never write through it.
        broken = true
        host.role = 'replica'
        this.#losePrimary(host)
        this.#probeSoon()
        throw this.#noPrimary()
      }
      const result = await fn(conn)
      if (options.session) await this.#observePosition(conn, options)
      return result
    } catch (err) {
      broken ||= conn.broken
      if (err instanceof PgError && err.sqlState === '25006') {
        // read_only_sql_transaction: the server was demoted under us; the statement did not apply.
        broken = true
        this.#losePrimary(host)
        this.#probeSoon()
        throw this.#noPrimary(err)
      }
      if (isConnectionFailure(err) && !options.signal?.aborted) {
        host.markDown()
        this.#losePrimary(host)
        this.#probeSoon()
        if (err instanceof PgError && err.code === 'E_QUERY') {
          // The server ended the session (shutdown, crash): the statement's outcome is unknown.
          throw new PgError('E_CONNECTION_LOST', `${host.name} ended the session: ${err.message}`, {
            cause: err,
            ...(err.sqlState ? { sqlState: err.sqlState } : {}),
            context: { host: host.name },
          })
        }
      }
      throw err
    } finally {
      host.outstanding--
      host.pool.release(conn, broken)
    }
  }

  async #observePosition(conn: DriverConnection, options: CallOptions): Promise<void> {
    const { rows } = await conn.query<{ lsn: string }>(positionSql, [], { signal: options.signal })
    if (!rows[0]) return
    const lsn = parseLsn(rows[0].lsn)
    this.#position.note(lsn)
    options.session!.observe(lsn)
  }

  /** Forgets `host` as the primary if it was, noting when (see {@link LAG_HELD_WITHOUT_PRIMARY_MS}). */
  #losePrimary(host: Host): void {
    if (this.#primary !== host) return
    this.#primary = undefined
    this.#primaryLostAt ??= Date.now()
  }

  /** A replica a read may go to: healthy, its lag known and within `maxLagMs`. */
  #inRotation(h: Host): boolean {
    return h.role === 'replica' && h.healthy && h.lagMs !== null && h.lagMs <= this.#routing.maxLagMs
  }

  /**
   * Picks where a read runs and takes a session there; undefined when the replica picked could not be
   * reached (it is then marked down and in `tried`: the caller picks again).
   */
  async #reader(
    options: CallOptions,
    tried: Set<Host>,
  ): Promise<{ host: Host; conn: DriverConnection } | undefined> {
    const { tokenWaitMs } = this.#routing
    const fit = this.#hosts.filter((h) => this.#inRotation(h) && !tried.has(h))
    let need = options.session?.lsn
    const primaryNow = this.#primary
    if (
      need !== undefined &&
      fit.length > 0 &&
      primaryNow &&
      (await this.#position.isAhead(primaryNow, need, options.signal))
    ) {
      // Forged, or from writes a failover lost: waiting for replicas would be in vain on every read.
      if (options.session!.lsn === need) options.session!.clear()
      need = undefined
    }
    if (fit.length > 0) {
      const caughtUp = need === undefined ? fit : fit.filter((h) => h.lsn !== undefined && h.lsn >= need)
      if (caughtUp.length > 0) {
        const host = pickLeastLoaded(caughtUp)
        const conn = await this.#acquireReplica(host, options.signal, tried)
        return conn && { host, conn }
      }
      if (need !== undefined && tokenWaitMs > 0) {
        const host = pickLeastLoaded(fit)
        const conn = await this.#acquireReplica(host, options.signal, tried)
        if (!conn) return undefined
        if (await this.#waitForReplay(host, conn, need, options.signal)) return { host, conn }
        host.pool.release(conn)
      }
    }
    const primary = this.#primary
    if (this.#routing.whenNoReplica === 'error' && this.#hosts.length > 1) {
      throw new PgError(
        'E_NO_REPLICA',
        'no replica is fit to read (lag, health, or the session is ahead of all)',
        {
          context: { maxLagMs: this.#routing.maxLagMs, retryable: true },
        },
      )
    }
    if (!primary || tried.has(primary)) throw this.#noPrimary()
    return { host: primary, conn: await primary.pool.acquire(options.signal) }
  }

  /**
   * A session on a replica, or undefined when none can be opened there (refused, no route: a cut
   * link): the replica is marked down and added to `tried`, so the read moves on instead of failing.
   */
  async #acquireReplica(
    host: Host,
    signal: AbortSignal | undefined,
    tried: Set<Host>,
  ): Promise<DriverConnection | undefined> {
    try {
      return await host.pool.acquire(signal)
    } catch (err) {
      if (!isConnectionFailure(err) || signal?.aborted) throw err
      host.markDown()
      tried.add(host)
      this.#probeSoon()
      return undefined
    }
  }

  /** Polls a replica's replay position until it reaches `need`, for at most `tokenWaitMs`. */
  async #waitForReplay(
    host: Host,
    conn: DriverConnection,
    need: bigint,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const deadline = performance.now() + this.#routing.tokenWaitMs
    for (;;) {
      const { rows } = await conn.query<{ lsn: string | null }>(
        'SELECT pg_last_wal_replay_lsn()::text AS lsn',
        [],
        { signal },
      )
      const lsn = rows[0]?.lsn ? parseLsn(rows[0].lsn) : undefined
      if (lsn !== undefined && (host.lsn === undefined || lsn > host.lsn)) host.lsn = lsn
      if (lsn !== undefined && lsn >= need) return true
      if (performance.now() >= deadline) return false
      await sleep(1, undefined, signal ? { signal } : undefined)
    }
  }

  #noPrimary(cause?: unknown): PgError {
    return new PgError('E_NO_PRIMARY', 'no read-write primary is known right now; retry shortly', {
      cause,
      context: { retryable: true, hosts: this.#hosts.map((h) => `${h.name}:${h.role}`) },
    })
  }

  #probeSoon(): void {
    if (this.#probing && !this.#ended) setImmediate(() => void this.#probeAll())
  }

  /** One probe round: every host's role and position, then the primary and each replica's lag. */
  #probeAll(): Promise<void> {
    this.#probeRunning ??= (async () => {
      const timeout = Math.max(500, Math.min(2000, this.#routing.probeIntervalMs * 2))
      const answered: string[] = []
      const failed: string[] = []
      await Promise.all(
        this.#hosts.map(async (host) => {
          try {
            await host.probe(AbortSignal.timeout(timeout))
            host.markUp()
            answered.push(host.name)
          } catch (err) {
            failed.push(host.name)
            // A refused or lost connection is down at once; a slow answer (a busy machine) twice in a row.
            host.probeFailures++
            if (host.probeFailures >= 2 || !(err instanceof PgError && err.code === 'E_ABORTED'))
              host.markDown()
          }
        }),
      )
      const primaries = this.#hosts.filter((h) => h.healthy && h.role === 'primary')
      // Several claim read-write (an old primary came back after a promotion): the newest promotion wins.
      const primary = primaries.sort((a, b) => b.promotedAt - a.promotedAt)[0]
      if (primary !== this.#primary && roleChannel.hasSubscribers) {
        roleChannel.publish({ cluster: this, previous: this.#primary?.name, primary: primary?.name })
      }
      // Positions seen on a former primary say nothing about the new one.
      if (primary !== this.#primary) this.#position.reset()
      if (primary) this.#primaryLostAt = undefined
      else if (this.#primary) this.#primaryLostAt ??= Date.now()
      this.#primary = primary
      // With no primary, nothing newer can commit: a replica stays as far behind as it was when the
      // primary was last seen (its replay age only grows) — for a failover's length, then unknown.
      const holdLag =
        !primary &&
        this.#primaryLostAt !== undefined &&
        Date.now() - this.#primaryLostAt <= LAG_HELD_WITHOUT_PRIMARY_MS
      for (const host of this.#hosts) {
        if (host.role !== 'replica' || !host.healthy) continue
        if (primary?.lsn !== undefined && host.lsn !== undefined) {
          const behind = primary.lsn - host.lsn
          host.lagBytes = behind > 0n ? Number(behind) : 0
          host.lagMs = behind > 0n ? host.replayAgeMs : 0
        } else if (!holdLag || host.lagMs === null) {
          host.lagBytes = null
          host.lagMs = host.replayAgeMs
        }
        // Unknown lag is not fit to read from.
        if (host.lagMs === null) host.healthy = false
      }
      if (probeChannel.hasSubscribers) {
        probeChannel.publish({ cluster: this, primary: primary?.name, answered, failed })
      }
    })().finally(() => {
      this.#probeRunning = undefined
    })
    return this.#probeRunning
  }
}

/** Creates a `Cluster`. */
export function createCluster(options: ClusterOptions): Cluster {
  return new Cluster(options)
}

/** Of two hosts at random, the one with fewer statements in flight (P2C). */
function pickLeastLoaded(hosts: readonly Host[]): Host {
  if (hosts.length === 1) return hosts[0]!
  const a = hosts[Math.floor(Math.random() * hosts.length)]!
  let b = hosts[Math.floor(Math.random() * (hosts.length - 1))]!
  if (b === a) b = hosts[hosts.length - 1]!
  return b.outstanding < a.outstanding ? b : a
}

function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof PgError)) return false
  if (err.code === 'E_CONNECT' || err.code === 'E_CONNECTION_LOST') return true
  return err.code === 'E_QUERY' && err.sqlState !== undefined && connectionStates.test(err.sqlState)
}

function invalid(message: string): PgError {
  return new PgError('E_INVALID_OPTION', message)
}
