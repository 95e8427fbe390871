/**
 * Stable codes of {@link ShardError}. Callers match on `code`, never on `message`.
 *
 * - `E_INVALID_MAP`: a shard map document failed validation; `path` names the offending field.
 * - `E_INVALID_OPTION`: an option failed eager validation; `option` names it.
 * - `E_UNKNOWN_TABLE`: a logical table the shard map does not define (a call, or a `{name}` in a statement), or one of the wrong kind for the call.
 * - `E_NO_SHARD_KEY`: a call on a sharded table without a usable value for its shard key (or range key): missing, `null`, a non-integer number, an object; `value` is what was given.
 * - `E_CROSS_SHARD`: a transaction (or a single-shard handle) was asked to touch another shard; transactions never span shards.
 * - `E_SCATTER_REFUSED`: a fan-out query on a router made with `scatter: 'refuse'`.
 * - `E_DEEP_OFFSET`: an `OFFSET` across shards beyond the allowed depth; use keyset pagination.
 * - `E_INVALID_CURSOR`: a keyset cursor that was not made by this package, or for another query.
 * - `E_RANGE_MISSING`: a row's range key falls in a period whose table was not created in advance.
 * - `E_SHARD_QUERY`: a statement failed on one physical shard; `database` (and `table`) say which, the driver's error is the `cause`, its SQLSTATE is `sqlState`.
 * - `E_BROADCAST_PARTIAL`: a write to a broadcast table failed on some databases after others applied it (`applied`, `failed`); the first failure is the `cause`. Rerun it: broadcast writes must be idempotent.
 * - `E_MIGRATION_FAILED`: a migration (or `CREATE DATABASE`) failed on a physical database (`database`, `migration`, `sqlState`); what was applied before is recorded and a rerun resumes.
 * - `E_RESHARD_STATE`: a resharding step was asked for in a state that does not allow it (e.g. `cutover` before `verify`).
 * - `E_CLOSED`: the router was ended; it opens no more connections.
 * - `E_MAP_CHANGED`: a handle (or fan-out target) made under an older map needs a database the router's
 *   newer map dropped, after its connections were closed; `database` names it. Nothing ran: retry the
 *   work (its new handles go by the new map).
 * - `E_ABORTED`: the caller's `AbortSignal` fired; the reason is the `cause`.
 */
export type ShardErrorCode =
  | 'E_INVALID_MAP'
  | 'E_INVALID_OPTION'
  | 'E_UNKNOWN_TABLE'
  | 'E_NO_SHARD_KEY'
  | 'E_CROSS_SHARD'
  | 'E_SCATTER_REFUSED'
  | 'E_DEEP_OFFSET'
  | 'E_INVALID_CURSOR'
  | 'E_RANGE_MISSING'
  | 'E_SHARD_QUERY'
  | 'E_BROADCAST_PARTIAL'
  | 'E_MIGRATION_FAILED'
  | 'E_RESHARD_STATE'
  | 'E_CLOSED'
  | 'E_MAP_CHANGED'
  | 'E_ABORTED'

/** Context fields a {@link ShardError} may carry; which ones are set depends on `code`. */
export interface ShardErrorContext {
  /** `E_INVALID_MAP`: the JSON path of the offending field, e.g. `tables.posts.key`. */
  path?: string
  /** `E_INVALID_OPTION`: the option's path, e.g. `options.maxOffset`. */
  option?: string
  /** The logical table concerned. */
  table?: string
  /** The physical database concerned (its name in the map). */
  database?: string
  /** The physical table concerned. */
  physicalTable?: string
  /** `E_CROSS_SHARD`: the shard the transaction is bound to, and the one it was asked for. */
  boundTo?: string
  requested?: string
  /** `E_DEEP_OFFSET`: the offset asked for and the deepest allowed. */
  offset?: number
  maxOffset?: number
  /** `E_RESHARD_STATE`: the state the resharding is in. */
  state?: string
  /** `E_SHARD_QUERY`, `E_MIGRATION_FAILED`: the SQLSTATE of the server's error (e.g. `23505`), when it has one. */
  sqlState?: string
  /** `E_MIGRATION_FAILED`: the migration that failed. */
  migration?: string
  /** `E_BROADCAST_PARTIAL`: the databases that applied the write, and those that did not. */
  applied?: readonly string[]
  failed?: readonly string[]
  /** `E_INVALID_MAP`, `E_INVALID_OPTION`, `E_NO_SHARD_KEY`, `E_RANGE_MISSING`: the rejected value (long strings are cut to 64 characters). */
  value?: unknown
}

/**
 * The one error class of `@hundredfold/shard`: a stable `code`, the context fields for that code, and `cause`.
 *
 * @example
 * try {
 *   await router.transaction('users', a, async (tx) => tx.shard('users', b).query(sql, params))
 * } catch (err) {
 *   if (err instanceof ShardError && err.code === 'E_CROSS_SHARD') useTheQueueInstead()
 *   else throw err
 * }
 */
export class ShardError extends Error {
  override readonly name = 'ShardError'
  readonly code: ShardErrorCode
  readonly path?: string
  readonly option?: string
  readonly table?: string
  readonly database?: string
  readonly physicalTable?: string
  readonly boundTo?: string
  readonly requested?: string
  readonly offset?: number
  readonly maxOffset?: number
  readonly state?: string
  readonly sqlState?: string
  readonly migration?: string
  readonly applied?: readonly string[]
  readonly failed?: readonly string[]
  readonly value?: unknown

  constructor(
    code: ShardErrorCode,
    message: string,
    context: ShardErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.code = code
    // Only the fields given become own properties; a given `value` is kept even when undefined.
    const fields = this as Record<string, unknown>
    for (const [field, value] of Object.entries(context)) {
      if (field === 'value') fields[field] = shorten(value)
      else if (value !== undefined) fields[field] = value
    }
  }
}

/** The `E_ABORTED` error for a fired signal, keeping its reason as `cause`. @internal */
export function abortedError(signal: AbortSignal): ShardError {
  const reason: unknown = signal.reason
  if (reason instanceof ShardError) return reason
  return new ShardError('E_ABORTED', 'operation aborted', {}, { cause: reason })
}

/** The `E_MAP_CHANGED` error for a database of `map` that the router's newer map dropped. @internal */
export function mapChangedError(
  map: { readonly version: number; readonly databases: readonly { readonly name: string }[] },
  index: number,
): ShardError {
  const database = map.databases[index]?.name ?? String(index)
  return new ShardError(
    'E_MAP_CHANGED',
    `${database} is not in the router's map any more (this handle was made under map version ${map.version}): retry`,
    { database },
  )
}

function shorten(value: unknown): unknown {
  return typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}…` : value
}
