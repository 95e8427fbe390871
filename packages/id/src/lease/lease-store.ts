/** What a holder asks a {@link LeaseStore} for. */
export interface AcquireRequest {
  /** Who asks; unique per process instance (two processes with one configuration must differ). */
  holder: string
  /** How long the lease lasts without renewal, in ms (measured on the store's clock). */
  ttlMs: number
  /** How long a freed or expired worker id rests before anyone may take it again, in ms. */
  quarantineMs: number
  /** A worker id to prefer when it is free (a StatefulSet ordinal); never a claim on it. */
  hint?: number
  /**
   * The highest timestamp (unix ms) the holder may issue ids at before its first renewal: persisted at once,
   * so a crash before any renewal still leaves a bound for the next holder.
   */
  issueUntil: number
}

/** Names one lease: every renewal and the release must present all three. */
export interface LeaseKey {
  workerId: number
  /** Increases with every acquisition of any worker id; a stale holder's token no longer matches. */
  fencingToken: number
  holder: string
}

/** A lease the store granted. */
export interface LeaseGrant extends LeaseKey {
  /**
   * The timestamp (unix ms) earlier holders of this worker id persisted: the exact last one issued after a
   * release, the bound they could have issued up to after a crash; 0 if never used. The new holder issues
   * ids only after it.
   */
  lastTimestamp: number
}

/**
 * Where worker-id leases live: a table of 1024 worker ids, each with its holder, expiry, fencing token and
 * the last timestamp issued under it. Implemented in memory (one process: tests, the embedded default) and
 * in PostgreSQL (`@hundredfold/id/pg`); both pass the same contract suite (`@hundredfold/id/testing`).
 *
 * Errors: `renew` throws `IdError` `E_LEASE_LOST` when the key no longer holds the worker id (taken over,
 * released or expired); every other failure is an `IdError` `E_LEASE_STORE` with the cause.
 */
export interface LeaseStore {
  /** A short label for logs and health output, e.g. `memory` or `postgres`. */
  readonly name: string
  /**
   * Takes a free worker id: one never leased, or whose lease ended (expired or released) at least
   * `quarantineMs` ago; the `hint` if it is such, else the one that has rested longest. Resolves `undefined`
   * when none is free.
   */
  acquire(request: AcquireRequest, signal?: AbortSignal): Promise<LeaseGrant | undefined>
  /**
   * Extends the lease to `ttlMs` from now and persists `issueUntil`, the highest timestamp the holder may
   * issue at before its next renewal (a lower value than the stored one changes nothing).
   *
   * @throws {IdError} `E_LEASE_LOST` if `key` no longer holds the worker id or its lease has expired.
   */
  renew(key: LeaseKey, update: { ttlMs: number; issueUntil: number }, signal?: AbortSignal): Promise<void>
  /**
   * Ends the lease now (its quarantine starts) and stores `lastTimestamp`, the exact last timestamp issued,
   * in place of the bound (the holder has stopped, so nothing above it was issued). A key that no longer
   * holds the worker id changes nothing.
   */
  release(key: LeaseKey, lastTimestamp: number, signal?: AbortSignal): Promise<void>
  /** Releases what the store holds (connections). Leases are not released. */
  close(): Promise<void>
}
