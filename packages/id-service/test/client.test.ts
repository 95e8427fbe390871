import { Balancer, roundRobin } from '@hundredfold/balance'
import { decode, Snowflake } from '@hundredfold/id'
import { IdClient } from '@hundredfold/id/client'
import { describe, expect, it } from 'vitest'
import { listening as service } from './support/listening.js'

// `@hundredfold/id/client` against the real service.

describe('IdClient', () => {
  const listening = () => service().baseUrl()

  it('serves ids from a local buffer, refilling in batches, all unique', async () => {
    const baseUrl = await listening()
    let requests = 0
    const client = new IdClient({
      baseUrl,
      batchSize: 100,
      fetch: (input, init) => {
        requests++
        return fetch(input, init)
      },
    })
    const ids = await Promise.all(Array.from({ length: 1000 }, () => client.next()))
    expect(new Set(ids).size).toBe(1000)
    expect(requests).toBeGreaterThanOrEqual(10)
    expect(requests).toBeLessThanOrEqual(12)
    const batch = await client.nextBatch(50)
    expect(new Set([...ids, ...batch]).size).toBe(1050)
  })

  it('fails over to the next URL and reports E_ID_SERVICE when none answers', async () => {
    const baseUrl = await listening()
    const client = new IdClient({ baseUrl: ['http://127.0.0.1:1', baseUrl], batchSize: 10 })
    expect(decode(await client.next()).workerId).toBe(21)
    const dead = new IdClient({ baseUrl: 'http://127.0.0.1:1', batchSize: 10 })
    await expect(dead.next()).rejects.toMatchObject({ code: 'E_ID_SERVICE' })
  })

  it('drops buffered ids older than maxAgeMs', async () => {
    const baseUrl = await listening()
    const client = new IdClient({ baseUrl, batchSize: 10, maxAgeMs: 20 })
    await client.next()
    expect(client.buffered).toBeGreaterThan(0)
    await new Promise((resolve) => setTimeout(resolve, 40))
    expect(client.buffered).toBe(0)
  })

  it('honours its signal and validates options', async () => {
    const baseUrl = await listening()
    const client = new IdClient({ baseUrl })
    await expect(client.next(AbortSignal.abort())).rejects.toMatchObject({ code: 'E_ABORTED' })
    expect(() => new IdClient({ baseUrl: 'not a url' })).toThrow(/options.baseUrl/)
    expect(() => new IdClient({ baseUrl, batchSize: 0 })).toThrow(/options.batchSize/)
  })

  it('refills through a @hundredfold/balance Balancer over two instances, one of them dead', async () => {
    const one = await service({ generator: new Snowflake({ workerId: 31 }) }).baseUrl()
    const two = await service({ generator: new Snowflake({ workerId: 32 }) }).baseUrl()
    const balancer = new Balancer({ endpoints: [one, two, 'http://127.0.0.1:1'], picker: roundRobin() })
    try {
      const client = new IdClient({ dispatcher: balancer, batchSize: 10 })
      const ids = await Promise.all(Array.from({ length: 200 }, () => client.next()))
      expect(new Set(ids).size).toBe(200)
      // Both live instances served refills; the dead one's refusals were retried on another.
      expect(new Set(ids.map((id) => decode(id).workerId))).toEqual(new Set([31, 32]))
      expect(() => new IdClient({ dispatcher: {} as never })).toThrow(/options.dispatcher/)
    } finally {
      await balancer.close()
    }
  })
})
