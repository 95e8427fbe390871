import { afterEach, describe, expect, it } from 'vitest'
import { IdClient } from '../src/client/index.js'
import { acquireWorkerLease, DEFAULT_EPOCH, decode, MemoryLeaseStore, Snowflake } from '../src/index.js'
import { createIdService, type IdService } from '../src/service/index.js'

const services: IdService[] = []
afterEach(async () => {
  for (const service of services.splice(0)) await service.close()
})

interface Answer {
  statusCode: number
  headers: Record<string, string>
  body: string
  json(): any
}

/** A listening service on port 0, and `inject(path)`: one GET over a real socket. */
function service(generator = new Snowflake({ workerId: 21 }), extra = {}) {
  const service = createIdService({ generator, ...extra })
  services.push(service)
  const listening = service.listen()
  return {
    listen: () => listening,
    async inject(path: string): Promise<Answer> {
      const response = await fetch(`${await listening}${path}`)
      const body = await response.text()
      return {
        statusCode: response.status,
        headers: Object.fromEntries(response.headers),
        body,
        json: () => JSON.parse(body),
      }
    },
  }
}

describe('ID service', () => {
  it('GET /ids returns one decimal id by default and n increasing ids with count', async () => {
    const app = service()
    const one = await app.inject('/ids')
    expect(one.statusCode).toBe(200)
    expect(one.headers['content-type']).toMatch(/^application\/json/)
    const [id] = one.json().ids as string[]
    expect(decode(id!).workerId).toBe(21)

    const many = (await app.inject('/ids?count=10000')).json().ids as string[]
    expect(many).toHaveLength(10_000)
    const values = many.map(BigInt)
    for (let i = 1; i < values.length; i++) expect(values[i]! > values[i - 1]!).toBe(true)
    expect(values[0]! > BigInt(id!)).toBe(true)
  })

  it.each(['0', '10001', '-1', '1.5', 'abc', '', '01', '99999999999'])(
    'rejects count=%s with a problem document',
    async (count) => {
      const response = await service().inject(`/ids?count=${count}`)
      expect(response.statusCode).toBe(400)
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(response.json()).toMatchObject({ code: 'E_INVALID_COUNT', status: 400, instance: '/ids' })
    },
  )

  it('rejects a repeated count', async () => {
    const response = await service().inject('/ids?count=1&count=2')
    expect(response.json()).toMatchObject({ code: 'E_INVALID_COUNT' })
  })

  it('GET /ids/<id> decodes an id; a bad one is a 400', async () => {
    const app = service()
    const [id] = (await app.inject('/ids')).json().ids as string[]
    const decoded = (await app.inject(`/ids/${id}`)).json()
    expect(decoded).toMatchObject({ id, workerId: 21, date: expect.stringMatching(/Z$/) })
    expect(decoded.timestamp).toBe(Date.parse(decoded.date))
    const bad = await app.inject('/ids/0123')
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toMatchObject({ code: 'E_INVALID_ID' })
    expect((await app.inject('/nowhere')).json()).toMatchObject({ code: 'E_NOT_FOUND', status: 404 })
  })

  it('answers 503 with Retry-After when the clock steps back too far, and counts it', async () => {
    let now = DEFAULT_EPOCH + 1_000_000
    const app = service(new Snowflake({ workerId: 2, clock: () => now }))
    expect((await app.inject('/ids')).statusCode).toBe(200)
    now -= 60_000
    const refused = await app.inject('/ids?count=5')
    expect(refused.statusCode).toBe(503)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.json()).toMatchObject({ code: 'E_CLOCK_BACKWARDS', backwardsMs: 60_000 })
    const metrics = (await app.inject('/metrics')).body
    expect(metrics).toMatch(/^id_clock_backwards_total\{action="refuse"\} 1$/m)
    expect(metrics).toMatch(/^id_errors_total\{code="E_CLOCK_BACKWARDS"\} 1$/m)
    expect(metrics).toMatch(/^id_issued_total 1$/m)
  })

  it('is ready while its lease is valid, and refuses ids and readiness once it is released', async () => {
    const lease = await acquireWorkerLease({ store: new MemoryLeaseStore(), ttlMs: 10_000 })
    const app = service(lease.generator(), { lease })
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' })
    expect((await app.inject('/readyz')).json()).toMatchObject({ status: 'ready', workerId: lease.workerId })
    await lease.release()
    const ready = await app.inject('/readyz')
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toMatchObject({ code: 'E_NOT_READY' })
    expect((await app.inject('/ids')).json()).toMatchObject({ code: 'E_LEASE_RELEASED', status: 503 })
    expect((await app.inject('/metrics')).body).toMatch(/^id_lease_valid 0$/m)
  })
})

describe('IdClient', () => {
  const listening = () => service().listen()

  it('answers GET /ids and counts what it issued', async () => {
    const baseUrl = await listening()
    const first = (await (await fetch(`${baseUrl}/ids`)).json()) as { ids: string[] }
    const second = (await (await fetch(`${baseUrl}/ids`)).json()) as { ids: string[] }
    expect(BigInt(second.ids[0]!) > BigInt(first.ids[0]!)).toBe(true)
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
    expect(metrics).toMatch(/^id_issued_total 2$/m)
    expect((await fetch(`${baseUrl}/ids?count=0`)).status).toBe(400)
  })

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
})
