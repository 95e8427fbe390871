import { checkBudget, deadlineAt, linkDeadline } from '../deadline/deadline.js'
import { onAbort } from '../deadline/on-abort.js'
import { abortedError, GuardError } from '../errors.js'
import type { PolicyContext } from '../policy.js'

/**
 * Runs `fn` with a child signal that aborts after `ms` (reason and rejection: `E_TIMEOUT`) or with the
 * caller's signal (rejection: its reason, `E_ABORTED`). It does not wait for `fn` to notice: the promise
 * settles when the bound fires. On settle, the timer and the listener on the caller's signal are removed,
 * so a long-lived parent signal collects nothing however many calls run under it. @internal
 */
export function runWithTimeout<T>(
  fn: (context: PolicyContext) => Promise<T>,
  parent: AbortSignal | undefined,
  ms: number,
  minBudgetMs: number,
  policy: string,
  onTimeout: () => void,
): Promise<T> {
  try {
    checkBudget(parent, minBudgetMs, policy)
  } catch (err) {
    return Promise.reject(err)
  }
  const controller = new AbortController()
  const inherited = parent ? deadlineAt(parent) : undefined
  linkDeadline(controller.signal, Math.min(Date.now() + ms, inherited ?? Number.POSITIVE_INFINITY))
  return new Promise<T>((resolve, reject) => {
    let settled = false
    let unsubscribe: (() => void) | undefined
    const settle = (): boolean => {
      if (settled) return false
      settled = true
      clearTimeout(timer)
      unsubscribe?.()
      return true
    }
    const timer = setTimeout(() => {
      if (!settle()) return
      const error = new GuardError('E_TIMEOUT', `${policy}: the call did not finish within ${ms} ms`, {
        policy,
        timeoutMs: ms,
      })
      controller.abort(error)
      onTimeout()
      reject(error)
    }, ms)
    if (parent) {
      unsubscribe = onAbort(parent, () => {
        if (!settle()) return
        controller.abort(parent.reason)
        reject(abortedError(parent))
      })
    }
    let result: Promise<T>
    try {
      result = fn({ signal: controller.signal })
    } catch (err) {
      result = Promise.reject(err)
    }
    Promise.resolve(result).then(
      (value) => {
        if (settle()) resolve(value)
      },
      (err: unknown) => {
        if (settle()) reject(err)
      },
    )
  })
}
