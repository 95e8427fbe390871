import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_EPOCH,
  decode,
  MAX_ID,
  MAX_SEQUENCE,
  MAX_TIMESTAMP,
  MAX_WORKER_ID,
  parseId,
  Snowflake,
} from '../src/index.js'
import { thrown } from './support/caught.js'

const parts = {
  timestamp: fc.integer({ min: 0, max: MAX_TIMESTAMP }),
  workerId: fc.integer({ min: 0, max: MAX_WORKER_ID }),
  sequence: fc.integer({ min: 0, max: MAX_SEQUENCE }),
}

describe('decode', () => {
  it('round-trips time, worker and sequence of composed ids (property)', () => {
    fc.assert(
      fc.property(parts.timestamp, parts.workerId, parts.sequence, (ms, workerId, sequence) => {
        const id = (BigInt(ms) << 22n) | (BigInt(workerId) << 12n) | BigInt(sequence)
        const expected = { timestamp: DEFAULT_EPOCH + ms, workerId, sequence, id: id.toString() }
        expect(decode(id)).toMatchObject(expected)
        expect(decode(id.toString())).toMatchObject(expected)
        expect(decode(id).date.getTime()).toBe(DEFAULT_EPOCH + ms)
      }),
    )
  })

  it('round-trips ids from a generator (property)', () => {
    fc.assert(
      fc.property(
        parts.timestamp,
        parts.workerId,
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (ms, workerId, count, epoch) => {
          const ids = new Snowflake({ workerId, epoch, clock: () => epoch + ms, random: () => 0 })
          let id = ids.next()
          for (let i = 0; i < count; i++) id = ids.next()
          expect(decode(id, { epoch })).toMatchObject({ timestamp: epoch + ms, workerId, sequence: count })
        },
      ),
    )
  })

  it('decodes the extremes', () => {
    expect(decode(0n)).toMatchObject({ id: '0', timestamp: DEFAULT_EPOCH, workerId: 0, sequence: 0 })
    expect(decode(MAX_ID)).toMatchObject({
      id: '9223372036854775807',
      timestamp: DEFAULT_EPOCH + MAX_TIMESTAMP,
      workerId: 1023,
      sequence: 4095,
    })
  })

  it('rejects ids outside 0..2^63-1 and bad epochs', () => {
    expect(thrown(() => decode(-1n))).toMatchObject({ code: 'E_INVALID_ID', value: -1n })
    expect(thrown(() => decode(MAX_ID + 1n)).code).toBe('E_INVALID_ID')
    expect(thrown(() => decode('x'))).toMatchObject({ code: 'E_INVALID_ID', value: 'x' })
    expect(thrown(() => decode(1n, { epoch: -5 }))).toMatchObject({
      code: 'E_INVALID_OPTION',
      option: 'options.epoch',
    })
  })
})

describe('parseId', () => {
  it.each(['0', '1', '42', '2170178048339918848', '9223372036854775807'])('accepts %s', (value) => {
    expect(parseId(value)).toBe(BigInt(value))
  })

  it.each([
    '',
    '-1',
    '+1',
    '1.5',
    '1e3',
    'abc',
    ' 1',
    '1 ',
    '0x10',
    '01',
    '00',
    '１',
    '9223372036854775808',
    '9999999999999999999',
    '10000000000000000000',
    '12345678901234567890',
  ])('rejects %j', (value) => {
    const err = thrown(() => parseId(value))
    expect(err.code).toBe('E_INVALID_ID')
    expect(err.value).toBe(value)
    expect(err.message).toContain('decimal string of 1..19 digits')
  })

  it('rejects non-strings and cuts long values in the error context', () => {
    expect(thrown(() => parseId(12 as never)).code).toBe('E_INVALID_ID')
    const err = thrown(() => parseId('9'.repeat(1000)))
    expect(String(err.value).length).toBeLessThan(70)
  })

  it('agrees with BigInt on every canonical decimal in range (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_ID }), (id) => {
        expect(parseId(id.toString())).toBe(id)
      }),
    )
  })
})
