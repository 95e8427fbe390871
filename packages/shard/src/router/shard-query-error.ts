import { PgError } from '@hundredfold/pg'
import { abortedError, ShardError } from '../errors.js'
import type { ShardLocation } from '../map/shard-location.js'

/**
 * The error a failed statement on one shard surfaces as: `E_ABORTED` if the caller's signal fired,
 * a `ShardError` as it is, anything else as `E_SHARD_QUERY` naming the database and physical table,
 * with the driver's error as `cause` and its SQLSTATE copied to `sqlState` (so `23505` needs no digging).
 * @internal
 */
export function shardQueryError(
  err: unknown,
  location: ShardLocation,
  signal: AbortSignal | undefined,
): ShardError {
  if (err instanceof ShardError) return err
  if (signal?.aborted) return abortedError(signal)
  const sqlState = err instanceof PgError ? err.sqlState : undefined
  const message = err instanceof Error ? err.message : String(err)
  return new ShardError(
    'E_SHARD_QUERY',
    `${location.label}: ${message}`,
    {
      table: location.table,
      database: location.database,
      physicalTable: location.physicalTable,
      ...(sqlState === undefined ? {} : { sqlState }),
    },
    { cause: err },
  )
}
