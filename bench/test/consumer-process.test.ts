import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../src/options.js'
import { appProcesses } from '../src/target/consumer-process.js'

describe('consumer process layout', () => {
  const env = { HF_PORT: '0', HF_NATS_URL: 'nats://127.0.0.1:4222', HF_QUEUE: 'on' }

  it('with the queue on, the front only accepts and a process of its own consumes', () => {
    expect(appProcesses(env, env, 'process')).toEqual({
      front: { ...env, HF_CONSUMERS: 'off' },
      consumers: { ...env, HF_CONSUMERS: 'on' },
    })
  })

  it('inline, without the queue or with an in-process broker, leaves the environment as it is', () => {
    expect(appProcesses(env, env, 'inline')).toEqual({ front: env })
    const syncOnly = { ...env, HF_QUEUE: 'off' }
    expect(appProcesses(syncOnly, syncOnly, 'process')).toEqual({ front: syncOnly })
    expect(appProcesses({ HF_QUEUE: 'on' }, { HF_QUEUE: 'on' }, 'process')).toEqual({
      front: { HF_QUEUE: 'on' },
    })
    // The broker may come from the bench's own environment only: `effective` decides.
    const inherited = { HF_NATS_URL: 'nats://127.0.0.1:4222' }
    expect(appProcesses({ HF_PORT: '0' }, inherited, 'process').consumers).toEqual({
      HF_PORT: '0',
      HF_CONSUMERS: 'on',
    })
  })

  it('refuses a layout it does not know', () => {
    expect(() => resolveOptions({ consumers: 'sideways' as 'inline' })).toThrow(
      /consumers must be process or inline/,
    )
    expect(resolveOptions({}).consumers).toBe('process')
  })
})
