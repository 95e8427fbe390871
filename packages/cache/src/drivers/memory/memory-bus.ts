import type { Bus, Invalidation } from '../../bus.js'

/**
 * The in-process bus: every cache given the same instance hears the others' invalidations
 * (synchronously-queued, in order). For the embedded mode and for tests of several nodes in one process.
 *
 * @example
 * const bus = memoryBus()
 * const a = createCache({ l2, bus }), b = createCache({ l2, bus })
 */
export function memoryBus(): Bus {
  const listeners = new Set<(message: Invalidation) => void>()
  return {
    async publish(message) {
      for (const listener of listeners) queueMicrotask(() => listener(message))
    },
    async subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    async close() {
      listeners.clear()
    },
  }
}
