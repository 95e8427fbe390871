import type { CallOptions, QueryResult } from '@hundredfold/pg'
import type { RequestTiming } from '../request-timing.js'

/**
 * The microblog's tables, each keyed by its shard key: `users`, `user_counters`, `posts`, `mentions`,
 * `following` and `followers` by a user id (the author, the mentioned user, the follower, the
 * followee); `usernames` and `user_external_ids` by what they look up; `post_locations` by post id;
 * `app_secrets` by name.
 */
export type Table =
  | 'users'
  | 'user_counters'
  | 'posts'
  | 'mentions'
  | 'following'
  | 'followers'
  | 'usernames'
  | 'user_external_ids'
  | 'post_locations'
  | 'app_secrets'

export const tables: readonly Table[] = [
  'users',
  'user_counters',
  'posts',
  'mentions',
  'following',
  'followers',
  'usernames',
  'user_external_ids',
  'post_locations',
  'app_secrets',
]

/** The database's per-call options, plus the request's timing (`db` stage) when there is one. */
export interface DbCallOptions extends CallOptions {
  timing?: RequestTiming | undefined
}

/** One statement: SQL naming tables as `{posts}`, and its parameters. */
type Statement = <Row = Record<string, unknown>>(
  sql: string,
  params?: readonly unknown[],
  options?: DbCallOptions,
) => Promise<QueryResult<Row>>

/** Statements inside one transaction, on one database. */
export interface TxStatements {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
  /**
   * The same transaction's statements for another key's rows, when they live in this transaction's
   * database; `undefined` when they live elsewhere (no transaction spans databases).
   */
  on(table: Table, key: string): TxStatements | undefined
}

/**
 * Statements where one key's rows live: the whole database when it is not sharded, else one physical
 * table of one shard, whose `{name}` tokens become that shard's tables (a user's rows share one).
 */
export interface Statements {
  /** On the primary. */
  query: Statement
  /** On a fit replica, else the primary. */
  read: Statement
  /**
   * A cache loader's read: on the primary, so what is cached is never behind a write — but while no
   * primary is known (a failover), on a fit replica, so cache misses are still served; what such a
   * load caches may lag by that replica's lag until its TTL or its next invalidation.
   */
  load: Statement
  /** On the primary; the position is recorded in the options' `session`. */
  write: Statement
  /** BEGIN … COMMIT on the primary; counts BEGIN, each statement and COMMIT in the `db` stage. */
  transaction<T>(fn: (tx: TxStatements) => Promise<T>, options?: DbCallOptions): Promise<T>
}

/** Reads only: one physical table of a fan-out. */
export interface Reader {
  read: Statement
}

/** A step of a write that may touch several shards: a transaction on where `key`'s rows of `table` live. */
export interface WriteStep {
  table: Table
  key: string
  run(tx: TxStatements): Promise<void>
}

/**
 * Where the services' rows live: one database (`HF_DATABASE_URL` or PGlite), or the shards of a shard
 * map (`HF_SHARD_MAP`). Services name the key of every statement, so the same code runs on both.
 *
 * @example
 * await store.on('users', userId).read('SELECT * FROM {users} WHERE user_id = $1', [userId], { signal })
 */
export interface Store {
  /** `single` (one database) or `sharded`. */
  readonly layout: 'single' | 'sharded'
  on(table: Table, key: string): Statements
  /**
   * Keys grouped by the physical table holding them, each group with its statements (one group
   * unsharded): for reads. A group is made on the map of the moment; a resharding's switch may move
   * some of its keys before its statement runs, so writes take `writeGroups`.
   */
  byShard(table: Table, keys: readonly string[]): Array<{ statements: Statements; keys: string[] }>
  /**
   * Keys grouped for a write: one group unsharded; sharded, one group per key, so a write held by a
   * resharding's switch goes where its own key lives once released.
   */
  writeGroups(table: Table, keys: readonly string[]): Array<{ statements: Statements; keys: string[] }>
  /** Whether two keys' rows live in one database (one transaction may hold both). */
  colocated(table: Table, key: string, other: Table, otherKey: string): boolean
  /** Reads on every physical table of `table`, for a fan-out (one unsharded). */
  everywhere(table: Table): Reader[]
  /**
   * Runs the steps in order: in one transaction on one database; sharded, one transaction per step
   * (on where its key lives when it runs), so each step is atomic and an earlier step is committed
   * before a later one starts (write the reservation — a lookup, an index row — first, and the row
   * that makes it visible last).
   */
  steps(steps: readonly WriteStep[], options?: DbCallOptions): Promise<void>
  /** A statement on every database (a health probe). */
  ping(options?: DbCallOptions): Promise<void>
}

/** Counts one statement into the request's `db` stage when there is a timing. */
export function timed<R>(timing: RequestTiming | undefined, work: Promise<R>): Promise<R> {
  if (timing === undefined) return work
  const start = performance.now()
  return work.finally(() => timing.db(start, 1))
}

/** `load` over a pair of `query` and `read`: the primary, else (`E_NO_PRIMARY`, a failover) a replica. */
export async function primaryElseReplica<Row>(
  statements: Pick<Statements, 'query' | 'read'>,
  sql: string,
  params: readonly unknown[] | undefined,
  options: DbCallOptions | undefined,
): Promise<QueryResult<Row>> {
  try {
    return await statements.query<Row>(sql, params, options)
  } catch (err) {
    if (!noPrimary(err) || options?.signal?.aborted) throw err
    return statements.read<Row>(sql, params, options)
  }
}

/** `E_NO_PRIMARY` from `@hundredfold/pg`, directly or as the cause of a shard's error. */
function noPrimary(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === 'E_NO_PRIMARY') return true
  }
  return false
}
