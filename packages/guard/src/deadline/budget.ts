import { GuardError } from '../errors.js'
import { checkBudget, type Deadline, deadline } from './deadline.js'

/** Options of {@link budget}. Every default is in `budgetDefaults`. */
export interface BudgetOptions {
  /** The most this hop may take, in ms, however much the request has left. @default Infinity */
  maxMs?: number
  /** The least this hop needs, in ms: with less left, it fails at once with `E_DEADLINE_EXCEEDED`. @default 0 */
  minMs?: number
  /** Names the hop in errors and events. @default 'budget' */
  name?: string
}

/** The defaults of {@link BudgetOptions}. */
export const budgetDefaults = Object.freeze({
  maxMs: Number.POSITIVE_INFINITY,
  minMs: 0,
  name: 'budget',
})

/**
 * A per-hop budget: a child deadline bounded by the smaller of what the request has left and `maxMs`,
 * failing fast with a `GuardError` `E_DEADLINE_EXCEEDED` when less than `minMs` is left, so a call that
 * cannot finish in time is not started. Dispose it when the hop is done.
 *
 * @throws {GuardError} `E_DEADLINE_EXCEEDED`, `E_ABORTED` (the parent aborted), `E_INVALID_OPTION`.
 * @example
 * using hop = budget(request.signal, { maxMs: 300, minMs: 20 })
 * const rows = await db.query(sql, params, { signal: hop.signal })
 */
export function budget(signal: AbortSignal | undefined, options: BudgetOptions = {}): Deadline {
  const { maxMs, minMs, name } = resolveBudgetOptions(options)
  const left = checkBudget(signal, minMs, name)
  return deadline(Math.min(left, maxMs), signal)
}

function resolveBudgetOptions(options: BudgetOptions): Readonly<Required<BudgetOptions>> {
  const resolved = { ...budgetDefaults, ...stripUndefined(options) }
  if (typeof resolved.maxMs !== 'number' || !(resolved.maxMs > 0)) {
    throw invalid('maxMs', 'a positive number (or Infinity)', resolved.maxMs)
  }
  if (!Number.isFinite(resolved.minMs) || resolved.minMs < 0) {
    throw invalid('minMs', 'a finite number ≥ 0', resolved.minMs)
  }
  if (resolved.minMs > resolved.maxMs) throw invalid('minMs', 'at most options.maxMs', resolved.minMs)
  if (typeof resolved.name !== 'string' || resolved.name === '') {
    throw invalid('name', 'a non-empty string', resolved.name)
  }
  return Object.freeze(resolved)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  return new GuardError('E_INVALID_OPTION', `options.${option} must be ${rule}`, {
    option: `options.${option}`,
    value,
  })
}
