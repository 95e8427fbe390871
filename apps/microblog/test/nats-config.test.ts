import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'

describe('HF_NATS_URL', () => {
  it('takes one server, or a cluster’s comma-separated, as the client’s server list', () => {
    expect(loadConfig({ HF_NATS_URL: 'nats://127.0.0.1:4222' }).natsServers).toEqual([
      'nats://127.0.0.1:4222',
    ])
    const cluster = loadConfig({
      HF_NATS_URL: 'nats://127.0.0.1:4222, nats://127.0.0.1:4223,tls://nats-3.internal:4222',
      HF_QUEUE_REPLICAS: '3',
    })
    expect(cluster.natsServers).toEqual([
      'nats://127.0.0.1:4222',
      'nats://127.0.0.1:4223',
      'tls://nats-3.internal:4222',
    ])
    expect(cluster).toMatchObject({ queue: true, queueReplicas: 3 })
    expect(loadConfig({}).natsServers).toEqual([])
  })

  it('refuses an entry that is not a nats:// or tls:// host and port, naming which', () => {
    const refused = (url: string) => {
      try {
        loadConfig({ HF_NATS_URL: url })
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError)
        return (err as Error).message
      }
      return 'accepted'
    }
    expect(refused('127.0.0.1:4222')).toMatch(
      /HF_NATS_URL must be a nats:\/\/ or tls:\/\/ URL .*: entry 1 is not/,
    )
    expect(refused('nats://a:1,http://b:2')).toMatch(/entry 2 is not/)
    expect(refused('nats://a:1/x')).toMatch(/entry 1 is not/)
    expect(refused(',')).toMatch(/HF_NATS_URL must be/)
    // A secret in a bad entry is not repeated in the message.
    expect(refused('nats://a:1,https://user:s3cret@b:2')).not.toContain('s3cret')
  })
})
