import type { L2Store } from '../l2-store.js'

/** The `L2Store` calls a chaos store counts and disturbs. */
export type ChaosMethod = 'acquire' | 'peek' | 'fill' | 'delete' | 'clear'

/** What a chaos store does with each call now. */
export interface ChaosControl {
  /** `ok`: pass through; `down`: fail at once (connection refused); `hang`: never answer (until aborted). */
  mode: 'ok' | 'down' | 'hang'
  /** Calls that reached the store, whatever the mode. */
  calls: number
  readonly byMethod: Record<ChaosMethod, number>
  /** Told of each call as it reaches the store, before the mode applies. */
  onCall?: ((method: ChaosMethod) => void) | undefined
}

/**
 * A chaos wrapper (bentocache's `ChaosCache`): fails or stalls every call of a store while `mode`
 * says so, and counts the calls that reached it. The inner store keeps its data through an
 * "outage", as a Redis behind a broken network does.
 *
 * @example
 * const { store, control } = chaosStore(memoryStore())
 * const cache = createCache({ l2: store })
 * control.mode = 'down' // every L2 call now fails at once
 */
export function chaosStore(inner: L2Store): { store: L2Store; control: ChaosControl } {
  const control: ChaosControl = {
    mode: 'ok',
    calls: 0,
    byMethod: { acquire: 0, peek: 0, fill: 0, delete: 0, clear: 0 },
  }
  const wrap =
    <A extends unknown[], R>(method: ChaosMethod, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      control.calls++
      control.byMethod[method]++
      control.onCall?.(method)
      if (control.mode === 'down') throw new Error('connect ECONNREFUSED (chaos)')
      if (control.mode === 'hang') await stall(args.find((a) => a instanceof AbortSignal) as AbortSignal)
      return fn(...args)
    }
  const store: L2Store = {
    acquire: wrap('acquire', inner.acquire.bind(inner)),
    peek: wrap('peek', inner.peek.bind(inner)),
    fill: wrap('fill', inner.fill.bind(inner)),
    delete: wrap('delete', inner.delete.bind(inner)),
    clear: wrap('clear', inner.clear.bind(inner)),
    close: () => inner.close(),
  }
  return { store, control }
}

/** Never settles, unless `signal` aborts (the breaker's timeout aborts it): then rejects. */
function stall(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    signal?.addEventListener('abort', () => reject(new Error('aborted (chaos)')), { once: true })
  })
}
