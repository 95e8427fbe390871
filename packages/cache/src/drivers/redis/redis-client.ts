import { createHash } from 'node:crypto'
import type { Redis, RedisOptions } from 'ioredis'
import { CacheError } from '../../errors.js'

// ioredis is an optional peer dependency: loaded here, at import of `@hundredfold/cache/redis`, so a
// missing install fails that import with the command that fixes it, not with a bare resolution error.
const ioredis = await import('ioredis').catch((err: unknown) => {
  if ((err as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw err
  throw new CacheError('E_PEER_MISSING', '@hundredfold/cache/redis needs ioredis: npm install ioredis', {
    cause: err,
    context: { peer: 'ioredis' },
  })
})

/** How a Redis driver is given a server: options for a client it opens (and closes), or a client of yours. */
export type RedisConnection = { connection: RedisOptions | string } | { client: Redis }

/**
 * Opens the client the driver owns. Retries per command are bounded (one reconnect attempt), so while
 * Redis is down a command fails within one reconnect delay instead of queueing for ever; the cache's
 * timeout and breaker cut L2 off sooner still. At start, commands wait for the first connection.
 */
function openRedis(source: RedisConnection): { client: Redis; owned: boolean } {
  if ('client' in source) return { client: source.client, owned: false }
  const defaults: RedisOptions = {
    maxRetriesPerRequest: 1,
    // Reconnect at least every 500 ms, so a restarted Redis is back in use within a breaker cooldown.
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

/**
 * What the Redis store and bus share: the client they run on, opened from `connection` (then closed by
 * `releaseClient`) or handed in as `client` (then left open, it is yours).
 */
export abstract class RedisBacked {
  protected readonly client: Redis
  readonly #owned: boolean

  constructor(source: RedisConnection) {
    const { client, owned } = openRedis(source)
    this.client = client
    this.#owned = owned
  }

  /** Quits the client if this opened it (disconnecting when the quit fails); a client of yours stays open. */
  protected async releaseClient(): Promise<void> {
    if (this.#owned) await this.client.quit().catch(() => this.client.disconnect())
  }
}

/** Runs a script by its SHA, loading it once on NOSCRIPT (a restarted Redis forgets scripts). */
export class Script {
  readonly #source: string
  readonly #sha: string

  constructor(source: string) {
    this.#source = source
    this.#sha = createHash('sha1').update(source).digest('hex')
  }

  async run(client: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return client.eval(this.#source, keys.length, ...keys, ...args)
      }
      throw err
    }
  }
}
