/**
 * Exact decimals for what PostgreSQL sends as text — `int8`, `numeric`, and `float8`'s shortest
 * form — so that merged sums and orderings never go through a JavaScript number.
 *
 * `NaN` sorts above everything and `Infinity` above every finite value, as in PostgreSQL.
 *
 * @example
 * formatDecimal(addDecimal(parseDecimal('9007199254740993')!, parseDecimal('0.50')!)) // '9007199254740993.50'
 * @internal
 */
export type Decimal =
  | { readonly kind: 'finite'; readonly units: bigint; readonly scale: number }
  | { readonly kind: 'infinite'; readonly sign: 1 | -1 }
  | { readonly kind: 'nan' }

const NAN: Decimal = Object.freeze({ kind: 'nan' })
const POSITIVE_INFINITY: Decimal = Object.freeze({ kind: 'infinite', sign: 1 })
const NEGATIVE_INFINITY: Decimal = Object.freeze({ kind: 'infinite', sign: -1 })
const pattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,4}))?$/
/** float8 needs ±324; anything far beyond is refused rather than expanded into a huge BigInt. */
const MAX_EXPONENT = 400

/** The decimal `text` denotes, or `undefined` when it is not a number. */
export function parseDecimal(text: string): Decimal | undefined {
  switch (text.toLowerCase()) {
    case 'nan':
      return NAN
    case 'infinity':
    case '+infinity':
    case 'inf':
      return POSITIVE_INFINITY
    case '-infinity':
    case '-inf':
      return NEGATIVE_INFINITY
  }
  const match = pattern.exec(text)
  if (!match) return undefined
  const [, sign, whole = '', fraction = '', exponentText] = match
  if (whole === '' && fraction === '') return undefined
  const exponent = Number(exponentText ?? 0)
  if (Math.abs(exponent) > MAX_EXPONENT) return undefined
  let units = BigInt(`${whole || '0'}${fraction}`)
  if (sign === '-') units = -units
  let scale = fraction.length - exponent
  if (scale < 0) {
    units *= 10n ** BigInt(-scale)
    scale = 0
  }
  return { kind: 'finite', units, scale }
}

/** A JavaScript number as a decimal, through its shortest round-tripping form. */
export function decimalFromNumber(value: number): Decimal {
  if (Number.isNaN(value)) return NAN
  if (!Number.isFinite(value)) return value > 0 ? POSITIVE_INFINITY : NEGATIVE_INFINITY
  return parseDecimal(String(value))!
}

export function decimalFromBigInt(value: bigint): Decimal {
  return { kind: 'finite', units: value, scale: 0 }
}

/** Negative, zero or positive as `a` sorts before, with or after `b` (PostgreSQL's order). */
export function compareDecimal(a: Decimal, b: Decimal): number {
  if (a.kind === 'nan' || b.kind === 'nan') return (a.kind === 'nan' ? 1 : 0) - (b.kind === 'nan' ? 1 : 0)
  const rankA = a.kind === 'infinite' ? a.sign : 0
  const rankB = b.kind === 'infinite' ? b.sign : 0
  if (rankA !== rankB || a.kind !== 'finite' || b.kind !== 'finite') return rankA - rankB
  const [x, y] = aligned(a, b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** The exact sum; the scale is the larger of the two, as PostgreSQL's `numeric` does. */
export function addDecimal(a: Decimal, b: Decimal): Decimal {
  if (a.kind === 'nan' || b.kind === 'nan') return NAN
  if (a.kind === 'infinite' && b.kind === 'infinite') return a.sign === b.sign ? a : NAN
  if (a.kind === 'infinite') return a
  if (b.kind === 'infinite') return b
  const [x, y] = aligned(a, b)
  return { kind: 'finite', units: x + y, scale: Math.max(a.scale, b.scale) }
}

/** PostgreSQL's text form: `-12.50`, `NaN`, `Infinity`. */
export function formatDecimal(value: Decimal): string {
  if (value.kind === 'nan') return 'NaN'
  if (value.kind === 'infinite') return value.sign > 0 ? 'Infinity' : '-Infinity'
  const negative = value.units < 0n
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0')
  const whole = digits.slice(0, digits.length - value.scale)
  const fraction = digits.slice(digits.length - value.scale)
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
}

/** True when the decimal is finite and has no fractional digits (trailing zeros allowed). */
export function isIntegral(value: Decimal): boolean {
  return value.kind === 'finite' && value.units % 10n ** BigInt(value.scale) === 0n
}

function aligned(
  a: Extract<Decimal, { kind: 'finite' }>,
  b: Extract<Decimal, { kind: 'finite' }>,
): [bigint, bigint] {
  const scale = Math.max(a.scale, b.scale)
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale)]
}
