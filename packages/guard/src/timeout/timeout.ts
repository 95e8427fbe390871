import type { Registry } from '@hundredfold/metrics'
import { GuardError } from '../errors.js'
import { countRejection, publish } from '../observe/index.js'
import type { Policy, PolicyContext } from '../policy.js'
import { runWithTimeout } from './run-with-timeout.js'

/** Options of {@link timeout}. Every default is in `timeoutDefaults`. */
export interface TimeoutOptions {
  /** The bound, in ms: the inner signal aborts and the call rejects with `E_TIMEOUT` after it. */
  ms: number
  /**
   * The least a call needs: if the caller's deadline leaves less, the call is not started and rejects
   * with `E_DEADLINE_EXCEEDED`. @default 0
   */
  minBudgetMs?: number
  /** Names the policy in errors, events and metrics. @default 'timeout' */
  name?: string
  /** Counts timeouts on `hundredfold_guard_rejections_total`. @default none */
  registry?: Registry
}

/** The defaults of {@link TimeoutOptions}. */
export const timeoutDefaults = Object.freeze({
  minBudgetMs: 0,
  name: 'timeout',
})

type ResolvedTimeoutOptions = Readonly<
  Required<Omit<TimeoutOptions, 'registry'>> & Pick<TimeoutOptions, 'registry'>
>

/** A fixed timeout as a {@link Policy}. Made by {@link timeout}. */
export class TimeoutPolicy implements Policy {
  readonly #options: ResolvedTimeoutOptions

  constructor(options: TimeoutOptions) {
    this.#options = resolveTimeoutOptions(options)
  }

  /** The bound, in ms. */
  get timeoutMs(): number {
    return this.#options.ms
  }

  execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const { ms, minBudgetMs, name, registry } = this.#options
    return runWithTimeout(fn, signal, ms, minBudgetMs, name, () => {
      publish('timeout', () => ({ policy: name, timeoutMs: ms }))
      countRejection(registry, name, 'E_TIMEOUT')
    })
  }
}

/**
 * A timeout policy: the function gets a signal that aborts after `ms` (or with the caller's signal, or at
 * the caller's deadline, whichever is first), and the call rejects with a `GuardError` `E_TIMEOUT` as soon
 * as the bound fires. Timers and listeners are removed when the call settles.
 *
 * @throws {GuardError} `E_INVALID_OPTION` for a bad option.
 * @example
 * const bounded = timeout({ ms: 250 })
 * const row = await bounded.execute(({ signal }) => db.query(sql, params, { signal }), request.signal)
 */
export function timeout(options: TimeoutOptions): TimeoutPolicy {
  return new TimeoutPolicy(options)
}

function resolveTimeoutOptions(options: TimeoutOptions): ResolvedTimeoutOptions {
  if (options === null || typeof options !== 'object') throw invalid('', 'an object with ms', options)
  const resolved = { ...timeoutDefaults, ...stripUndefined(options), ms: options.ms }
  if (!Number.isFinite(resolved.ms) || resolved.ms <= 0) throw invalid('ms', 'a positive number', resolved.ms)
  if (!Number.isFinite(resolved.minBudgetMs) || resolved.minBudgetMs < 0) {
    throw invalid('minBudgetMs', 'a finite number ≥ 0', resolved.minBudgetMs)
  }
  if (typeof resolved.name !== 'string' || resolved.name === '') {
    throw invalid('name', 'a non-empty string', resolved.name)
  }
  return Object.freeze(resolved)
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  const path = option === '' ? 'options' : `options.${option}`
  return new GuardError('E_INVALID_OPTION', `${path} must be ${rule}`, { option: path, value })
}
