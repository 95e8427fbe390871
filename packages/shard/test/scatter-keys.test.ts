import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addDecimal, compareDecimal, formatDecimal, parseDecimal } from '../src/scatter/decimal.js'
import { pageStatement } from '../src/scatter/keyset-sql.js'
import { compareCodePoints, compareOrderKeys, parseOrderKey } from '../src/scatter/order-key.js'
import { timestampMicros } from '../src/scatter/timestamp-text.js'

const sign = (n: number) => Math.sign(n)

describe('exact decimals', () => {
  const decimalText = fc
    .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 8 }))
    .map(([units, scale]) => ({ units, scale, text: formatDecimal({ kind: 'finite', units, scale }) }))

  it('sums exactly, with the larger scale, as numeric does', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const scale = Math.max(a.scale, b.scale)
        const expected = a.units * 10n ** BigInt(scale - a.scale) + b.units * 10n ** BigInt(scale - b.scale)
        const sum = addDecimal(parseDecimal(a.text)!, parseDecimal(b.text)!)
        expect(sum).toEqual({ kind: 'finite', units: expected, scale })
      }),
    )
    expect(formatDecimal(addDecimal(parseDecimal('9007199254740993')!, parseDecimal('0.50')!))).toBe(
      '9007199254740993.50',
    )
    expect(formatDecimal(addDecimal(parseDecimal('-0.05')!, parseDecimal('0.01')!))).toBe('-0.04')
  })

  it('compares as the numbers do, including float8 exponents, NaN and infinities', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.double({ noNaN: true }), (x, y) => {
        const order = compareDecimal(parseDecimal(String(x))!, parseDecimal(String(y))!)
        expect(sign(order)).toBe(x < y ? -1 : x > y ? 1 : 0)
      }),
    )
    const sorted = ['-Infinity', '-1e+20', '-0.5', '0', '1.5e-07', '0.00001', '3', '1e+20', 'Infinity', 'NaN']
    const shuffled = [...sorted].reverse()
    shuffled.sort((a, b) => compareDecimal(parseDecimal(a)!, parseDecimal(b)!))
    expect(shuffled).toEqual(sorted)
  })

  it('refuses what is not a number, and absurd exponents', () => {
    for (const text of ['', '-', '.', 'abc', '1.2.3', '1e', '0x10', '1e99999'])
      expect(parseDecimal(text)).toBeUndefined()
  })
})

describe('timestamps as PostgreSQL prints them', () => {
  it('read at millisecond precision agree with Date', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const iso = date.toISOString() // 2024-03-01T12:00:00.123Z
          expect(timestampMicros(iso)).toBe(BigInt(date.getTime()) * 1000n)
          const pg = `${iso.slice(0, 10)} ${iso.slice(11, 23)}+00`
          expect(timestampMicros(pg)).toBe(BigInt(date.getTime()) * 1000n)
        },
      ),
    )
  })

  it('keep microseconds, offsets (with seconds), BC years and infinities', () => {
    expect(timestampMicros('2024-03-01 12:00:00.000250+01')).toBe(1_709_290_800_000_250n)
    expect(timestampMicros('2024-03-01 12:00:00.00025+01')).toBe(1_709_290_800_000_250n)
    expect(timestampMicros('1800-01-01 00:19:32+00:19:32')).toBe(BigInt(Date.UTC(1800, 0, 1)) * 1000n)
    expect(timestampMicros('2024-03-01 05:30:00-05:30')).toBe(BigInt(Date.UTC(2024, 2, 1, 11)) * 1000n)
    expect(timestampMicros('2024-03-01')).toBe(BigInt(Date.UTC(2024, 2, 1)) * 1000n)
    // 1 BC is astronomical year 0.
    const bc = new Date(0)
    bc.setUTCFullYear(0, 0, 1)
    expect(timestampMicros('0001-01-01 00:00:00+00 BC')).toBe(BigInt(bc.getTime()) * 1000n)
    expect(timestampMicros('infinity')).toBe(Number.POSITIVE_INFINITY)
    expect(timestampMicros('-infinity')! < timestampMicros('0044-03-15 BC')!).toBe(true)
    expect(timestampMicros('01/02/2024')).toBeUndefined()
  })
})

describe('order keys', () => {
  it('text compares in code point order, which is UTF-8 byte order (COLLATE "C")', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(sign(compareCodePoints(a, b))).toBe(sign(Buffer.compare(Buffer.from(a), Buffer.from(b))))
      }),
    )
    expect(compareCodePoints('\uE000', '𝒜')).toBeLessThan(0) // JavaScript's < says otherwise
  })

  it('integers compare as BigInt beyond 2^53, uuids by their bytes', () => {
    const integer = [{ column: 'id', direction: 'asc', type: 'integer' }] as const
    const keys = (t: string) => [parseOrderKey('integer', t)!]
    expect(compareOrderKeys(integer, keys('9007199254740993'), keys('9007199254740992'))).toBeGreaterThan(0)
    expect(compareOrderKeys(integer, keys('-10'), keys('9'))).toBeLessThan(0)
    expect(parseOrderKey('integer', '1.5')).toBeUndefined()
    expect(parseOrderKey('uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe(
      'a0eebc999c0b4ef8bb6d6bb9bd380a11',
    )
    expect(parseOrderKey('uuid', 'nope')).toBeUndefined()
  })
})

describe('the page statement', () => {
  const orderBy = [
    { column: 'created_at', direction: 'desc', type: 'timestamp' },
    { column: 'id', direction: 'desc', type: 'integer' },
  ] as const

  it('wraps the caller SELECT, puts keys after its params and the limit last', () => {
    const first = pageStatement(
      'SELECT * FROM {t} WHERE author_id = $1 -- trailing comment\n;',
      [7],
      orderBy,
      undefined,
      10,
    )
    expect(first.params).toEqual([7, 10])
    expect(first.sql).toBe(
      [
        'SELECT s.*, s."created_at"::text AS "__hf_k0", s."id"::text AS "__hf_k1"',
        'FROM (',
        'SELECT * FROM {t} WHERE author_id = $1 -- trailing comment',
        ') AS s',
        'ORDER BY s."created_at" DESC, s."id" DESC',
        'LIMIT $2',
      ].join('\n'),
    )
    const next = pageStatement(
      'SELECT * FROM {t} WHERE author_id = $1',
      [7],
      orderBy,
      ['2024-01-01 00:00:00+00', '5'],
      10,
    )
    expect(next.params).toEqual([7, '2024-01-01 00:00:00+00', '5', 10])
    expect(next.sql).toContain('WHERE (s."created_at", s."id") < ($2, $3)')
    expect(next.sql).toMatch(/LIMIT \$4$/)
  })

  it('expands mixed directions into ORs, sorts text COLLATE "C" and quotes identifiers', () => {
    const mixed = pageStatement(
      'SELECT * FROM t',
      [],
      [
        { column: 'Name"x', direction: 'asc', type: 'text' },
        { column: 'id', direction: 'desc', type: 'integer' },
      ],
      ['b', '3'],
      5,
    )
    expect(mixed.sql).toContain(
      'WHERE ((s."Name""x" COLLATE "C" > $1) OR (s."Name""x" COLLATE "C" = $1 AND s."id" < $2))',
    )
    expect(mixed.sql).toContain('ORDER BY s."Name""x" COLLATE "C" ASC, s."id" DESC')
  })
})
