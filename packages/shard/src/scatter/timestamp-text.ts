/**
 * PostgreSQL's text form of a `timestamptz`, `timestamp` or `date` (DateStyle ISO, the default) as
 * microseconds since 1970-01-01 00:00 UTC, so that rows keyed by time merge at the server's full
 * precision: the driver's `Date` keeps only milliseconds, and two rows 300 µs apart would look tied.
 *
 * A `timestamp` without time zone and a `date` are read as UTC, which keeps their order.
 * `infinity` and `-infinity` become `±Infinity`, which JavaScript compares with bigints correctly.
 *
 * @example
 * timestampMicros('2024-03-01 12:00:00.000250+01') // 1709290800000250n
 * timestampMicros('0044-03-15 12:00:00+00 BC')     // a negative bigint
 * @internal
 */
export function timestampMicros(text: string): bigint | number | undefined {
  if (text === 'infinity') return Number.POSITIVE_INFINITY
  if (text === '-infinity') return Number.NEGATIVE_INFINITY
  const match = pattern.exec(text)
  if (!match) return undefined
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone, oh = '0', om = '0', os = '0', bc] =
    match
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 24 || Number(mi) > 59 || Number(s) > 60) {
    return undefined
  }
  // PostgreSQL has no year 0: 1 BC is astronomical year 0.
  const year = bc ? 1 - Number(y) : Number(y)
  let seconds = daysFromCivil(year, month, day) * 86_400 + Number(h) * 3_600 + Number(mi) * 60 + Number(s)
  if (zone === '+' || zone === '-') {
    const offset = Number(oh) * 3_600 + Number(om) * 60 + Number(os)
    seconds -= zone === '+' ? offset : -offset
  }
  return BigInt(seconds) * 1_000_000n + BigInt(fraction.padEnd(6, '0'))
}

const pattern =
  /^(\d{4,6})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?( BC)?$/

/** Days from 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}
