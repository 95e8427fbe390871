// One 'abort' listener per parent signal, however many calls wait on it at once. A server-wide signal
// (or the never-aborting one `wrap` passes down) is shared by every call in flight; a listener per call
// would trip Node's MaxListenersExceededWarning at 11 concurrent calls and make each add/remove O(n).

interface Fanout {
  readonly listeners: Set<() => void>
  readonly fire: () => void
}

const fanouts = new WeakMap<AbortSignal, Fanout>()

/**
 * Calls `listener` once when `signal` aborts; returns the function that unsubscribes it. When the last
 * subscriber of a signal leaves, its one listener is removed, so nothing stays on a long-lived signal.
 * @internal
 */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  if (signal.aborted) {
    listener()
    return () => {}
  }
  let fanout = fanouts.get(signal)
  if (!fanout) {
    const listeners = new Set<() => void>()
    const fire = () => {
      fanouts.delete(signal)
      for (const each of listeners) each()
      listeners.clear()
    }
    fanout = { listeners, fire }
    fanouts.set(signal, fanout)
    signal.addEventListener('abort', fire, { once: true })
  }
  // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
  const subscription = () => listener()
  const { listeners, fire } = fanout
  listeners.add(subscription)
  return () => {
    if (!listeners.delete(subscription) || listeners.size > 0) return
    signal.removeEventListener('abort', fire)
    if (fanouts.get(signal)?.fire === fire) fanouts.delete(signal)
  }
}
