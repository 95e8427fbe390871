import { abortError } from '../../errors.js'
import type { AcquireResult, FillItem, L2Store, StoredValue } from '../../l2-store.js'
import { RedisBacked, type RedisConnection, Script } from './redis-client.js'
import { ACQUIRE, FILL, PEEK } from './scripts.js'

/** Options of `redisStore`: a connection (or client) and a key prefix. */
export type RedisStoreOptions = RedisConnection & {
  /** Prepended to every key, to share one Redis between applications. @default 'hf:' */
  prefix?: string
}

const acquire = new Script(ACQUIRE)
const fill = new Script(FILL)
const peek = new Script(PEEK)

/**
 * The L2 on Redis: values, freshness marks and leases as plain keys with PX expiry; the lease
 * check-and-set runs as Lua. Each call is one round trip, whatever the number of keys.
 *
 * @example
 * const cache = createCache({ l2: redisStore({ connection: 'redis://127.0.0.1:6379' }) })
 */
export function redisStore(options: RedisStoreOptions): L2Store {
  return new RedisStore(options)
}

class RedisStore extends RedisBacked implements L2Store {
  readonly #prefix: string

  constructor(options: RedisStoreOptions) {
    super(options)
    this.#prefix = options.prefix ?? 'hf:'
  }

  async acquire(
    keys: readonly string[],
    tokens: readonly string[],
    leaseMs: number,
    signal?: AbortSignal,
  ): Promise<AcquireResult[]> {
    if (signal?.aborted) throw abortError(signal)
    const reply = (await acquire.run(this.client, this.#triplets(keys), [leaseMs, ...tokens])) as string[]
    return keys.map((_, i): AcquireResult => {
      const kind = reply[i * 2]
      const payload = reply[i * 2 + 1]!
      if (kind === 'h') return { kind: 'hit', payload }
      const stale = payload === '' ? undefined : payload
      return kind === 'l' ? { kind: 'lease', token: tokens[i]!, stale } : { kind: 'busy', stale }
    })
  }

  async peek(keys: readonly string[], signal?: AbortSignal): Promise<(StoredValue | undefined)[]> {
    if (signal?.aborted) throw abortError(signal)
    const names = keys.flatMap((key) => [this.#name(key, 'v'), this.#name(key, 'f')])
    const reply = (await peek.run(this.client, names, [])) as (number | string)[]
    return keys.map((_, i) => {
      const payload = reply[i * 2 + 1] as string
      return payload === '' ? undefined : { payload, fresh: reply[i * 2] === 1 }
    })
  }

  async fill(items: readonly FillItem[], signal?: AbortSignal): Promise<boolean[]> {
    if (signal?.aborted) throw abortError(signal)
    if (items.length === 0) return []
    const args = items.flatMap((item) => [
      item.token,
      item.payload,
      Math.max(1, Math.round(item.ttlMs)),
      Math.max(1, Math.round(item.ttlMs + item.graceMs)),
    ])
    const reply = (await fill.run(
      this.client,
      this.#triplets(items.map((item) => item.key)),
      args,
    )) as number[]
    return reply.map((stored) => stored === 1)
  }

  async delete(keys: readonly string[], signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal)
    if (keys.length > 0) await this.client.del(...this.#triplets(keys))
  }

  async clear(signal?: AbortSignal): Promise<void> {
    // Every name is `<prefix>{<key>}:<part>`; SCAN walks them in pages without blocking Redis.
    const match = `${escapeGlob(this.#prefix)}{*`
    let cursor = '0'
    do {
      if (signal?.aborted) throw abortError(signal)
      const [next, names] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', 1000)
      if (names.length > 0) await this.client.unlink(...names)
      cursor = next
    } while (cursor !== '0')
  }

  async close(): Promise<void> {
    await this.releaseClient()
  }

  #triplets(keys: readonly string[]): string[] {
    return keys.flatMap((key) => [this.#name(key, 'v'), this.#name(key, 'f'), this.#name(key, 'l')])
  }

  /** `{key}` is a hash tag: a key's three entries share a slot on Redis Cluster. */
  #name(key: string, part: 'v' | 'f' | 'l'): string {
    return `${this.#prefix}{${key}}:${part}`
  }
}

/** `prefix` as a literal in a SCAN MATCH pattern. */
function escapeGlob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}
