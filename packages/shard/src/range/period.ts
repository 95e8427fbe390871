import type { RangeInterval } from '../map/shard-map-document.js'

/**
 * Range periods as integers ("ordinals"), so a router compares and steps them without dates:
 * years and months since 1970, days since 1970-01-01, weeks since Monday 1969-12-29. All UTC.
 * Names are what physical tables carry: `2026`, `202612`, `20261231`, and for a week the date of
 * its Monday.
 *
 * @example
 * const p = periodOf('month', Date.UTC(2026, 11, 31)) // December 2026
 * periodName('month', p)     // '202612'
 * periodName('month', p + 1) // '202701'
 */
export function periodOf(interval: RangeInterval, ms: number): number {
  const days = Math.floor(ms / DAY_MS)
  switch (interval) {
    case 'day':
      return days
    case 'week':
      // 1970-01-01 was a Thursday: day -3 is the Monday that starts week 0.
      return Math.floor((days + 3) / 7)
    case 'month': {
      const { year, month } = civilFromDays(days)
      return (year - 1970) * 12 + (month - 1)
    }
    case 'year':
      return civilFromDays(days).year - 1970
  }
}

/**
 * The first millisecond of a period.
 *
 * @example
 * new Date(periodStart('week', periodOf('week', Date.now()))) // this week's Monday, 00:00 UTC
 */
export function periodStart(interval: RangeInterval, ordinal: number): number {
  switch (interval) {
    case 'day':
      return ordinal * DAY_MS
    case 'week':
      return (ordinal * 7 - 3) * DAY_MS
    case 'month':
      return Date.UTC(1970 + Math.floor(ordinal / 12), ((ordinal % 12) + 12) % 12, 1)
    case 'year':
      return Date.UTC(1970 + ordinal, 0, 1)
  }
}

/**
 * The suffix a period's physical tables carry.
 *
 * @example
 * periodName('day', periodOf('day', Date.UTC(2026, 11, 31))) // '20261231'
 */
export function periodName(interval: RangeInterval, ordinal: number): string {
  const { year, month, day } = civilFromDays(Math.floor(periodStart(interval, ordinal) / DAY_MS))
  const y = String(year).padStart(4, '0')
  if (interval === 'year') return y
  const m = String(month).padStart(2, '0')
  if (interval === 'month') return y + m
  return y + m + String(day).padStart(2, '0')
}

/**
 * The ordinal of a period name made by `periodName`, or `undefined` when `name` is not one.
 *
 * @example
 * parsePeriodName('month', '202612') === periodOf('month', Date.UTC(2026, 11, 1)) // true
 */
export function parsePeriodName(interval: RangeInterval, name: string): number | undefined {
  const length = interval === 'year' ? 4 : interval === 'month' ? 6 : 8
  if (name.length !== length || !/^\d+$/.test(name)) return undefined
  const year = Number(name.slice(0, 4))
  const month = length > 4 ? Number(name.slice(4, 6)) : 1
  const day = length > 6 ? Number(name.slice(6, 8)) : 1
  const ms = Date.UTC(year, month - 1, day)
  const ordinal = periodOf(interval, ms)
  // Only the canonical name of a period parses (not 20261232, nor a Tuesday for a week).
  return periodName(interval, ordinal) === name ? ordinal : undefined
}

/**
 * Milliseconds since the epoch of a range value: a `Date`, a number of milliseconds, or an ISO
 * string. `undefined` when it is none of these or not a valid time. @internal
 */
export function rangeMs(value: unknown): number | undefined {
  let ms: number
  if (value instanceof Date) ms = value.getTime()
  else if (typeof value === 'number') ms = value
  else if (typeof value === 'string') ms = Date.parse(value)
  else return undefined
  return Number.isFinite(ms) ? ms : undefined
}

const DAY_MS = 86_400_000

/** Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day count, without a `Date`. */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  )
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}
