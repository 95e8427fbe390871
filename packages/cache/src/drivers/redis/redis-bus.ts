import type { Redis } from 'ioredis'
import type { Bus, Invalidation } from '../../bus.js'
import { abortError } from '../../errors.js'
import { RedisBacked, type RedisConnection } from './redis-client.js'

/** Options of `redisBus`. */
export type RedisBusOptions = RedisConnection & {
  /** The pub/sub channel. @default 'hf:cache:invalidate' */
  channel?: string
}

/**
 * Invalidations over Redis pub/sub: one publisher command per delete, one subscriber connection per
 * node. After the subscriber reconnects it calls `onReset`, since messages sent meanwhile are lost.
 *
 * @example
 * const cache = createCache({ l2: redisStore({ connection: url }), bus: redisBus({ connection: url }) })
 */
export function redisBus(options: RedisBusOptions): Bus {
  return new RedisBus(options)
}

class RedisBus extends RedisBacked implements Bus {
  readonly #channel: string
  readonly #subscribers = new Set<Redis>()

  constructor(options: RedisBusOptions) {
    super(options)
    this.#channel = options.channel ?? 'hf:cache:invalidate'
  }

  async publish(message: Invalidation, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortError(signal)
    await this.client.publish(this.#channel, JSON.stringify({ o: message.origin, k: message.keys }))
  }

  async subscribe(listener: (message: Invalidation) => void, onReset?: () => void): Promise<() => void> {
    // A subscriber keeps its commands queued while offline, so it resubscribes after a reconnect.
    const subscriber = this.client.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null })
    subscriber.on('error', () => {})
    this.#subscribers.add(subscriber)
    let ready = false
    subscriber.on('ready', () => {
      if (ready) onReset?.()
      ready = true
    })
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.#channel) return
      try {
        const parsed = JSON.parse(text) as { o: string; k: string[] }
        listener({ origin: parsed.o, keys: parsed.k })
      } catch {
        // Not ours: ignore.
      }
    })
    await subscriber.subscribe(this.#channel)
    return () => {
      this.#subscribers.delete(subscriber)
      subscriber.disconnect()
    }
  }

  async close(): Promise<void> {
    for (const subscriber of this.#subscribers) subscriber.disconnect()
    this.#subscribers.clear()
    await this.releaseClient()
  }
}
