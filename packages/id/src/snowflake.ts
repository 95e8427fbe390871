import { IdError } from './errors.js'
import {
  DEFAULT_EPOCH,
  MAX_SEQUENCE,
  MAX_TIMESTAMP,
  MAX_WORKER_ID,
  TIMESTAMP_SHIFT,
  WORKER_ID_SHIFT,
} from './layout.js'
import { checkEpoch } from './validate.js'

const BIG_TIMESTAMP_SHIFT = BigInt(TIMESTAMP_SHIFT)

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
}

/**
 * A Snowflake id generator: 41 bits of milliseconds since the epoch, 10 bits of worker id, 12 bits of
 * sequence. Ids from one generator are strictly increasing; ids from generators with distinct worker ids
 * never collide. It refuses to issue ids when the clock goes backwards rather than risk a duplicate.
 *
 * Not safe to share one worker id between processes: give each its own (leases come later).
 *
 * @example
 * const ids = new Snowflake({ workerId: 7 })
 * const id = ids.next()          // 187535720448028672n
 * const s = ids.nextString()     // '187535720448028673'
 */
export class Snowflake {
  /** This generator's worker id. */
  readonly workerId: number
  /** This generator's epoch in unix ms. */
  readonly epoch: number
  readonly #clock: () => number
  // The worker id pre-shifted into place, so the hot path ORs a single small number.
  readonly #workerBits: number
  #lastTimestamp = -1
  #sequence = 0
  // BigInt(timestamp - epoch) << 22n for #lastTimestamp, built once per millisecond, not once per id.
  #high = 0n

  constructor(options: SnowflakeOptions) {
    if (options === null || typeof options !== 'object') {
      throw new IdError('E_INVALID_OPTION', 'options must be an object with a workerId', {
        option: 'options',
        value: options,
      })
    }
    const { workerId, epoch = DEFAULT_EPOCH, clock = Date.now } = options
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
    if (typeof clock !== 'function') {
      throw new IdError('E_INVALID_OPTION', 'options.clock must be a function returning unix milliseconds', {
        option: 'options.clock',
        value: clock,
      })
    }
    this.workerId = workerId
    this.epoch = checkEpoch(epoch, 'options.epoch')
    this.#clock = clock
    this.#workerBits = workerId << WORKER_ID_SHIFT
  }

  /**
   * The next id as a bigint (fits a PostgreSQL `bigint`).
   *
   * After 4096 ids in one millisecond it busy-waits for the clock to reach the next one.
   *
   * @throws {IdError} `E_CLOCK_BACKWARDS` if the clock reads earlier than the last issued timestamp
   *   (no id is issued and the state is unchanged, so the generator resumes once the clock catches up);
   *   `E_TIMESTAMP_OUT_OF_RANGE` if the clock is before the epoch or beyond the 41-bit range.
   * @example
   * const id = ids.next()
   * await db.insertInto('posts').values({ id, body }).execute()
   */
  next(): bigint {
    const now = this.#clock()
    if (now === this.#lastTimestamp) {
      if (this.#sequence < MAX_SEQUENCE) {
        this.#sequence++
        return this.#high | BigInt(this.#workerBits | this.#sequence)
      }
      return this.#advance(this.#waitNextMillisecond())
    }
    if (now < this.#lastTimestamp) throw this.#backwards(now)
    return this.#advance(now)
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

  // First id of a new millisecond: validate the range before touching state, so a throw changes nothing.
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
    this.#lastTimestamp = now
    this.#sequence = 0
    this.#high = BigInt(timestamp) << BIG_TIMESTAMP_SHIFT
    return this.#high | BigInt(this.#workerBits)
  }

  // The sequence is exhausted for #lastTimestamp: spin on the clock until it moves on. next() is
  // synchronous, so it cannot sleep; the wait is at most the rest of the current millisecond.
  #waitNextMillisecond(): number {
    const last = this.#lastTimestamp
    let now = this.#clock()
    while (now === last) now = this.#clock()
    if (now < last) throw this.#backwards(now)
    return now
  }

  #backwards(now: number): IdError {
    const lastTimestamp = this.#lastTimestamp
    const backwardsMs = lastTimestamp - now
    return new IdError(
      'E_CLOCK_BACKWARDS',
      `clock moved backwards by ${backwardsMs} ms (now ${now}, last id at ${lastTimestamp}); refusing to issue ids`,
      { lastTimestamp, now, backwardsMs },
    )
  }
}
