import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { performance } from 'node:perf_hooks'
import { type LeaseEvent, leaseChannel } from '../channels.js'
import { abortedError, IdError } from '../errors.js'
import { DEFAULT_EPOCH, MAX_WORKER_ID } from '../layout.js'
import { type IssueGuard, MAX_TOLERATED_BACKWARDS_MS, Snowflake } from '../snowflake.js'
import { checkEpoch, checkFunction, checkInteger } from '../validate.js'
import type { LeaseGrant, LeaseStore } from './lease-store.js'

/** Options of {@link acquireWorkerLease}. */
export interface WorkerLeaseOptions {
  /** Where leases live: `pgLeaseStore(...)` across processes, `new MemoryLeaseStore()` within one. Required. */
  store: LeaseStore
  /**
   * Lease lifetime without renewal, in ms. The holder stops issuing ids `ttlMs / 2` after its last
   * successful renewal was sent, well before the store lets anyone else take the worker id.
   * @default 10_000
   */
  ttlMs?: number
  /**
   * Interval between renewals, in ms; below `ttlMs / 2`, so a failed renewal is retried before issuing stops.
   * @default ttlMs / 5
   */
  renewEveryMs?: number
  /**
   * How long a released or expired worker id rests before it is reused, in ms. Must exceed `maxBackwardsMs`:
   * a new holder whose clock lags the old one's by up to that much then still issues later timestamps.
   * @default 1_000
   */
  quarantineMs?: number
  /** A worker id to prefer when free, e.g. a StatefulSet ordinal ({@link statefulSetOrdinal}); never a claim. */
  hint?: number
  /**
   * This process's identity in the store; must differ between live processes.
   * @default `${hostname}/${pid}/${8 random hex digits}`
   */
  holder?: string
  /**
   * How long to keep trying while every worker id is leased or resting, in ms; then `E_NO_WORKER_ID`.
   * @default ttlMs + quarantineMs + 1_000 (long enough for an abandoned lease to come free)
   */
  waitMs?: number
  /**
   * Interval between attempts while no worker id is free, and between renewals after one failed (a
   * database failover: renewing at once when it is back keeps the lease), in ms.
   * @default 250
   */
  retryEveryMs?: number
  /** Passed to the generator. @default 5 */
  maxBackwardsMs?: number
  /** Passed to the generator. @default DEFAULT_EPOCH */
  epoch?: number
  /** The generator's wall clock, also checked against the worker id's last timestamp. @default Date.now */
  clock?: () => number
  /** Passed to the generator. @default Math.random */
  random?: () => number
  /**
   * Monotonic clock in ms for the lease's own deadlines; inject one in tests.
   * @default performance.now
   */
  monotonic?: () => number
  /** Aborts the acquisition (not the lease once held: call `release()`). */
  signal?: AbortSignal
}

const DEFAULTS = Object.freeze({ ttlMs: 10_000, quarantineMs: 1_000, retryEveryMs: 250 })

/**
 * A held worker-id lease. Its {@link WorkerLease.generator} issues ids only while the lease is valid: from
 * `ttlMs / 2` after the last renewal that succeeded (or at once when the store says it was taken over),
 * it refuses with `E_LEASE_LOST` and `lost` fires.
 */
export class WorkerLease implements IssueGuard {
  /** The leased worker id. */
  readonly workerId: number
  /** This lease's fencing token: larger than that of every earlier lease of any worker id in the store. */
  readonly fencingToken: number
  /** This process's identity in the store. */
  readonly holder: string
  /** The last timestamp (unix ms) earlier holders persisted for this worker id; ids start after it. */
  readonly startAfter: number
  readonly #store: LeaseStore
  readonly #ttlMs: number
  readonly #renewEveryMs: number
  readonly #retryEveryMs: number
  readonly #monotonic: () => number
  readonly #generatorOptions: {
    epoch: number
    clock: () => number
    random: () => number
    maxBackwardsMs: number
  }
  readonly #lost = new AbortController()
  #deadline: number
  // The highest timestamp the store has on record as this holder's bound: ids above it are refused.
  #ceiling: number
  #generator: Snowflake | undefined
  #renewTimer: NodeJS.Timeout | undefined
  #deadlineTimer: NodeJS.Timeout | undefined
  #renewing: Promise<void> | undefined
  #released: Promise<void> | undefined

  /** @internal Use {@link acquireWorkerLease}. */
  constructor(
    grant: LeaseGrant,
    sentAt: number,
    issueUntil: number,
    settings: {
      store: LeaseStore
      ttlMs: number
      renewEveryMs: number
      retryEveryMs: number
      monotonic: () => number
      epoch: number
      clock: () => number
      random: () => number
      maxBackwardsMs: number
    },
  ) {
    this.workerId = grant.workerId
    this.fencingToken = grant.fencingToken
    this.holder = grant.holder
    this.startAfter = grant.lastTimestamp
    this.#store = settings.store
    this.#ttlMs = settings.ttlMs
    this.#renewEveryMs = settings.renewEveryMs
    this.#retryEveryMs = Math.min(settings.retryEveryMs, settings.renewEveryMs)
    this.#monotonic = settings.monotonic
    this.#generatorOptions = {
      epoch: settings.epoch,
      clock: settings.clock,
      random: settings.random,
      maxBackwardsMs: settings.maxBackwardsMs,
    }
    this.#deadline = sentAt + settings.ttlMs / 2
    this.#ceiling = issueUntil
    this.#scheduleRenewal()
    this.#armDeadline()
  }

  /** Fires (with an `IdError` `E_LEASE_LOST` or `E_LEASE_RELEASED` as reason) once ids may no longer be issued. */
  get lost(): AbortSignal {
    return this.#lost.signal
  }

  /** Until when (on the monotonic clock) ids may be issued without another successful renewal. */
  get validUntil(): number {
    return this.#deadline
  }

  /** True while the generator may issue ids. */
  get valid(): boolean {
    return !this.#lost.signal.aborted && this.#monotonic() <= this.#deadline
  }

  /**
   * The one generator of this lease (the same object on every call): two generators with one worker id
   * would collide.
   *
   * @example
   * const ids = lease.generator()
   * const id = ids.next() // throws IdError E_LEASE_LOST once the lease is gone
   */
  generator(): Snowflake {
    this.#generator ??= new Snowflake({
      workerId: this.workerId,
      ...this.#generatorOptions,
      ...(this.startAfter > 0 ? { startAfter: this.startAfter } : {}),
      guard: this,
    })
    if (this.#lost.signal.aborted) this.#generator.halt(this.#lost.signal.reason)
    return this.#generator
  }

  /**
   * Throws unless ids may be issued at `timestamp` now. The generator calls it before the first id of every
   * millisecond, so even a loop that never yields to the event loop stops on time.
   *
   * @throws {IdError} `E_LEASE_LOST`, `E_LEASE_RELEASED`; `E_CLOCK_AHEAD_OF_LEASE` when the clock jumped past
   *   the bound the store has on record (until the next renewal records a higher one).
   */
  assertValid(timestamp: number): void {
    if (this.#lost.signal.aborted) throw this.#lost.signal.reason
    if (this.#monotonic() > this.#deadline) {
      this.#lose('lease not renewed within ttlMs / 2 of its last successful renewal')
      throw this.#lost.signal.reason
    }
    if (timestamp > this.#ceiling) {
      throw new IdError(
        'E_CLOCK_AHEAD_OF_LEASE',
        `the clock (${timestamp}) is past ${this.#ceiling}, the last timestamp the lease store has on record ` +
          `for worker id ${this.workerId}; ids resume after the next renewal`,
        { ...this.#context(), now: timestamp, lastTimestamp: this.#ceiling },
      )
    }
  }

  /**
   * Stops the generator, persists its last timestamp and frees the worker id (its quarantine starts).
   * Safe to call twice; a store failure is thrown, but the lease is stopped either way and expires by itself.
   *
   * @example
   * process.once('SIGTERM', () => lease.release().finally(() => process.exit(0)))
   */
  release(signal?: AbortSignal): Promise<void> {
    this.#released ??= this.#release(signal)
    return this.#released
  }

  async #release(signal?: AbortSignal): Promise<void> {
    const wasLost = this.#lost.signal.aborted
    this.#stop(
      new IdError(
        'E_LEASE_RELEASED',
        `the lease of worker id ${this.workerId} was released`,
        this.#context(),
      ),
    )
    if (!wasLost) publish('released', this)
    await this.#renewing?.catch(() => {})
    await this.#store.release(this.#key(), this.#lastTimestamp(), signal)
  }

  #lastTimestamp(): number {
    return Math.max(this.startAfter, this.#generator?.lastTimestamp ?? 0)
  }

  #key() {
    return { workerId: this.workerId, fencingToken: this.fencingToken, holder: this.holder }
  }

  #context() {
    return { workerId: this.workerId, fencingToken: this.fencingToken }
  }

  /** The next renewal `delayMs` from now: `renewEveryMs`, or `retryEveryMs` after one that failed. */
  #scheduleRenewal(delayMs = this.#renewEveryMs): void {
    this.#renewTimer = setTimeout(() => {
      let renewed = false
      this.#renewing = this.#renew()
        .then((ok) => {
          renewed = ok
        })
        .finally(() => {
          this.#renewing = undefined
          if (!this.#lost.signal.aborted)
            this.#scheduleRenewal(renewed ? this.#renewEveryMs : this.#retryEveryMs)
        })
    }, delayMs)
    this.#renewTimer.unref()
  }

  /** One renewal; whether it succeeded. */
  async #renew(): Promise<boolean> {
    const sentAt = this.#monotonic()
    if (sentAt > this.#deadline) {
      this.#lose('lease not renewed within ttlMs / 2 of its last successful renewal')
      return false
    }
    // A renewal that answers after the deadline is worthless: give up on it then.
    const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(this.#deadline - sentAt)))
    // The wall clock reads about this when the new deadline passes: the bound of what may be issued until then.
    const issueUntil = this.#generatorOptions.clock() + Math.floor(this.#ttlMs / 2)
    try {
      await this.#store.renew(
        this.#key(),
        { ttlMs: this.#ttlMs, issueUntil },
        AbortSignal.any([timeout, this.#lost.signal]),
      )
    } catch (error) {
      if (this.#lost.signal.aborted) return false
      if (error instanceof IdError && error.code === 'E_LEASE_LOST') {
        this.#lose('the store no longer has this lease (taken over or expired)', error)
        return false
      }
      publish('renew-failed', this, error)
      return false
    }
    if (this.#lost.signal.aborted) return false
    this.#deadline = Math.max(this.#deadline, sentAt + this.#ttlMs / 2)
    this.#ceiling = Math.max(this.#ceiling, issueUntil)
    this.#armDeadline()
    publish('renewed', this)
    return true
  }

  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer)
    const delay = Math.max(0, Math.ceil(this.#deadline - this.#monotonic()) + 1)
    this.#deadlineTimer = setTimeout(() => {
      if (this.#monotonic() > this.#deadline) this.#lose('lease not renewed within ttlMs / 2')
      else this.#armDeadline()
    }, delay)
    this.#deadlineTimer.unref()
  }

  #lose(why: string, cause?: unknown): void {
    if (this.#lost.signal.aborted) return
    const error = new IdError(
      'E_LEASE_LOST',
      `lost the lease of worker id ${this.workerId}: ${why}`,
      this.#context(),
      cause === undefined ? undefined : { cause },
    )
    this.#stop(error)
    publish('lost', this, error)
    // Best effort: free the worker id now rather than at expiry. A takeover makes this a no-op.
    this.#store.release(this.#key(), this.#lastTimestamp()).catch(() => {})
  }

  #stop(reason: IdError): void {
    clearTimeout(this.#renewTimer)
    clearTimeout(this.#deadlineTimer)
    if (this.#lost.signal.aborted) return
    this.#lost.abort(reason)
    this.#generator?.halt(reason)
  }
}

/**
 * Takes a worker id from a lease store and keeps it renewed. Waits (up to `waitMs`) while every worker id
 * is leased or resting, so restarts never run out of ids.
 *
 * @throws {IdError} `E_CLOCK_BEHIND_LEASE` when this clock reads earlier than the last timestamp persisted for
 *   the worker id (the lease is released again); `E_NO_WORKER_ID` after `waitMs`; `E_LEASE_STORE` when the
 *   store fails; `E_ABORTED`; `E_INVALID_OPTION`.
 * @example
 * const store = pgLeaseStore({ cluster })
 * const lease = await acquireWorkerLease({ store, ttlMs: 10_000, hint: statefulSetOrdinal(), signal })
 * const ids = lease.generator()
 * lease.lost.addEventListener('abort', () => process.exitCode = 1)
 * process.once('SIGTERM', () => lease.release())
 */
export async function acquireWorkerLease(options: WorkerLeaseOptions): Promise<WorkerLease> {
  const settings = resolveLeaseOptions(options)
  const { store, signal, monotonic } = settings
  const request = {
    holder: settings.holder,
    ttlMs: settings.ttlMs,
    quarantineMs: settings.quarantineMs,
    ...(settings.hint === undefined ? {} : { hint: settings.hint }),
  }
  const giveUpAt = monotonic() + settings.waitMs
  for (;;) {
    if (signal?.aborted) throw abortedError(signal)
    const sentAt = monotonic()
    const issueUntil = settings.clock() + Math.floor(settings.ttlMs / 2)
    const grant = await store.acquire({ ...request, issueUntil }, signal)
    if (grant) {
      const now = settings.clock()
      if (now < grant.lastTimestamp) {
        await store.release(grant, grant.lastTimestamp).catch(() => {})
        throw new IdError(
          'E_CLOCK_BEHIND_LEASE',
          `worker id ${grant.workerId} was last used at ${grant.lastTimestamp}, ${grant.lastTimestamp - now} ms ` +
            `ahead of this clock (${now}); refusing to issue ids until the clock is right`,
          {
            workerId: grant.workerId,
            lastTimestamp: grant.lastTimestamp,
            now,
            backwardsMs: grant.lastTimestamp - now,
          },
        )
      }
      const lease = new WorkerLease(grant, sentAt, issueUntil, settings)
      publish('acquired', lease)
      return lease
    }
    if (monotonic() >= giveUpAt) {
      throw new IdError(
        'E_NO_WORKER_ID',
        `every worker id stayed leased or in quarantine for ${settings.waitMs} ms (options.waitMs)`,
      )
    }
    await sleep(Math.min(settings.retryEveryMs, Math.max(1, giveUpAt - monotonic())), signal)
  }
}

/**
 * The ordinal of a Kubernetes StatefulSet pod from its hostname (`ids-3` → 3), for `hint`; undefined when
 * the name has no ordinal or it is past 1023.
 *
 * @example
 * const lease = await acquireWorkerLease({ store, hint: statefulSetOrdinal() })
 */
export function statefulSetOrdinal(name: string = hostname()): number | undefined {
  const match = /-(\d{1,4})$/.exec(name)
  if (!match?.[1]) return undefined
  const ordinal = Number(match[1])
  return ordinal <= MAX_WORKER_ID ? ordinal : undefined
}

function resolveLeaseOptions(options: WorkerLeaseOptions) {
  if (options === null || typeof options !== 'object') {
    throw new IdError('E_INVALID_OPTION', 'options must be an object with a store', {
      option: 'options',
      value: options,
    })
  }
  const store = options.store
  if (!store || typeof store.acquire !== 'function' || typeof store.renew !== 'function') {
    throw new IdError('E_INVALID_OPTION', 'options.store must be a LeaseStore such as pgLeaseStore()', {
      option: 'options.store',
      value: store,
    })
  }
  const ttlMs = checkInteger(options.ttlMs ?? DEFAULTS.ttlMs, 'options.ttlMs', 100, 3_600_000)
  const renewEveryMs = options.renewEveryMs ?? Math.floor(ttlMs / 5)
  if (!(typeof renewEveryMs === 'number' && renewEveryMs >= 1 && renewEveryMs < ttlMs / 2)) {
    throw new IdError('E_INVALID_OPTION', 'options.renewEveryMs must be at least 1 and below ttlMs / 2', {
      option: 'options.renewEveryMs',
      value: renewEveryMs,
    })
  }
  const maxBackwardsMs = checkInteger(
    options.maxBackwardsMs ?? 5,
    'options.maxBackwardsMs',
    0,
    MAX_TOLERATED_BACKWARDS_MS,
  )
  const quarantineMs = checkInteger(
    options.quarantineMs ?? DEFAULTS.quarantineMs,
    'options.quarantineMs',
    0,
    86_400_000,
  )
  if (quarantineMs <= maxBackwardsMs) {
    throw new IdError('E_INVALID_OPTION', 'options.quarantineMs must exceed options.maxBackwardsMs', {
      option: 'options.quarantineMs',
      value: quarantineMs,
    })
  }
  const hint =
    options.hint === undefined ? undefined : checkInteger(options.hint, 'options.hint', 0, MAX_WORKER_ID)
  const holder = options.holder ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`
  if (typeof holder !== 'string' || holder === '' || holder.length > 200) {
    throw new IdError('E_INVALID_OPTION', 'options.holder must be a string of 1..200 characters', {
      option: 'options.holder',
      value: holder,
    })
  }
  const waitMs = checkInteger(
    options.waitMs ?? ttlMs + quarantineMs + 1_000,
    'options.waitMs',
    0,
    Number.MAX_SAFE_INTEGER,
  )
  const retryEveryMs = checkInteger(
    options.retryEveryMs ?? DEFAULTS.retryEveryMs,
    'options.retryEveryMs',
    1,
    Number.MAX_SAFE_INTEGER,
  )
  const clock = checkFunction(options.clock ?? Date.now, 'options.clock', 'returning unix milliseconds')
  const random = checkFunction(options.random ?? Math.random, 'options.random', 'returning numbers in [0, 1)')
  const monotonic = checkFunction(
    options.monotonic ?? performance.now.bind(performance),
    'options.monotonic',
    'returning ms',
  )
  const epoch = checkEpoch(options.epoch ?? DEFAULT_EPOCH, 'options.epoch')
  return Object.freeze({
    store,
    ttlMs,
    renewEveryMs,
    quarantineMs,
    hint,
    holder,
    waitMs,
    retryEveryMs,
    maxBackwardsMs,
    epoch,
    clock,
    random,
    monotonic,
    signal: options.signal,
  })
}

function publish(event: LeaseEvent['event'], lease: WorkerLease, error?: unknown): void {
  if (!leaseChannel.hasSubscribers) return
  const message: LeaseEvent = { event, workerId: lease.workerId, fencingToken: lease.fencingToken }
  if (error !== undefined) message.error = error
  leaseChannel.publish(message)
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort(): void {
      clearTimeout(timer)
      reject(abortedError(signal!))
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
