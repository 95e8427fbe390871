import { channel } from 'node:diagnostics_channel'
import { abortedError, ShardError } from '../errors.js'
import type { ScatterHooks, ScatterTarget, ShardQueryEvent } from './target.js'

/** `hundredfold:shard:scatter-query`: a {@link ShardQueryEvent} after every statement on a shard. */
export const scatterQueryChannel = channel('hundredfold:shard:scatter-query')

/**
 * Runs one statement on one shard. It settles as soon as `signal` fires, even if the target ignores
 * the signal (its late answer is dropped), so one abort ends a whole fan-out at once.
 *
 * Failures become `E_SHARD_QUERY` naming the shard, with the driver's error as `cause` and its
 * `sqlState` copied (a `ShardError` thrown by the target, as the router's are, passes as it is); an abort
 * becomes the signal's reason when that is a `ShardError` (the fan-out's first failure), else
 * `E_ABORTED`.
 *
 * @example
 * const rows = await queryShard(target, 'SELECT count(*) AS n FROM {t}', [], signal, {})
 * @internal
 */
export async function queryShard<R = Record<string, unknown>>(
  target: ScatterTarget,
  sql: string,
  params: readonly unknown[],
  signal: AbortSignal,
  hooks: ScatterHooks,
): Promise<R[]> {
  if (signal.aborted) throw abortedError(signal)
  const started = performance.now()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortedError(signal))
    signal.addEventListener('abort', onAbort, { once: true })
  })
  const running = Promise.resolve().then(() => target.query<R>(sql, params, { signal }))
  try {
    const { rows } = await Promise.race([running, aborted])
    report(hooks, { ...where(target), durationMs: performance.now() - started, rows: rows.length })
    return rows
  } catch (error) {
    report(hooks, { ...where(target), durationMs: performance.now() - started, rows: 0, error })
    if (signal.aborted) throw abortedError(signal)
    // The router's targets already fail with a ShardError naming the logical table: keep it.
    if (error instanceof ShardError) throw error
    const reason = error instanceof Error ? error.message : String(error)
    const sqlState = (error as { sqlState?: unknown } | null)?.sqlState
    throw new ShardError(
      'E_SHARD_QUERY',
      `query failed on shard ${target.label}: ${reason}`,
      {
        database: target.database,
        physicalTable: target.table,
        ...(typeof sqlState === 'string' ? { sqlState } : {}),
      },
      { cause: error },
    )
  } finally {
    signal.removeEventListener('abort', onAbort!)
    // A statement that lost the race to an abort may still reject; nobody is waiting for it.
    running.catch(() => {})
  }
}

function where(target: ScatterTarget): Pick<ShardQueryEvent, 'label' | 'database' | 'table'> {
  return { label: target.label, database: target.database, table: target.table }
}

function report(hooks: ScatterHooks, event: ShardQueryEvent): void {
  try {
    hooks.onShardQuery?.(event)
  } catch {
    // Metrics must never fail a query.
  }
  if (scatterQueryChannel.hasSubscribers) scatterQueryChannel.publish(event)
}
