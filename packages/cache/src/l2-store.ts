/**
 * The shared tier (Redis, or the embedded in-memory store) as the cache needs it: every method is
 * batched (one round trip for a multi-get) and every check-and-set is atomic on the server.
 *
 * Per key the store keeps a value (payload, alive for ttl + grace), a freshness mark (alive for ttl)
 * and at most one lease (a token, alive for the lease time). A value without its freshness mark is
 * stale: it may be served while its lease holder reloads it, never stored over a newer one.
 */
export interface L2Store {
  /**
   * For each key: a fresh value (`hit`), or a lease granted to this caller (`lease`, with the stale
   * value if one is still in grace), or someone else's lease (`busy`, with the stale value if any).
   * `tokens[i]` is the token to grant for `keys[i]`; it must be unique cluster-wide.
   */
  acquire(
    keys: readonly string[],
    tokens: readonly string[],
    leaseMs: number,
    signal?: AbortSignal,
  ): Promise<AcquireResult[]>
  /** The values stored now (fresh or stale), `undefined` where none. For waiters polling a lease. */
  peek(keys: readonly string[], signal?: AbortSignal): Promise<(StoredValue | undefined)[]>
  /**
   * Stores each item only if its lease token is still the key's current lease, then ends that lease.
   * Returns, per item, whether it was stored. A delete since the lease was granted voids it.
   */
  fill(items: readonly FillItem[], signal?: AbortSignal): Promise<boolean[]>
  /** Removes the value, its freshness mark and any lease, so outstanding lease tokens are refused. */
  delete(keys: readonly string[], signal?: AbortSignal): Promise<void>
  /**
   * Removes every key of this store (on Redis: every key under its prefix), leases included. For
   * `Cache.resync()`: may take long on a large store, so it is bounded by `signal`, not by a timeout.
   */
  clear(signal?: AbortSignal): Promise<void>
  /** Releases connections the store opened itself. */
  close(): Promise<void>
}

export interface StoredValue {
  payload: string
  fresh: boolean
}

export type AcquireResult =
  | { kind: 'hit'; payload: string }
  | { kind: 'lease'; token: string; stale: string | undefined }
  | { kind: 'busy'; stale: string | undefined }

export interface FillItem {
  key: string
  token: string
  payload: string
  /** How long the value is fresh. */
  ttlMs: number
  /** How long after that it may still be served stale. */
  graceMs: number
}
