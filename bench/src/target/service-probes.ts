import { connect } from 'node:net'
import { Redis } from 'ioredis'

/**
 * The broker's identity from the `INFO` line a NATS server sends on connect (`{ error }` when none came
 * within 2 s). Only that line is read: no NATS session is opened.
 *
 * @example
 * const { jetstream } = await natsServerInfo('nats://127.0.0.1:4222', signal)
 */
export async function natsServerInfo(
  servers: string,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const url = new URL(servers.includes('://') ? servers : `nats://${servers}`)
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port || 4222) })
    let text = ''
    const done = (info: Record<string, unknown>) => {
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(info)
    }
    const onAbort = (): void => done({ error: 'aborted' })
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.setTimeout(2000, () => done({ error: 'no INFO line within 2 s' }))
    socket.on('error', (error) => done({ error: error.message }))
    socket.on('data', (chunk) => {
      text += chunk.toString('utf8')
      const end = text.indexOf('\r\n')
      if (end < 0) return
      try {
        const info = JSON.parse(text.slice(text.indexOf('{'), end)) as Record<string, unknown>
        done({
          server: 'nats-server',
          version: info['version'],
          jetstream: info['jetstream'] ?? false,
          go: info['go'],
        })
      } catch {
        done({ error: 'unreadable INFO line' })
      }
    })
  })
}

/** Why a NATS server cannot carry the write queue, or undefined when it can (it answers, with JetStream). */
export async function natsUnfit(url: string, signal: AbortSignal): Promise<string | undefined> {
  const info = await natsServerInfo(url, signal)
  if (typeof info['error'] === 'string') return `nats-server at ${url} did not answer (${info['error']})`
  return info['jetstream'] === true ? undefined : `nats-server at ${url} has no JetStream`
}

/** Why Redis cannot be used, or undefined when it answers `PING` within a second. */
export async function redisUnfit(url: string, signal: AbortSignal): Promise<string | undefined> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  redis.on('error', () => {}) // the failure is the answer
  const onAbort = (): void => redis.disconnect()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await redis.connect()
    return (await redis.ping()) === 'PONG' ? undefined : `Redis at ${url} did not answer PING`
  } catch (error) {
    return `Redis at ${url} did not answer (${(error as Error).message})`
  } finally {
    signal.removeEventListener('abort', onAbort)
    redis.disconnect()
  }
}
