import { describe, expect, it } from 'vitest'
import { parsePeriodName, periodName, periodOf, periodStart } from '../src/index.js'

describe('periods', () => {
  it('step across month ends, December into January, and leap days', () => {
    const names = (from: string, count: number) => {
      const p = periodOf('month', Date.parse(from))
      return Array.from({ length: count }, (_, i) => periodName('month', p + i))
    }
    expect(names('2026-11-30T23:59:59.999Z', 4)).toEqual(['202611', '202612', '202701', '202702'])
    expect(periodName('month', periodOf('month', Date.parse('2026-12-01T00:00:00Z')))).toBe('202612')
    expect(periodName('day', periodOf('day', Date.parse('2028-02-29T12:00:00Z')) + 1)).toBe('20280301')
    expect(periodName('year', periodOf('year', Date.parse('2026-12-31T23:59:59Z')) + 1)).toBe('2027')
  })

  it('agree with Date for every day from 1999 to 2101', () => {
    for (
      let day = periodOf('day', Date.UTC(1999, 0, 1));
      day < periodOf('day', Date.UTC(2101, 0, 1));
      day++
    ) {
      const date = new Date(day * 86_400_000)
      const month = periodOf('month', date.getTime())
      expect(periodStart('month', month)).toBe(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1))
      expect(periodName('day', day)).toBe(date.toISOString().slice(0, 10).replaceAll('-', ''))
    }
  })

  it('start weeks on Monday, named by that date', () => {
    const week = periodOf('week', Date.parse('2027-01-01T00:00:00Z')) // a Friday
    expect(periodName('week', week)).toBe('20261228')
    expect(new Date(periodStart('week', week)).getUTCDay()).toBe(1)
  })

  it('parse only canonical names', () => {
    expect(parsePeriodName('month', '202612')).toBe(periodOf('month', Date.UTC(2026, 11, 15)))
    expect(parsePeriodName('month', '202613')).toBeUndefined()
    expect(parsePeriodName('day', '20261232')).toBeUndefined()
    expect(parsePeriodName('week', '20261229')).toBeUndefined() // a Tuesday
    expect(parsePeriodName('year', '26')).toBeUndefined()
  })
})
