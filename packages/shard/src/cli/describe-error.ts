import { ShardError } from '../errors.js'

/** One line for an error: its code first (and for a bad map the field), then the message and cause. */
export function describeError(err: unknown): string {
  if (err instanceof ShardError) {
    const where = err.code === 'E_INVALID_MAP' && err.path ? ` (at ${err.path})` : ''
    const cause =
      err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : ''
    return `${err.code}${where}: ${err.message}${cause}`
  }
  return err instanceof Error ? err.message : String(err)
}
