/**
 * One physical table a fan-out runs on, as the router hands it out: its `query` runs SQL on that
 * table's database after rewriting the router's table placeholders. The scatter functions pass SQL
 * through untouched (apart from the keyset wrapper of {@link scatterOrdered}).
 *
 * Anything of this shape will do, which is what the tests use:
 *
 * @example
 * const target: ScatterTarget = {
 *   label: 'mb_03/posts_17',
 *   database: 'mb_03',
 *   table: 'posts_17',
 *   query: (sql, params, { signal }) => cluster.query(sql.replaceAll('{posts}', 'posts_17'), params, { signal }),
 * }
 */
export interface ScatterTarget {
  /** e.g. 'mb_03/posts_17' */
  readonly label: string
  readonly database: string
  readonly table: string
  query<R = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[],
    options: { signal?: AbortSignal },
  ): Promise<{ rows: R[] }>
}

/** What {@link ScatterHooks.onShardQuery} is told after every statement on a shard (each page counts). */
export interface ShardQueryEvent {
  readonly label: string
  readonly database: string
  readonly table: string
  readonly durationMs: number
  /** Rows the shard returned; 0 when it failed. */
  readonly rows: number
  /** Set when the statement failed or was aborted: the driver's error, as thrown. */
  readonly error?: unknown
}

/** Options every scatter function takes besides its own. */
export interface ScatterHooks {
  /**
   * Called after every statement on a shard, successful or not, so the router can feed its per-shard
   * metrics. It must not throw; if it does, the error is ignored. @default none
   */
  onShardQuery?: ((event: ShardQueryEvent) => void) | undefined
}
