import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_EPOCH, decode, MAX_SEQUENCE, MAX_TIMESTAMP, Snowflake } from '../src/index.js'
import { thrown } from './support/caught.js'

const T0 = DEFAULT_EPOCH + 1_000_000

/**
 * A clock the test moves by hand. It counts reads, can be scripted to move after a number of reads, and
 * throws if read 100k times without moving, so a generator that spins forever fails instead of hanging.
 */
function manualClock(start = T0) {
  let pending: { afterReads: number; to: number } | undefined
  let frozenReads = 0
  const clock = {
    now: start,
    reads: 0,
    /** Moves the clock to `to` once it has been read `reads` more times. */
    moveAfter(reads: number, to: number) {
      pending = { afterReads: clock.reads + reads, to }
    },
    read: (): number => {
      clock.reads++
      if (pending && clock.reads > pending.afterReads) {
        clock.now = pending.to
        pending = undefined
      }
      if (++frozenReads > 100_000) throw new Error('the generator spun on a frozen clock')
      return clock.now
    },
    set(now: number) {
      clock.now = now
      frozenReads = 0
    },
  }
  return clock
}

describe('Snowflake', () => {
  it('issues 200k unique, strictly increasing ids on the real clock', () => {
    const ids = new Snowflake({ workerId: 1 })
    const n = 200_000
    let previous = -1n
    let outOfOrder = 0
    const seen = new Set<bigint>()
    for (let i = 0; i < n; i++) {
      const id = ids.next()
      if (id <= previous) outOfOrder++
      previous = id
      seen.add(id)
    }
    expect(outOfOrder).toBe(0)
    expect(seen.size).toBe(n)
  })

  it('encodes the clock, worker id and sequence', () => {
    const clock = manualClock()
    const ids = new Snowflake({ workerId: 1023, clock: clock.read, random: () => 0 })
    expect(decode(ids.next())).toMatchObject({ timestamp: T0, workerId: 1023, sequence: 0 })
    expect(decode(ids.next())).toMatchObject({ timestamp: T0, workerId: 1023, sequence: 1 })
    clock.set(T0 + 1)
    expect(decode(ids.next())).toMatchObject({ timestamp: T0 + 1, workerId: 1023, sequence: 0 })
    expect(ids.next()).toBe((BigInt(T0 + 1 - DEFAULT_EPOCH) << 22n) | (1023n << 12n) | 1n)
  })

  it('nextString returns the decimal form', () => {
    const clock = manualClock()
    const a = new Snowflake({ workerId: 5, clock: clock.read, random: () => 0.5 })
    const b = new Snowflake({ workerId: 5, clock: clock.read, random: () => 0.5 })
    expect(a.nextString()).toBe(b.next().toString())
    expect(a.nextString()).toMatch(/^[1-9][0-9]*$/)
  })

  it('spins on the clock after 4096 ids in one millisecond and continues in the next', () => {
    const clock = manualClock()
    const ids = new Snowflake({ workerId: 3, clock: clock.read, random: () => 0 })
    let last = 0n
    for (let i = 0; i <= MAX_SEQUENCE; i++) last = ids.next()
    expect(decode(last)).toMatchObject({ timestamp: T0, sequence: MAX_SEQUENCE })

    // The clock stays put for five more reads, then moves on.
    const readsBefore = clock.reads
    clock.moveAfter(5, T0 + 1)
    const next = ids.next()
    expect(clock.reads - readsBefore).toBe(6)
    expect(next > last).toBe(true)
    expect(decode(next)).toMatchObject({ timestamp: T0 + 1, workerId: 3, sequence: 0 })
  })

  it.each([
    ['1 ms (nothing tolerated)', 1, 0],
    ['6 ms', 6, 5],
    ['1 h', 3_600_000, 5],
  ])(
    'refuses when the clock goes back by %s, then resumes unique and greater',
    (_, backwardsMs, maxBackwardsMs) => {
      const clock = manualClock()
      const ids = new Snowflake({ workerId: 9, clock: clock.read, random: () => 0, maxBackwardsMs })
      const before = [ids.next(), ids.next()]

      clock.set(T0 - backwardsMs)
      const err = thrown(() => ids.next())
      expect(err).toMatchObject({
        code: 'E_CLOCK_BACKWARDS',
        lastTimestamp: T0,
        now: T0 - backwardsMs,
        backwardsMs,
      })
      expect(err.message).toContain(`${backwardsMs} ms`)
      // Still refusing while the clock is behind; the refusal changes no state.
      clock.set(T0 - 1 - maxBackwardsMs)
      expect(thrown(() => ids.next()).code).toBe('E_CLOCK_BACKWARDS')

      clock.set(T0) // caught up to the same millisecond: the sequence continues
      const resumed = ids.next()
      expect(decode(resumed)).toMatchObject({ timestamp: T0, sequence: 2 })
      clock.set(T0 + 1)
      const after = [resumed, ids.next()]
      expect(after[0]! > before[1]!).toBe(true)
      expect(after[1]! > after[0]!).toBe(true)
    },
  )

  it('refuses when the clock goes back while spinning for the next millisecond', () => {
    const clock = manualClock()
    const ids = new Snowflake({ workerId: 0, clock: clock.read, random: () => 0, maxBackwardsMs: 1 })
    for (let i = 0; i <= MAX_SEQUENCE; i++) ids.next()
    clock.moveAfter(2, T0 - 2)
    expect(thrown(() => ids.next())).toMatchObject({ code: 'E_CLOCK_BACKWARDS', backwardsMs: 2 })
  })

  it('never repeats or reorders ids under an arbitrary clock (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 300 }), (steps) => {
        let now = T0
        const ids = new Snowflake({ workerId: 42, clock: () => now, maxBackwardsMs: 0 })
        let previous = -1n
        let lastIssuedAt = -1
        for (const step of steps) {
          now += step
          try {
            const id = ids.next()
            expect(id > previous).toBe(true)
            previous = id
            lastIssuedAt = decode(id).timestamp
            expect(lastIssuedAt).toBe(now)
          } catch (err) {
            expect(err).toMatchObject({ code: 'E_CLOCK_BACKWARDS', backwardsMs: lastIssuedAt - now })
          }
        }
      }),
    )
  })

  it('refuses timestamps before the epoch or past 41 bits', () => {
    let now = DEFAULT_EPOCH - 1
    const ids = new Snowflake({ workerId: 1, clock: () => now, random: () => 0 })
    expect(thrown(() => ids.next())).toMatchObject({ code: 'E_TIMESTAMP_OUT_OF_RANGE', now })
    now = DEFAULT_EPOCH + MAX_TIMESTAMP
    expect(decode(ids.next())).toMatchObject({ timestamp: now, sequence: 0 })
    expect(ids.next()).toBe((1n << 63n) - (1n << 22n) + (1n << 12n) + 1n)
    now++
    expect(thrown(() => ids.next())).toMatchObject({
      code: 'E_TIMESTAMP_OUT_OF_RANGE',
      epoch: DEFAULT_EPOCH,
    })
    now = Number.NaN
    expect(thrown(() => ids.next()).code).toBe('E_TIMESTAMP_OUT_OF_RANGE')
  })

  it('honours a custom epoch', () => {
    const epoch = Date.UTC(2020, 0, 1)
    const ids = new Snowflake({ workerId: 2, epoch, clock: () => epoch + 5, random: () => 0 })
    expect(ids.next()).toBe((5n << 22n) | (2n << 12n))
  })
})

describe('Snowflake options', () => {
  it.each([
    [{ workerId: -1 }, 'options.workerId must be an integer in 0..1023'],
    [{ workerId: 1024 }, 'options.workerId must be an integer in 0..1023'],
    [{ workerId: 1.5 }, 'options.workerId must be an integer in 0..1023'],
    [{ workerId: '1' }, 'options.workerId must be an integer in 0..1023'],
    [{}, 'options.workerId must be an integer in 0..1023'],
    [{ workerId: 1, epoch: -1 }, 'options.epoch must be a non-negative integer of unix milliseconds'],
    [{ workerId: 1, epoch: 1.5 }, 'options.epoch must be a non-negative integer of unix milliseconds'],
    [{ workerId: 1, epoch: '2024' }, 'options.epoch must be a non-negative integer of unix milliseconds'],
    [{ workerId: 1, clock: 5 }, 'options.clock must be a function returning unix milliseconds'],
    [{ workerId: 1, random: 5 }, 'options.random must be a function returning numbers in [0, 1)'],
    [{ workerId: 1, maxBackwardsMs: -1 }, 'options.maxBackwardsMs must be an integer in 0..1000'],
    [{ workerId: 1, maxBackwardsMs: 1001 }, 'options.maxBackwardsMs must be an integer in 0..1000'],
    [{ workerId: 1, startAfter: 1.5 }, 'options.startAfter must be an integer ≥ 0'],
    [{ workerId: 1, guard: {} }, 'options.guard must have an assertValid() method'],
  ])('rejects %o', (options, message) => {
    const err = thrown(() => new Snowflake(options as never))
    expect(err.code).toBe('E_INVALID_OPTION')
    expect(err.message).toBe(message)
    expect(err.option).toBe(message.split(' ')[0])
  })

  it('rejects a missing options object', () => {
    expect(thrown(() => new Snowflake(undefined as never))).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options',
    })
  })

  it('accepts the extremes of the worker id range', () => {
    expect(new Snowflake({ workerId: 0 }).workerId).toBe(0)
    expect(new Snowflake({ workerId: 1023 }).workerId).toBe(1023)
  })
})
