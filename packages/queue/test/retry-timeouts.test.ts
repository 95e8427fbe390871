import { describe, expect, it } from 'vitest'
import { isTimeout, retryTimeouts } from '../src/drivers/jetstream/retry-timeouts.js'

const timeout = () => Object.assign(new Error('timeout'), { name: 'TimeoutError' })

describe('stream and consumer set-up over a JetStream cluster', () => {
  it('tries again after a timeout, and returns what the next try gives', async () => {
    let tries = 0
    const result = await retryTimeouts(
      async () => {
        tries++
        if (tries < 3) throw timeout()
        return 'made'
      },
      undefined,
      4,
      1,
    )
    expect(result).toBe('made')
    expect(tries).toBe(3)
  })

  it('throws the last timeout after the tries, and any other error at once', async () => {
    let tries = 0
    await expect(
      retryTimeouts(
        async () => {
          tries++
          throw timeout()
        },
        undefined,
        3,
        1,
      ),
    ).rejects.toThrow('timeout')
    expect(tries).toBe(3)
    tries = 0
    await expect(
      retryTimeouts(async () => {
        tries++
        throw new Error('stream name already in use with a different configuration')
      }),
    ).rejects.toThrow('already in use')
    expect(tries).toBe(1)
  })

  it('tells a timeout from an answer', () => {
    expect(isTimeout(timeout())).toBe(true)
    expect(isTimeout(new Error('TIMEOUT'))).toBe(true)
    expect(isTimeout(new Error('stream not found'))).toBe(false)
    expect(isTimeout('timeout')).toBe(false)
  })
})
