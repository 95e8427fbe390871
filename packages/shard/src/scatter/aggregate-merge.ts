import { ShardError } from '../errors.js'
import {
  addDecimal,
  compareDecimal,
  type Decimal,
  decimalFromBigInt,
  decimalFromNumber,
  formatDecimal,
  isIntegral,
  parseDecimal,
} from './decimal.js'
import { compareCodePoints } from './order-key.js'
import type { ScatterTarget } from './target.js'

/** How one partial aggregate merges across shards. `avg` is not one: merge a sum and a count. */
export type AggregateOp = 'sum' | 'count' | 'min' | 'max'

/**
 * An aggregate column: its op, or `{ op, type: 'text' }` to compare `min`/`max` strings as text
 * even when they read as numbers (say, a text column of digits).
 */
export type AggregateSpec =
  | AggregateOp
  | { readonly op: AggregateOp; readonly type?: 'auto' | 'text' | undefined }

/**
 * One aggregate of one group, fed each shard's partial value:
 *
 * - `sum`, `count`: added exactly, as decimals. Strings in (PostgreSQL's `int8` and `numeric`) →
 *   a string out, with the largest scale seen; bigints in → a bigint; numbers in → a number, rounded
 *   once at the end. NULL partials (a shard with no rows) are skipped; a sum of nothing is `null`,
 *   a count of nothing is `0`.
 * - `min`, `max`: numbers, bigints and strings that all read as numbers compare as exact decimals;
 *   other strings in code point order; `Date`s by time. The winning partial is returned as it came.
 *
 * @example
 * const total = new AggregateAccumulator('total', 'sum', 'auto')
 * total.add('9007199254740993', target)
 * total.add('2', target)
 * total.result() // '9007199254740995'
 * @internal
 */
export class AggregateAccumulator {
  readonly #name: string
  readonly #op: AggregateOp
  readonly #type: 'auto' | 'text'
  #sum: Decimal | undefined
  #sawString = false
  #sawBigInt = false
  readonly #partials: unknown[] = []

  constructor(name: string, op: AggregateOp, type: 'auto' | 'text') {
    this.#name = name
    this.#op = op
    this.#type = type
  }

  add(value: unknown, target: ScatterTarget): void {
    if (value === null) return
    if (this.#op === 'min' || this.#op === 'max') {
      this.#partials.push(value)
      return
    }
    const decimal = toDecimal(value)
    if (decimal === undefined || (this.#op === 'count' && !isIntegral(decimal))) {
      throw this.#unmergeable(`shard ${target.label} returned ${describe(value)}, not a number`, target)
    }
    if (typeof value === 'string') this.#sawString = true
    if (typeof value === 'bigint') this.#sawBigInt = true
    this.#sum = this.#sum === undefined ? decimal : addDecimal(this.#sum, decimal)
  }

  result(): unknown {
    if (this.#op === 'min' || this.#op === 'max') return this.#extreme()
    if (this.#sum === undefined) return this.#op === 'count' ? 0 : null
    if (this.#sawString) return formatDecimal(this.#sum)
    if (this.#sawBigInt)
      return isIntegral(this.#sum)
        ? BigInt(formatDecimal(this.#sum).split('.')[0]!)
        : formatDecimal(this.#sum)
    return Number(formatDecimal(this.#sum))
  }

  #extreme(): unknown {
    const values = this.#partials
    if (values.length === 0) return null
    const compare = this.#comparator(values)
    const sign = this.#op === 'min' ? -1 : 1
    let best = values[0]
    for (const value of values.slice(1)) if (compare(value, best) * sign > 0) best = value
    return best
  }

  #comparator(values: readonly unknown[]): (a: unknown, b: unknown) => number {
    const strings = values.every((v) => typeof v === 'string')
    if (strings && (this.#type === 'text' || values.some((v) => parseDecimal(v as string) === undefined))) {
      return (a, b) => compareCodePoints(a as string, b as string)
    }
    if (this.#type === 'auto') {
      if (values.every((v) => v instanceof Date))
        return (a, b) => (a as Date).getTime() - (b as Date).getTime()
      const decimals = new Map(values.map((v) => [v, toDecimal(v)]))
      if ([...decimals.values()].every((d) => d !== undefined)) {
        return (a, b) => compareDecimal(decimals.get(a)!, decimals.get(b)!)
      }
    }
    throw new ShardError(
      'E_INVALID_OPTION',
      `options.aggregates.${this.#name}: the shards' partial values (${values.map(describe).join(', ')}) do not compare as one type`,
      { option: `options.aggregates.${this.#name}` },
    )
  }

  #unmergeable(message: string, target: ScatterTarget): ShardError {
    return new ShardError('E_INVALID_OPTION', `options.aggregates.${this.#name} (${this.#op}): ${message}`, {
      option: `options.aggregates.${this.#name}`,
      database: target.database,
      physicalTable: target.table,
    })
  }
}

function toDecimal(value: unknown): Decimal | undefined {
  if (typeof value === 'number') return decimalFromNumber(value)
  if (typeof value === 'bigint') return decimalFromBigInt(value)
  if (typeof value === 'string') return parseDecimal(value)
  return undefined
}

function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`
  if (value instanceof Date) return value.toISOString()
  return JSON.stringify(value) ?? String(value)
}
