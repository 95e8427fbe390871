/** An invalidation: these keys changed on node `origin`; other nodes drop them from L1. Never values. */
export interface Invalidation {
  origin: string
  keys: readonly string[]
}

/**
 * Carries invalidations between nodes (Redis pub/sub, or in-process for the embedded mode). Delivery
 * is at most once: a lost message leaves an L1 entry until its (short) L1 TTL, so `onReset` tells the
 * cache when the bus may have lost messages (a reconnect) and it clears L1.
 */
export interface Bus {
  publish(message: Invalidation, signal?: AbortSignal): Promise<void>
  /** Starts delivering; resolves once subscribed. Returns the unsubscribe function. */
  subscribe(listener: (message: Invalidation) => void, onReset?: () => void): Promise<() => void>
  close(): Promise<void>
}
