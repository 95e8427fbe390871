import { channel } from 'node:diagnostics_channel'
import type { Driver, DriverConnection } from './driver.js'
import { abortError, PgError } from './errors.js'
import { type QueueNode, WaiterQueue } from './waiter-queue.js'

/** Pool sizing and waiting. */
export interface PoolOptions {
  /** Most sessions open at once. @default 10 (PGlite: 1) */
  max?: number
  /** How long `acquire` may wait for a session, connecting included, before `E_POOL_TIMEOUT`. @default 5000 */
  acquireTimeoutMs?: number
  /** Most callers waiting at once; beyond it `acquire` fails at once with `E_POOL_TIMEOUT`. @default 10000 */
  maxWaiting?: number
  /** Sessions kept open even when idle, opened in the background. @default 0 */
  min?: number
  /** An idle session above `min` is closed after this long. @default 60000 */
  idleTimeoutMs?: number
  /** A session idle longer than this is checked with `SELECT 1` before it is handed out. @default 30000 */
  validateAfterIdleMs?: number
  /** A session is closed on release once this old, so connections spread over new servers and DNS answers. @default 1800000 */
  maxLifetimeMs?: number
  /** Each session's lifetime is `maxLifetimeMs` ± this fraction, so a pool does not reconnect all at once. @default 0.2 */
  lifetimeJitter?: number
}

/** Hooks a cluster gives its pools. */
export interface PoolHooks {
  /** Runs on each new session before first use (e.g. to learn whether the server is read-only). */
  initialize?(conn: DriverConnection, signal: AbortSignal): Promise<void>
  /** Told how long each successful acquire waited, in milliseconds. */
  onAcquire?(waitMs: number): void
}

/** A snapshot of a pool. */
export interface PoolStats {
  total: number
  idle: number
  inUse: number
  waiting: number
}

export const poolDefaults = Object.freeze({
  max: 10,
  acquireTimeoutMs: 5000,
  maxWaiting: 10_000,
  min: 0,
  idleTimeoutMs: 60_000,
  validateAfterIdleMs: 30_000,
  maxLifetimeMs: 30 * 60_000,
  lifetimeJitter: 0.2,
})

interface SessionInfo {
  expiresAt: number
  idleSince: number
}

const poolErrorChannel = channel('hundredfold:pg:pool-error')

interface Waiter {
  resolve(conn: DriverConnection): void
  reject(err: unknown): void
  settled: boolean
}

/**
 * Sessions for one host: at most `max` open, acquired in FIFO order, handed straight from a
 * releasing caller to the oldest waiter. A session that breaks while idle is dropped quietly;
 * the process never crashes on an idle session's error.
 */
export class Pool {
  readonly #driver: Driver
  readonly #label: string
  readonly #max: number
  readonly #acquireTimeoutMs: number
  readonly #maxWaiting: number
  readonly #min: number
  readonly #idleTimeoutMs: number
  readonly #validateAfterIdleMs: number
  readonly #maxLifetimeMs: number
  readonly #lifetimeJitter: number
  readonly #hooks: PoolHooks
  readonly #info = new Map<DriverConnection, SessionInfo>()
  #sweeper: NodeJS.Timeout | undefined
  readonly #idle: DriverConnection[] = []
  readonly #all = new Set<DriverConnection>()
  readonly #waiters = new WaiterQueue<Waiter>()
  #opening = 0
  #closed = false

  constructor(driver: Driver, options: PoolOptions = {}, label = driver.name, hooks: PoolHooks = {}) {
    this.#driver = driver
    this.#label = label
    const max = options.max ?? Math.min(poolDefaults.max, driver.maxConnections)
    if (!Number.isInteger(max) || max < 1) throw invalid('options.max must be a positive integer')
    if (max > driver.maxConnections) {
      throw invalid(`options.max must be at most ${driver.maxConnections} for the ${driver.name} driver`)
    }
    const timeout = options.acquireTimeoutMs ?? poolDefaults.acquireTimeoutMs
    if (!Number.isFinite(timeout) || timeout <= 0)
      throw invalid('options.acquireTimeoutMs must be a positive number')
    const maxWaiting = options.maxWaiting ?? poolDefaults.maxWaiting
    if (!Number.isInteger(maxWaiting) || maxWaiting < 0) {
      throw invalid('options.maxWaiting must be a non-negative integer')
    }
    const min = options.min ?? poolDefaults.min
    if (!Number.isInteger(min) || min < 0 || min > max)
      throw invalid('options.min must be an integer in 0..max')
    const idleTimeoutMs = positive(options.idleTimeoutMs, poolDefaults.idleTimeoutMs, 'options.idleTimeoutMs')
    const validateAfterIdleMs = positive(
      options.validateAfterIdleMs,
      poolDefaults.validateAfterIdleMs,
      'options.validateAfterIdleMs',
    )
    const maxLifetimeMs = positive(options.maxLifetimeMs, poolDefaults.maxLifetimeMs, 'options.maxLifetimeMs')
    const jitter = options.lifetimeJitter ?? poolDefaults.lifetimeJitter
    if (!(jitter >= 0 && jitter < 1)) throw invalid('options.lifetimeJitter must be a number in [0, 1)')
    this.#max = max
    this.#acquireTimeoutMs = timeout
    this.#maxWaiting = maxWaiting
    this.#min = min
    this.#idleTimeoutMs = idleTimeoutMs
    this.#validateAfterIdleMs = validateAfterIdleMs
    this.#maxLifetimeMs = maxLifetimeMs
    this.#lifetimeJitter = jitter
    this.#hooks = hooks
    if (min > 0 || Number.isFinite(idleTimeoutMs)) {
      this.#sweeper = setInterval(() => this.#sweep(), Math.min(1000, idleTimeoutMs / 2))
      this.#sweeper.unref()
    }
    this.#fill()
  }

  get stats(): PoolStats {
    const total = this.#all.size
    return { total, idle: this.#idle.length, inUse: total - this.#idle.length, waiting: this.#waiters.size }
  }

  /** Takes a session; give it back with `release`. */
  async acquire(signal?: AbortSignal): Promise<DriverConnection> {
    if (this.#closed)
      throw new PgError('E_POOL_CLOSED', 'the pool is closed', { context: { host: this.#label } })
    if (signal?.aborted) throw abortError(signal, { host: this.#label })
    const started = this.#hooks.onAcquire ? performance.now() : 0
    for (let conn = this.#idle.pop(); conn; conn = this.#idle.pop()) {
      if (conn.broken || (this.#needsCheck(conn) && !(await this.#stillGood(conn, signal)))) {
        this.#discard(conn)
        continue
      }
      this.#hooks.onAcquire?.(performance.now() - started)
      return conn
    }
    const conn =
      this.#all.size + this.#opening < this.#max ? await this.#open(signal) : await this.#wait(signal)
    this.#hooks.onAcquire?.(performance.now() - started)
    return conn
  }

  /** Gives a session back. `destroy` closes it instead (after an error that may have left it dirty). */
  release(conn: DriverConnection, destroy = false): void {
    if (!this.#all.has(conn)) return
    if (destroy || conn.broken || this.#closed) {
      this.#discard(conn)
      this.#refill()
      return
    }
    const info = this.#info.get(conn)
    if (info && info.expiresAt <= Date.now()) {
      // Past its lifetime: replace it rather than reuse it.
      this.#discard(conn)
      this.#refill()
      return
    }
    for (let waiter = this.#waiters.shift(); waiter; waiter = this.#waiters.shift()) {
      if (waiter.settled) continue
      waiter.settled = true
      waiter.resolve(conn)
      return
    }
    if (info) info.idleSince = Date.now()
    this.#idle.push(conn)
  }

  /** Closes idle sessions now and the rest as they are released; pending waiters fail with `E_POOL_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    for (let waiter = this.#waiters.shift(); waiter; waiter = this.#waiters.shift()) {
      if (waiter.settled) continue
      waiter.settled = true
      waiter.reject(new PgError('E_POOL_CLOSED', 'the pool is closed', { context: { host: this.#label } }))
    }
    const idle = this.#idle.splice(0)
    await Promise.allSettled(idle.map((conn) => this.#discard(conn)))
  }

  async #open(signal?: AbortSignal): Promise<DriverConnection> {
    this.#opening++
    const timeout = AbortSignal.timeout(this.#acquireTimeoutMs)
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
    try {
      const conn = await this.#driver.connect(combined)
      if (this.#hooks.initialize) {
        try {
          await this.#hooks.initialize(conn, combined)
        } catch (err) {
          void conn.close().catch(() => {})
          throw err
        }
      }
      if (this.#closed) {
        void conn.close().catch(() => {})
        throw new PgError('E_POOL_CLOSED', 'the pool is closed', { context: { host: this.#label } })
      }
      const jitter = 1 + (Math.random() * 2 - 1) * this.#lifetimeJitter
      this.#info.set(conn, { expiresAt: Date.now() + this.#maxLifetimeMs * jitter, idleSince: Date.now() })
      this.#all.add(conn)
      conn.onBroken((err) => this.#onIdleBroken(conn, err))
      return conn
    } catch (err) {
      if (signal?.aborted) throw abortError(signal, { host: this.#label })
      if (timeout.aborted) throw this.#timeoutError(err)
      if (err instanceof PgError) throw err
      throw new PgError('E_CONNECT', `cannot connect to ${this.#label}`, {
        cause: err,
        context: { host: this.#label },
      })
    } finally {
      this.#opening--
    }
  }

  #wait(signal?: AbortSignal): Promise<DriverConnection> {
    if (this.#waiters.size >= this.#maxWaiting) {
      return Promise.reject(this.#timeoutError(undefined, 'too many callers waiting'))
    }
    return new Promise<DriverConnection>((resolve, reject) => {
      let node: QueueNode<Waiter> | undefined
      const finish = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (node) this.#waiters.remove(node)
      }
      const waiter: Waiter = {
        settled: false,
        resolve: (conn) => {
          finish()
          resolve(conn)
        },
        reject: (err) => {
          finish()
          reject(err)
        },
      }
      const onAbort = () => {
        if (waiter.settled) return
        waiter.settled = true
        waiter.reject(abortError(signal!, { host: this.#label }))
      }
      const timer = setTimeout(() => {
        if (waiter.settled) return
        waiter.settled = true
        waiter.reject(this.#timeoutError())
      }, this.#acquireTimeoutMs)
      signal?.addEventListener('abort', onAbort, { once: true })
      node = this.#waiters.push(waiter)
    })
  }

  /** A session closed while callers wait: open a new one for the oldest of them. */
  #refill(): void {
    if (this.#closed || this.#waiters.size === 0 || this.#all.size + this.#opening >= this.#max) return
    const waiter = this.#waiters.shift()
    if (!waiter) return
    waiter.settled = true
    this.#open().then(waiter.resolve, waiter.reject)
  }

  #onIdleBroken(conn: DriverConnection, err: unknown): void {
    const index = this.#idle.indexOf(conn)
    if (index === -1) return // in use: its user sees the error and releases it
    this.#idle.splice(index, 1)
    this.#discard(conn)
    if (poolErrorChannel.hasSubscribers) poolErrorChannel.publish({ host: this.#label, error: err })
  }

  /** Whether a session sat idle longer than `validateAfterIdleMs`, so it must answer `SELECT 1` first. */
  #needsCheck(conn: DriverConnection): boolean {
    const info = this.#info.get(conn)
    return info !== undefined && Date.now() - info.idleSince >= this.#validateAfterIdleMs
  }

  async #stillGood(conn: DriverConnection, signal?: AbortSignal): Promise<boolean> {
    try {
      await conn.query('SELECT 1', [], { signal })
      return true
    } catch {
      if (signal?.aborted) throw abortError(signal, { host: this.#label })
      return false
    }
  }

  /** Keeps `min` sessions open and closes idle ones above it after `idleTimeoutMs`. */
  #sweep(): void {
    if (this.#closed) return
    const now = Date.now()
    for (let i = this.#idle.length - 1; i >= 0 && this.#all.size > this.#min; i--) {
      const conn = this.#idle[i]!
      const info = this.#info.get(conn)
      if (info && (now - info.idleSince >= this.#idleTimeoutMs || info.expiresAt <= now)) {
        this.#idle.splice(i, 1)
        this.#discard(conn)
      }
    }
    this.#fill()
  }

  #fill(): void {
    while (!this.#closed && this.#all.size + this.#opening < this.#min) {
      this.#open().then(
        (conn) => this.release(conn),
        () => {}, // retried at the next sweep
      )
    }
  }

  #discard(conn: DriverConnection): Promise<void> {
    this.#all.delete(conn)
    this.#info.delete(conn)
    return conn.close().catch(() => {})
  }

  #timeoutError(cause?: unknown, reason = 'no session free'): PgError {
    return new PgError('E_POOL_TIMEOUT', `${reason} on ${this.#label} within ${this.#acquireTimeoutMs} ms`, {
      cause,
      context: { host: this.#label, acquireTimeoutMs: this.#acquireTimeoutMs, ...this.stats },
    })
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const result = value ?? fallback
  if (!(result > 0)) throw invalid(`${name} must be a positive number`)
  return result
}

function invalid(message: string): PgError {
  return new PgError('E_INVALID_OPTION', message)
}
