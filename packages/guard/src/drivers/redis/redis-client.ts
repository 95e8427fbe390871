import type { Redis, RedisOptions } from 'ioredis'
import { GuardError } from '../../errors.js'

// ioredis is an optional peer dependency: loaded here, at import of `@hundredfold/guard/redis`, so a
// missing install fails that import with the command that fixes it, not with a bare resolution error.
const ioredis = await import('ioredis').catch((err: unknown) => {
  if ((err as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw err
  throw new GuardError(
    'E_PEER_MISSING',
    '@hundredfold/guard/redis needs ioredis: npm install ioredis',
    {},
    { cause: err },
  )
})

/** How the Redis store is given a server: options for a client it opens (and closes), or a client of yours. */
export type RedisConnection = { connection: RedisOptions | string } | { client: Redis }

/**
 * Opens the client the store owns, or takes yours. An owned client retries a command once and gives up
 * on it after `commandTimeoutMs`, so while Redis is down a take fails fast instead of queueing; it
 * reconnects at least every 500 ms, so a restarted Redis is back in use within one breaker period.
 * @internal
 */
export function openRedis(
  source: RedisConnection,
  commandTimeoutMs: number,
): { client: Redis; owned: boolean } {
  if ('client' in source) return { client: source.client, owned: false }
  const defaults: RedisOptions = {
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(times * 50, 500),
  }
  const client =
    typeof source.connection === 'string'
      ? new ioredis.Redis(source.connection, defaults)
      : new ioredis.Redis({ ...defaults, ...source.connection })
  // Errors also reach the caller of each command; an unhandled 'error' event would crash the process.
  client.on('error', () => {})
  return { client, owned: true }
}
