import { abortedError, GuardError } from '../errors.js'
import { publish } from '../observe/index.js'
import { onAbort } from './on-abort.js'

/** A request deadline carried as an `AbortSignal`: the signal fires when `at` passes or the parent aborts. */
export interface Deadline extends Disposable {
  /** Fires at the deadline (reason: a `GuardError` `E_TIMEOUT`) or with the parent's reason. Pass it on. */
  readonly signal: AbortSignal
  /** When the deadline passes, in unix ms: the earlier of this one's bound and the parent's deadline. */
  readonly at: number
  /** What is left of the budget, in ms (0 once passed or aborted). */
  remainingMs(): number
  /** Stops the timer and lets go of the parent; the signal no longer fires on its own. Idempotent. */
  dispose(): void
}

// Every signal made by a deadline, budget or timeout, with its deadline (unix ms), so code far down the
// stack can read the remaining budget from the signal alone. Weak: a signal's entry dies with it.
const deadlines = new WeakMap<AbortSignal, number>()

// setTimeout fires at once for delays above 2^31-1 ms; longer deadlines re-arm in steps.
const MAX_TIMER_MS = 2_147_483_647

/**
 * Makes a deadline `ms` from now (a number) or at a point in time (a `Date`), never later than the
 * parent signal's own deadline, and aborted with the parent. Dispose it when the request is done, so its
 * timer and its listener on the parent go at once rather than when it fires.
 *
 * @example
 * using request = deadline(2_000, req.signal)
 * const user = await users.read(id, { signal: request.signal })
 * const posts = await posts.list(id, { signal: request.signal }) // what is left of the 2 s
 */
export function deadline(when: number | Date, parent?: AbortSignal): Deadline {
  const now = Date.now()
  let own: number
  if (when instanceof Date) {
    own = when.getTime()
    if (Number.isNaN(own)) throw invalid('at', 'a valid Date', when)
  } else {
    if (typeof when !== 'number' || Number.isNaN(when) || when < 0) throw invalid('ms', 'a number ≥ 0', when)
    own = now + when
  }
  const inherited = parent ? deadlineAt(parent) : undefined
  const at = inherited === undefined ? own : Math.min(own, inherited)
  return new SignalDeadline(at, now, parent)
}

/**
 * The deadline (unix ms) carried by a signal made by {@link deadline}, {@link budget} or a timeout policy;
 * `undefined` for any other signal.
 *
 * @example
 * const at = deadlineAt(signal) // e.g. to log how much budget a request arrived with
 */
export function deadlineAt(signal: AbortSignal): number | undefined {
  return deadlines.get(signal)
}

/**
 * What is left of the deadline carried by `signal`, in ms: `Infinity` for a signal without one (or none),
 * 0 once it passed or the signal aborted. Works anywhere down the stack.
 *
 * @example
 * if (remainingMs(signal) < 50) return cachedAnswer() // not enough time for the slow path
 */
export function remainingMs(signal: AbortSignal | undefined): number {
  if (!signal) return Number.POSITIVE_INFINITY
  if (signal.aborted) return 0
  const at = deadlines.get(signal)
  return at === undefined ? Number.POSITIVE_INFINITY : Math.max(0, at - Date.now())
}

/**
 * Records that `signal` carries the deadline `at` (unix ms), for policies that make their own child signals
 * (a bulkhead, a hedge) and want {@link remainingMs} to keep working below them.
 *
 * @example
 * const child = new AbortController()
 * linkDeadline(child.signal, deadlineAt(parent) ?? Number.POSITIVE_INFINITY)
 */
export function linkDeadline(signal: AbortSignal, at: number): void {
  if (Number.isFinite(at)) deadlines.set(signal, at)
}

/**
 * Fails fast when the deadline on `signal` leaves less than `minMs`: a `GuardError` `E_DEADLINE_EXCEEDED`
 * (also when the deadline already fired), or `E_ABORTED` when the caller aborted for another reason.
 * Returns the remaining ms. @internal
 */
export function checkBudget(signal: AbortSignal | undefined, minMs: number, policy: string): number {
  if (!signal) return Number.POSITIVE_INFINITY
  if (signal.aborted) {
    const reason: unknown = signal.reason
    const fired = reason instanceof GuardError && reason.code === 'E_TIMEOUT' && deadlines.has(signal)
    if (!fired) throw abortedError(signal)
    throw exceeded(policy, 0, minMs, reason)
  }
  const left = remainingMs(signal)
  if (left <= 0 || left < minMs) throw exceeded(policy, left, minMs)
  return left
}

function exceeded(policy: string, left: number, minMs: number, cause?: unknown): GuardError {
  publish('deadline-exceeded', () => ({ policy, code: 'E_DEADLINE_EXCEEDED' }))
  const message =
    left <= 0
      ? 'the request deadline has passed'
      : `the request deadline leaves ${Math.floor(left)} ms, less than the ${minMs} ms this call needs`
  return new GuardError('E_DEADLINE_EXCEEDED', message, { policy }, { cause })
}

class SignalDeadline implements Deadline {
  readonly at: number
  readonly #controller = new AbortController()
  readonly #totalMs: number
  #timer: ReturnType<typeof setTimeout> | undefined
  #unsubscribe: (() => void) | undefined

  constructor(at: number, now: number, parent: AbortSignal | undefined) {
    this.at = at
    this.#totalMs = Math.max(0, at - now)
    linkDeadline(this.#controller.signal, at)
    if (parent?.aborted) this.#controller.abort(parent.reason)
    else if (at <= now) this.#fire()
    else {
      if (parent) this.#unsubscribe = onAbort(parent, () => this.#abort(parent.reason))
      this.#arm(at - now)
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal
  }

  remainingMs(): number {
    return remainingMs(this.#controller.signal)
  }

  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
  }

  [Symbol.dispose](): void {
    this.dispose()
  }

  #arm(delayMs: number): void {
    if (!Number.isFinite(delayMs)) return
    this.#timer = setTimeout(
      () => {
        const left = this.at - Date.now()
        if (left > 0) this.#arm(left)
        else this.#fire()
      },
      Math.min(delayMs, MAX_TIMER_MS),
    )
    // A deadline never keeps the process alive: the request it bounds does that.
    this.#timer.unref?.()
  }

  #fire(): void {
    const timeoutMs = this.#totalMs
    this.#abort(new GuardError('E_TIMEOUT', `the request deadline of ${timeoutMs} ms passed`, { timeoutMs }))
  }

  #abort(reason: unknown): void {
    this.dispose()
    this.#controller.abort(reason)
  }
}

function invalid(option: string, rule: string, value: unknown): GuardError {
  return new GuardError('E_INVALID_OPTION', `${option} must be ${rule}`, { option, value })
}
