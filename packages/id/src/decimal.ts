const BILLION = 1_000_000_000
const BIG_BILLION = 1_000_000_000n

/**
 * Writes the decimal forms of `base + first … base + first + count - 1` into `out` from `at`, for a `base`
 * below 2^63 and offsets below 2^22. Splitting `base` into two doubles (above and below 10^9) once, then
 * adding small offsets to the low part, costs about half of a `bigint.toString()` per id. @internal
 */
export function writeDecimals(base: bigint, first: number, count: number, out: string[], at: number): void {
  let high = Number(base / BIG_BILLION)
  let low = Number(base % BIG_BILLION) + first
  let prefix = high === 0 ? '' : String(high)
  for (let i = 0; i < count; i++, low++) {
    if (low >= BILLION) {
      low -= BILLION
      high++
      prefix = String(high)
    }
    out[at + i] = prefix === '' ? String(low) : prefix + String(low).padStart(9, '0')
  }
}
