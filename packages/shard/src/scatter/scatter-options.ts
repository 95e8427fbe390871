import { ShardError } from '../errors.js'
import { type OrderByColumn, orderKeyTypes } from './order-key.js'

/** The defaults of the scatter functions' options. */
export const scatterDefaults = Object.freeze({
  /** Shards queried at once. `Infinity`: all of them (each shard's pool still bounds its own). */
  maxConcurrency: Number.POSITIVE_INFINITY,
  /**
   * The deepest `offset` `scatterOrdered` accepts. 0: none — every shard would have to return
   * `offset + limit` rows, on every page; use the cursor.
   */
  maxOffset: 0,
  /** Rows `streamOrdered` asks each shard for at a time. */
  pageSize: 100,
  /** Rows `scatterAll` accepts in all before it fails. */
  limitRows: 10_000,
})

/** @internal */
export function invalidOption(option: string, message: string, value?: unknown): ShardError {
  return new ShardError('E_INVALID_OPTION', message, value === undefined ? { option } : { option, value })
}

/** @internal */
export function checkSql(sql: unknown): string {
  if (typeof sql !== 'string' || sql.trim() === '') {
    throw invalidOption('options.sql', 'options.sql must be a non-empty string', sql)
  }
  return sql
}

/** @internal */
export function checkParams(params: unknown): readonly unknown[] {
  if (params === undefined) return []
  if (!Array.isArray(params)) throw invalidOption('options.params', 'options.params must be an array')
  return params
}

/** A positive integer, or `Infinity` when `infinite` allows it. @internal */
export function checkCount(name: string, value: unknown, fallback: number, infinite = false): number {
  if (value === undefined) return fallback
  const ok =
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= 1) || (infinite && value === Number.POSITIVE_INFINITY))
  if (!ok) {
    throw invalidOption(
      `options.${name}`,
      `options.${name} must be a positive integer${infinite ? ' or Infinity' : ''}`,
      value,
    )
  }
  return value
}

/** A whole number ≥ 0. @internal */
export function checkNonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidOption(`options.${name}`, `options.${name} must be an integer ≥ 0`, value)
  }
  return value
}

/** @internal */
export function checkOrderBy(orderBy: unknown): readonly OrderByColumn[] {
  if (!Array.isArray(orderBy) || orderBy.length === 0) {
    throw invalidOption('options.orderBy', 'options.orderBy must be a non-empty array')
  }
  const seen = new Set<string>()
  return Object.freeze(
    orderBy.map((entry: Partial<OrderByColumn> | undefined, i): OrderByColumn => {
      const name = `options.orderBy[${i}]`
      if (typeof entry?.column !== 'string' || entry.column === '' || entry.column.startsWith('__hf_')) {
        throw invalidOption(`${name}.column`, `${name}.column must be a column name (not __hf_…)`)
      }
      if (seen.has(entry.column)) throw invalidOption(`${name}.column`, `${name}.column repeats a column`)
      seen.add(entry.column)
      if (entry.direction !== 'asc' && entry.direction !== 'desc') {
        throw invalidOption(`${name}.direction`, `${name}.direction must be 'asc' or 'desc'`, entry.direction)
      }
      if (entry.type === undefined || !orderKeyTypes.includes(entry.type)) {
        throw invalidOption(
          `${name}.type`,
          `${name}.type must be one of ${orderKeyTypes.join(', ')}`,
          entry.type,
        )
      }
      return Object.freeze({ column: entry.column, direction: entry.direction, type: entry.type })
    }),
  )
}

/** @internal */
export function checkTargets(targets: unknown): void {
  if (!Array.isArray(targets)) throw invalidOption('targets', 'targets must be an array of ScatterTarget')
}
