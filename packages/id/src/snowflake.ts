import { performance } from 'node:perf_hooks'
import { type ClockBackwardsEvent, clockBackwardsChannel } from './channels.js'
import { writeDecimals } from './decimal.js'
import { IdError } from './errors.js'
import {
  DEFAULT_EPOCH,
  MAX_SEQUENCE,
  MAX_TIMESTAMP,
  MAX_WORKER_ID,
  TIMESTAMP_SHIFT,
  WORKER_ID_SHIFT,
} from './layout.js'
import { checkEpoch, checkFunction, checkInteger } from './validate.js'

const BIG_TIMESTAMP_SHIFT = BigInt(TIMESTAMP_SHIFT)

/**
 * The first id of a millisecond takes a random sequence in `0..SEQUENCE_OFFSET_RANGE - 1`, so that at low
 * rates `id % N` is even for every N up to 1024 (with sequences starting at 0 every id lands on shard 0).
 * 1024 keeps at least 3072 ids of room in a millisecond; after a millisecond that ran out, the next starts
 * at 0, so a saturated generator still issues all 4096 ids of every millisecond.
 *
 * @example
 * decode(ids.next()).sequence < SEQUENCE_OFFSET_RANGE // true for the first id of a quiet millisecond
 */
export const SEQUENCE_OFFSET_RANGE = 1024

/** Largest `nextBatch` count. */
export const MAX_BATCH = 1_000_000

/** The most `maxBackwardsMs` may be: a longer step is waited out by spinning, which blocks the event loop. */
export const MAX_TOLERATED_BACKWARDS_MS = 1000

// How long past the expected catch-up a spin gives a clock that does not advance before refusing.
const SPIN_SLACK_MS = 50

/**
 * What a generator asks of a worker-id lease before the first id of every millisecond. `assertValid` throws
 * (an {@link IdError}: `E_LEASE_LOST`, `E_LEASE_RELEASED`, `E_CLOCK_AHEAD_OF_LEASE`) when no id may be
 * issued at `timestamp` (unix ms).
 */
export interface IssueGuard {
  assertValid(timestamp: number): void
}

/** Options of {@link Snowflake}. */
export interface SnowflakeOptions {
  /** This generator's worker id, an integer in 0..1023, unique among live generators. Required. */
  workerId: number
  /**
   * Custom epoch in unix ms; ids hold milliseconds since it.
   * @default DEFAULT_EPOCH (2024-01-01T00:00:00Z)
   */
  epoch?: number
  /**
   * Millisecond clock returning integer unix ms; inject one in tests.
   * @default Date.now
   */
  clock?: () => number
  /**
   * The largest backward clock step, in ms, that is waited out (by spinning until the clock is back where it
   * was); a larger step refuses with `E_CLOCK_BACKWARDS`. 0 refuses every step. At most 1000.
   * @default 5
   */
  maxBackwardsMs?: number
  /**
   * Uniform random numbers in [0, 1) for the starting sequence of each millisecond; inject a seeded one in tests.
   * @default Math.random
   */
  random?: () => number
  /**
   * Issue no id at or before this unix ms: the last timestamp a previous holder of this worker id issued
   * (a lease's persisted timestamp).
   * @default none
   */
  startAfter?: number
  /** Asked before the first id of every millisecond; a lease stops the generator by throwing. */
  guard?: IssueGuard
}

/** Counters of a generator's slow paths, for metrics. */
export interface SnowflakeStats {
  /** Backward clock steps within `maxBackwardsMs` that were waited out. */
  clockBackwardsWaited: number
  /** Backward clock steps that were refused with `E_CLOCK_BACKWARDS`. */
  clockBackwardsRefused: number
  /** Milliseconds whose 4096 sequence numbers ran out, so the generator spun to the next one. */
  sequenceExhausted: number
}

/**
 * A Snowflake id generator: 41 bits of milliseconds since the epoch, 10 bits of worker id, 12 bits of
 * sequence. Ids from one generator are strictly increasing; ids from generators with distinct worker ids
 * never collide. A backward clock step of up to `maxBackwardsMs` is waited out; a larger one is refused
 * rather than risk a duplicate.
 *
 * A worker id must not be shared between live processes: take one from {@link acquireWorkerLease}, or
 * configure a fixed one where only one process runs.
 *
 * @example
 * const ids = new Snowflake({ workerId: 7 })
 * const id = ids.next()               // 187535720448028672n
 * const s = ids.nextString()          // '187535720448028673'
 * const batch = ids.nextBatch(1000)   // 1000 bigints, increasing
 */
export class Snowflake {
  /** This generator's worker id. */
  readonly workerId: number
  /** This generator's epoch in unix ms. */
  readonly epoch: number
  /** The largest backward clock step that is waited out, in ms. */
  readonly maxBackwardsMs: number
  readonly #clock: () => number
  readonly #random: () => number
  readonly #guard: IssueGuard | undefined
  // The worker id pre-shifted into place, so the hot path ORs a single small number.
  readonly #workerBits: number
  #lastTimestamp: number
  #sequence: number
  // True when the last millisecond ran out of sequence numbers: the next one then starts at 0.
  #exhausted = false
  // BigInt(timestamp - epoch) << 22n for #lastTimestamp, built once per millisecond, not once per id.
  #high = 0n
  #halted: Error | undefined
  readonly #stats: SnowflakeStats = {
    clockBackwardsWaited: 0,
    clockBackwardsRefused: 0,
    sequenceExhausted: 0,
  }

  constructor(options: SnowflakeOptions) {
    if (options === null || typeof options !== 'object') {
      throw new IdError('E_INVALID_OPTION', 'options must be an object with a workerId', {
        option: 'options',
        value: options,
      })
    }
    const {
      workerId,
      epoch = DEFAULT_EPOCH,
      clock = Date.now,
      maxBackwardsMs = 5,
      random = Math.random,
      startAfter,
      guard,
    } = options
    if (
      typeof workerId !== 'number' ||
      !Number.isInteger(workerId) ||
      workerId < 0 ||
      workerId > MAX_WORKER_ID
    ) {
      throw new IdError('E_INVALID_OPTION', `options.workerId must be an integer in 0..${MAX_WORKER_ID}`, {
        option: 'options.workerId',
        value: workerId,
      })
    }
    this.#clock = checkFunction(clock, 'options.clock', 'returning unix milliseconds')
    this.#random = checkFunction(random, 'options.random', 'returning numbers in [0, 1)')
    this.maxBackwardsMs = checkInteger(
      maxBackwardsMs,
      'options.maxBackwardsMs',
      0,
      MAX_TOLERATED_BACKWARDS_MS,
    )
    if (startAfter !== undefined) checkInteger(startAfter, 'options.startAfter', 0, Number.MAX_SAFE_INTEGER)
    if (guard !== undefined && typeof guard?.assertValid !== 'function') {
      throw new IdError('E_INVALID_OPTION', 'options.guard must have an assertValid() method', {
        option: 'options.guard',
        value: guard,
      })
    }
    this.workerId = workerId
    this.epoch = checkEpoch(epoch, 'options.epoch')
    this.#guard = guard
    this.#workerBits = workerId << WORKER_ID_SHIFT
    // A persisted timestamp counts as a fully used millisecond: the first id comes strictly after it.
    this.#lastTimestamp = startAfter ?? -1
    this.#sequence = startAfter === undefined ? 0 : MAX_SEQUENCE
  }

  /** The millisecond (unix ms) of the last id issued, or `startAfter` (-1 when none) before the first. */
  get lastTimestamp(): number {
    return this.#lastTimestamp
  }

  /** A copy of the slow-path counters. */
  get stats(): SnowflakeStats {
    return { ...this.#stats }
  }

  /**
   * Stops this generator for good: every later call throws `reason`. A lease halts its generator the moment
   * it is lost or released, so not even the rest of the current millisecond is issued.
   *
   * @example
   * ids.halt(new IdError('E_LEASE_RELEASED', 'shutting down'))
   */
  halt(reason: Error): void {
    this.#halted ??= reason
    // Pushes every call off the fast path and into #slow, which throws; the fast path stays one comparison.
    this.#sequence = MAX_SEQUENCE + 1
  }

  /**
   * The next id as a bigint (fits a PostgreSQL `bigint`).
   *
   * After the sequence numbers of a millisecond run out it spins until the next one; after a backward
   * clock step of up to `maxBackwardsMs` it spins until the clock is back.
   *
   * @throws {IdError} `E_CLOCK_BACKWARDS` if the clock steps back further than `maxBackwardsMs` (no id is
   *   issued and the state is unchanged, so the generator resumes once the clock catches up);
   *   `E_TIMESTAMP_OUT_OF_RANGE` if the clock is before the epoch or beyond the 41-bit range;
   *   `E_LEASE_LOST` / `E_LEASE_RELEASED` from the guard of a leased generator.
   * @example
   * const id = ids.next()
   * await db.write('insert into posts (id, body) values ($1, $2)', [id, body])
   */
  next(): bigint {
    const now = this.#clock()
    if (now === this.#lastTimestamp && this.#sequence < MAX_SEQUENCE) {
      this.#sequence++
      return this.#high | BigInt(this.#workerBits | this.#sequence)
    }
    return this.#slow(now)
  }

  /**
   * The next id as a decimal string, the form JSON and URLs carry (JavaScript numbers lose precision past 2^53).
   *
   * @throws {IdError} as {@link Snowflake.next}.
   * @example
   * res.json({ id: ids.nextString() })
   */
  nextString(): string {
    return this.next().toString()
  }

  /**
   * `count` ids in one call, increasing. The clock is read once per millisecond used, not once per id.
   * Either all `count` ids are returned or an error is thrown (ids drawn before it are never reissued).
   *
   * @throws {IdError} `E_INVALID_OPTION` unless `count` is an integer in 1..1000000; otherwise as {@link Snowflake.next}.
   * @example
   * const ids = generator.nextBatch(1000)
   * await db.write('insert into events (id, body) select * from unnest($1::bigint[], $2::text[])', [ids, bodies])
   */
  nextBatch(count: number): bigint[] {
    checkInteger(count, 'count', 1, MAX_BATCH)
    const ids = new Array<bigint>(count)
    let at = 0
    while (at < count) {
      ids[at++] = this.next()
      const run = Math.min(MAX_SEQUENCE - this.#sequence, count - at)
      const high = this.#high
      const bits = this.#workerBits
      let sequence = this.#sequence
      for (let i = 0; i < run; i++) ids[at++] = high | BigInt(bits | ++sequence)
      this.#sequence = sequence
    }
    return ids
  }

  /**
   * `count` ids as decimal strings, as {@link Snowflake.nextBatch} but formatted without one bigint per id.
   *
   * @throws {IdError} as {@link Snowflake.nextBatch}.
   * @example
   * reply.send({ ids: generator.nextStringBatch(1000) })
   */
  nextStringBatch(count: number): string[] {
    checkInteger(count, 'count', 1, MAX_BATCH)
    const ids = new Array<string>(count)
    let at = 0
    while (at < count) {
      this.next()
      const first = this.#sequence
      const run = Math.min(MAX_SEQUENCE - first, count - at - 1) + 1
      writeDecimals(this.#high | BigInt(this.#workerBits), first, run, ids, at)
      this.#sequence = first + run - 1
      at += run
    }
    return ids
  }

  // Everything but the next id of the current millisecond: a new millisecond, a used-up one, a clock step back.
  #slow(now: number): bigint {
    if (this.#halted) throw this.#halted
    const last = this.#lastTimestamp
    if (now < last) now = this.#waitOut(now)
    if (now === last) {
      if (this.#sequence < MAX_SEQUENCE) {
        this.#sequence++
        return this.#high | BigInt(this.#workerBits | this.#sequence)
      }
      this.#stats.sequenceExhausted++
      this.#exhausted = true
      now = this.#spinUntil(last + 1)
    }
    return this.#advance(now)
  }

  // First id of a new millisecond: validate range and lease before touching state, so a throw changes nothing.
  #advance(now: number): bigint {
    const timestamp = now - this.epoch
    if (!(timestamp >= 0 && timestamp <= MAX_TIMESTAMP) || !Number.isInteger(now)) {
      const range = `${this.epoch}..${this.epoch + MAX_TIMESTAMP}`
      throw new IdError(
        'E_TIMESTAMP_OUT_OF_RANGE',
        `clock read ${now}; ids need integer unix ms in ${range} (the 41-bit range of this epoch)`,
        { now, epoch: this.epoch },
      )
    }
    this.#guard?.assertValid(now)
    const sequence = this.#exhausted ? 0 : Math.floor(this.#random() * SEQUENCE_OFFSET_RANGE)
    // A random source returning 1 or garbage must not push the sequence out of its field.
    this.#sequence = sequence >= 0 && sequence < SEQUENCE_OFFSET_RANGE ? sequence : 0
    this.#exhausted = false
    this.#lastTimestamp = now
    this.#high = BigInt(timestamp) << BIG_TIMESTAMP_SHIFT
    return this.#high | BigInt(this.#workerBits | this.#sequence)
  }

  // The clock reads before the last issued millisecond: wait a small step out, refuse a larger one.
  #waitOut(now: number): number {
    const backwardsMs = this.#lastTimestamp - now
    if (backwardsMs > this.maxBackwardsMs) throw this.#refuse(now)
    this.#stats.clockBackwardsWaited++
    this.#publish(now, 'wait')
    return this.#spinUntil(this.#lastTimestamp)
  }

  // Spins until the clock reads `target` or later. next() is synchronous, so it cannot sleep; the spin is
  // bounded by the rest of a millisecond or by maxBackwardsMs, and by a wall-time limit in case the clock
  // has stopped.
  #spinUntil(target: number): number {
    let now = this.#clock()
    if (now >= target) return now
    const limit = performance.now() + (target - now) + SPIN_SLACK_MS
    for (let reads = 1; now < target; reads++) {
      if (this.#lastTimestamp - now > this.maxBackwardsMs) throw this.#refuse(now)
      now = this.#clock()
      if ((reads & 63) === 0 && now < target && performance.now() > limit) {
        // Past the wall-time limit: the clock may have stopped, or this process was descheduled
        // mid-spin. Only a fresh read that still falls short refuses.
        now = this.#clock()
        if (now < target) throw this.#refuse(now)
      }
    }
    return now
  }

  #refuse(now: number): IdError {
    const lastTimestamp = this.#lastTimestamp
    const backwardsMs = lastTimestamp - now
    this.#stats.clockBackwardsRefused++
    this.#publish(now, 'refuse')
    return new IdError(
      'E_CLOCK_BACKWARDS',
      `clock moved backwards by ${backwardsMs} ms (now ${now}, last id at ${lastTimestamp}); ` +
        `refusing to issue ids (more than the ${this.maxBackwardsMs} ms waited out)`,
      { lastTimestamp, now, backwardsMs, workerId: this.workerId },
    )
  }

  #publish(now: number, action: ClockBackwardsEvent['action']): void {
    if (!clockBackwardsChannel.hasSubscribers) return
    const event: ClockBackwardsEvent = {
      workerId: this.workerId,
      backwardsMs: this.#lastTimestamp - now,
      lastTimestamp: this.#lastTimestamp,
      now,
      action,
    }
    clockBackwardsChannel.publish(event)
  }
}
