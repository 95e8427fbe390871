/** What a policy hands the guarded function: the signal to pass to every call it makes. */
export interface PolicyContext {
  /** Fires when the caller aborts, the deadline passes or a timeout policy gives up: pass it on. */
  readonly signal: AbortSignal
}

/**
 * The one execution shape every policy has (cockatiel's): run `fn` under the policy, with the caller's
 * signal. Policies compose with {@link wrap}, the outermost first.
 *
 * @example
 * const guarded = wrap(rateLimit, breaker, timeout)
 * const profile = await guarded.execute(({ signal }) => db.read(sql, [id], { signal }), request.signal)
 */
export interface Policy {
  execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T>
}

const never = new AbortController().signal

/**
 * Composes policies: `wrap(a, b, c).execute(fn)` runs `a` around `b` around `c` around `fn`, each seeing
 * the signal the outer ones pass down.
 *
 * @example
 * const policy = wrap(bulkhead, breaker, timeout)
 */
export function wrap(...policies: readonly Policy[]): Policy {
  return {
    execute<T>(fn: (context: PolicyContext) => Promise<T>, signal?: AbortSignal): Promise<T> {
      const run = (index: number, current: AbortSignal): Promise<T> => {
        const policy = policies[index]
        if (!policy) return fn({ signal: current })
        return policy.execute(({ signal: inner }) => run(index + 1, inner), current)
      }
      return run(0, signal ?? never)
    },
  }
}
