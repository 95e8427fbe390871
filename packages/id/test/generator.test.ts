import * as diagnostics from 'node:diagnostics_channel'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { writeDecimals } from '../src/decimal.js'
import {
  DEFAULT_EPOCH,
  decode,
  ID_CHANNELS,
  IdError,
  MAX_SEQUENCE,
  SEQUENCE_OFFSET_RANGE,
  Snowflake,
} from '../src/index.js'
import { thrown } from './support/caught.js'

const T0 = DEFAULT_EPOCH + 5_000_000

/**
 * A wall clock that advances one millisecond every 50 reads (so spinning on it makes time pass, exactly
 * reproducibly) and can be stepped by hand, like an NTP step.
 */
function steppableClock() {
  let reads = 0
  let offset = 0
  return {
    read: (): number => T0 + Math.floor(reads++ / 50) + offset,
    step(ms: number) {
      offset += ms
    },
  }
}

describe('clock steps', () => {
  it.each([1, 3, 5])('waits out a step back of %i ms and issues greater ids', (stepMs) => {
    const clock = steppableClock()
    const ids = new Snowflake({ workerId: 4, clock: clock.read })
    const before = ids.next()
    const lastBefore = decode(before).timestamp
    clock.step(-stepMs)
    const after = ids.nextBatch(10)
    expect(after[0]! > before).toBe(true)
    for (const id of after) expect(decode(id).timestamp).toBeGreaterThanOrEqual(lastBefore)
    expect(ids.stats.clockBackwardsWaited).toBe(1)
    expect(ids.stats.clockBackwardsRefused).toBe(0)
  })

  it.each([
    ['6 ms', 6],
    ['1 s', 1000],
    ['1 h', 3_600_000],
  ])('refuses a step back of %s beyond the tolerated 5 ms, counts it and publishes it', (_, stepMs) => {
    const clock = steppableClock()
    const ids = new Snowflake({ workerId: 4, clock: clock.read })
    const events: unknown[] = []
    const listener = (event: unknown) => events.push(event)
    diagnostics.subscribe(ID_CHANNELS.clockBackwards, listener)
    try {
      const before = ids.next()
      clock.step(-stepMs)
      const err = thrown(() => ids.next())
      expect(err.code).toBe('E_CLOCK_BACKWARDS')
      expect(err.backwardsMs).toBe(stepMs)
      expect(err.workerId).toBe(4)
      expect(thrown(() => ids.nextBatch(3)).code).toBe('E_CLOCK_BACKWARDS')
      expect(ids.stats.clockBackwardsRefused).toBe(2)
      expect(events).toContainEqual(expect.objectContaining({ action: 'refuse', workerId: 4 }))
      // The clock is put right: the generator resumes above everything it issued.
      clock.step(stepMs)
      expect(ids.next() > before).toBe(true)
    } finally {
      diagnostics.unsubscribe(ID_CHANNELS.clockBackwards, listener)
    }
  })

  it('honours a configured tolerance', () => {
    const clock = steppableClock()
    const ids = new Snowflake({ workerId: 4, clock: clock.read, maxBackwardsMs: 20 })
    const before = ids.next()
    clock.step(-15)
    expect(ids.next() > before).toBe(true)
    expect(ids.stats.clockBackwardsWaited).toBe(1)
  })

  it('refuses rather than spin forever on a clock that has stopped behind', () => {
    let now = T0
    const ids = new Snowflake({ workerId: 4, clock: () => now, random: () => 0 })
    ids.next()
    now = T0 - 2
    expect(thrown(() => ids.next())).toMatchObject({ code: 'E_CLOCK_BACKWARDS', backwardsMs: 2 })
  })
})

describe('sequence offsets', () => {
  it('starts each millisecond at a random sequence below SEQUENCE_OFFSET_RANGE', () => {
    let now = T0
    const draws = [0, 0.5, 0.999_999, 0.25]
    let i = 0
    const ids = new Snowflake({ workerId: 1, clock: () => now, random: () => draws[i++ % draws.length]! })
    const sequences = draws.map(() => {
      const { sequence } = decode(ids.next())
      now++
      return sequence
    })
    expect(sequences).toEqual([0, 512, SEQUENCE_OFFSET_RANGE - 1, 256])
  })

  it('starts at 0 after a millisecond that ran out, so a saturated generator uses all 4096', () => {
    let now = T0
    let reads = 0
    // The clock moves on after the generator has read it 4096 + 1 times in one millisecond.
    const ids = new Snowflake({
      workerId: 1,
      random: () => 0.9,
      clock: () => {
        reads++
        if (reads > 4000 && now === T0) now = T0 + 1
        return now
      },
    })
    const first = ids.nextBatch(MAX_SEQUENCE + 1 - Math.floor(0.9 * SEQUENCE_OFFSET_RANGE))
    expect(decode(first.at(-1)!)).toMatchObject({ timestamp: T0, sequence: MAX_SEQUENCE })
    const next = ids.next()
    expect(decode(next)).toMatchObject({ timestamp: T0 + 1, sequence: 0 })
    expect(ids.stats.sequenceExhausted).toBe(1)
    now = T0 + 2
    expect(decode(ids.next()).sequence).toBe(Math.floor(0.9 * SEQUENCE_OFFSET_RANGE))
  })

  it('keeps a broken random source inside the sequence field', () => {
    let now = T0
    const ids = new Snowflake({ workerId: 1, clock: () => now, random: () => 7 })
    expect(decode(ids.next()).sequence).toBe(0)
    now++
    expect(decode(ids.next()).sequence).toBe(0)
  })
})

describe('batches', () => {
  it('nextBatch returns n increasing unique ids across milliseconds', () => {
    const ids = new Snowflake({ workerId: 7 })
    const batch = ids.nextBatch(10_000)
    expect(batch).toHaveLength(10_000)
    for (let i = 1; i < batch.length; i++) expect(batch[i]! > batch[i - 1]!).toBe(true)
    const timestamps = new Set(batch.map((id) => decode(id).timestamp))
    expect(timestamps.size).toBeGreaterThanOrEqual(3) // 10k ids need at least three milliseconds
    expect(ids.next() > batch.at(-1)!).toBe(true)
  })

  it('nextStringBatch is the decimal form of what nextBatch would return', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9000 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        fc.integer({ min: 0, max: 2 ** 41 - 10 }),
        fc.integer({ min: 0, max: 1023 }),
        (count, draw, ms, workerId) => {
          // Two generators alike: the same draw, and each its own clock that ticks every 997th read.
          const generator = () => {
            let now = DEFAULT_EPOCH + ms
            let reads = 0
            const clock = () => ((reads++ + 1) % 997 === 0 ? ++now : now)
            return new Snowflake({ workerId, epoch: DEFAULT_EPOCH, random: () => draw, clock })
          }
          expect(generator().nextStringBatch(count)).toEqual(generator().nextBatch(count).map(String))
        },
      ),
      { numRuns: 60 },
    )
  })

  it('formats decimals across the 10^9 carry and for small ids', () => {
    const out: string[] = []
    for (const base of [0n, 999_999_990n, 4_194_304n << 22n, (1n << 63n) - 5000n]) {
      writeDecimals(base, 0, 4096, out, 0)
      for (let i = 0; i < 4096; i++) expect(out[i]).toBe((base + BigInt(i)).toString())
    }
  })

  it.each([0, -1, 1.5, 1_000_001, '5'])('rejects a count of %s', (count) => {
    const ids = new Snowflake({ workerId: 1 })
    expect(thrown(() => ids.nextBatch(count as number))).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'count',
    })
    expect(thrown(() => ids.nextStringBatch(count as number)).code).toBe('E_INVALID_OPTION')
  })
})

describe('startAfter and guard', () => {
  it('issues nothing at or before startAfter', () => {
    let now = T0
    const ids = new Snowflake({ workerId: 1, clock: () => now, startAfter: T0, maxBackwardsMs: 0 })
    let reads = 0
    const spinning = new Snowflake({
      workerId: 2,
      startAfter: T0,
      clock: () => (++reads > 3 ? T0 + 1 : T0),
    })
    expect(decode(spinning.next()).timestamp).toBe(T0 + 1)
    now = T0 - 1
    expect(thrown(() => ids.next()).code).toBe('E_CLOCK_BACKWARDS')
    now = T0 + 1
    expect(decode(ids.next()).timestamp).toBe(T0 + 1)
  })

  it('asks the guard before the first id of every millisecond and stops when it throws', () => {
    let now = T0
    let valid = true
    let asked = 0
    const guard = {
      assertValid() {
        asked++
        if (!valid) throw new IdError('E_LEASE_LOST', 'lost')
      },
    }
    const ids = new Snowflake({ workerId: 1, clock: () => now, guard })
    ids.nextBatch(5)
    expect(asked).toBe(1)
    now++
    ids.next()
    expect(asked).toBe(2)
    valid = false
    now++
    expect(thrown(() => ids.next()).code).toBe('E_LEASE_LOST')
    expect(thrown(() => ids.nextBatch(2)).code).toBe('E_LEASE_LOST')
    expect(ids.lastTimestamp).toBe(T0 + 1)
  })

  it('halt stops issuing at once, even within the current millisecond', () => {
    const ids = new Snowflake({ workerId: 1, clock: () => T0 })
    const before = ids.next()
    const reason = new IdError('E_LEASE_RELEASED', 'released')
    ids.halt(reason)
    expect(() => ids.next()).toThrow(reason)
    expect(() => ids.nextStringBatch(5)).toThrow(reason)
    expect(ids.lastTimestamp).toBe(decode(before).timestamp)
  })
})
