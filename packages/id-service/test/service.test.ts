import { acquireWorkerLease, DEFAULT_EPOCH, decode, MemoryLeaseStore, Snowflake } from '@hundredfold/id'
import { describe, expect, it } from 'vitest'
import { listening } from './support/listening.js'

// The routes over HTTP, through node:http: status codes, bodies, problem documents, readiness and metrics.

const service = (generator?: Snowflake, extra = {}) =>
  listening({ ...(generator ? { generator } : {}), ...extra })

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

  it('answers GET /ids and counts what it issued', async () => {
    const baseUrl = await service().baseUrl()
    const first = (await (await fetch(`${baseUrl}/ids`)).json()) as { ids: string[] }
    const second = (await (await fetch(`${baseUrl}/ids`)).json()) as { ids: string[] }
    expect(BigInt(second.ids[0]!) > BigInt(first.ids[0]!)).toBe(true)
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text()
    expect(metrics).toMatch(/^id_issued_total 2$/m)
    expect((await fetch(`${baseUrl}/ids?count=0`)).status).toBe(400)
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
