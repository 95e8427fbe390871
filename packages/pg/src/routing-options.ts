import { PgError } from './errors.js'

/** Where reads go and how replicas are watched. */
export interface RoutingOptions {
  /** A replica further behind than this leaves rotation until it catches up. @default 1000 */
  maxLagMs?: number
  /** With no fit replica: read from the primary, or fail with `E_NO_REPLICA`. @default 'primary' */
  whenNoReplica?: 'primary' | 'error'
  /** How often every host is asked its role and WAL position. @default 250 */
  probeIntervalMs?: number
  /** How long a read with a session token may wait for a replica to replay that far before it goes to the primary. @default 50 */
  tokenWaitMs?: number
}

/** The defaults of `RoutingOptions`. */
export const routingDefaults = Object.freeze({
  maxLagMs: 1000,
  whenNoReplica: 'primary' as const,
  probeIntervalMs: 250,
  tokenWaitMs: 50,
})

/** Merges `options` over the defaults, validates them (messages name the option) and freezes the result. */
export function routingOptions(options: RoutingOptions = {}): Readonly<Required<RoutingOptions>> {
  const merged = { ...routingDefaults, ...options }
  if (!(merged.maxLagMs >= 0)) throw invalid('options.routing.maxLagMs must be a non-negative number')
  if (!(merged.probeIntervalMs > 0))
    throw invalid('options.routing.probeIntervalMs must be a positive number')
  if (!(merged.tokenWaitMs >= 0)) throw invalid('options.routing.tokenWaitMs must be a non-negative number')
  if (merged.whenNoReplica !== 'primary' && merged.whenNoReplica !== 'error') {
    throw invalid("options.routing.whenNoReplica must be 'primary' or 'error'")
  }
  return Object.freeze(merged)
}

function invalid(message: string): PgError {
  return new PgError('E_INVALID_OPTION', message)
}
