import { Balancer, roundRobin } from '@hundredfold/balance'
import { fetch, request } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { startServers, type TestServer } from './servers.js'

let servers: TestServer[] = []
let balancer: Balancer | undefined

afterEach(async () => {
  await balancer?.destroy()
  balancer = undefined
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

describe('Balancer with round robin', () => {
  it('serves balancer.request() with a path only, rotating over the endpoints', async () => {
    servers = await startServers(3)
    balancer = new Balancer({ endpoints: servers.map((s) => s.origin), picker: roundRobin() })
    const texts: string[] = []
    for (let i = 0; i < 6; i++) {
      const { statusCode, body } = await balancer.request({ path: `/x${i}`, method: 'GET' })
      expect(statusCode).toBe(200)
      texts.push(await body.text())
    }
    expect(texts.sort()).toEqual(['s0', 's0', 's1', 's1', 's2', 's2'])
    expect(servers.map((s) => s.received.length)).toEqual([2, 2, 2])
  })

  it("works as undici request()'s and fetch()'s dispatcher, replacing the URL's origin", async () => {
    servers = await startServers(2)
    balancer = new Balancer({ endpoints: servers.map((s) => s.origin), picker: roundRobin() })
    const a = await request('http://users.internal/v1/a?q=1', { dispatcher: balancer })
    expect(a.statusCode).toBe(200)
    await a.body.text()
    const b = await fetch('http://users.internal/v1/b', { dispatcher: balancer })
    expect(b.status).toBe(200)
    expect(['s0', 's1']).toContain(await b.text())
    expect([...servers[0]!.received, ...servers[1]!.received].sort()).toEqual(['GET /v1/a?q=1', 'GET /v1/b'])
  })

  it("also works as Node's global fetch() dispatcher (its bundled undici passes legacy handlers)", async () => {
    servers = await startServers(2)
    balancer = new Balancer({ endpoints: servers.map((s) => s.origin), picker: roundRobin() })
    const init = { dispatcher: balancer } as unknown as RequestInit
    const response = await globalThis.fetch('http://users.internal/global', init)
    expect(response.status).toBe(200)
    expect(['s0', 's1']).toContain(await response.text())
  })

  it('fails with E_NO_ENDPOINTS when discovery found none, and E_CLOSED after close()', async () => {
    balancer = new Balancer({ endpoints: [] })
    await expect(balancer.request({ path: '/', method: 'GET' })).rejects.toMatchObject({
      code: 'E_NO_ENDPOINTS',
    })
    await balancer.close()
    await expect(balancer.request({ path: '/', method: 'GET' })).rejects.toMatchObject({ code: 'E_CLOSED' })
  })

  it('validates options eagerly, naming the option', () => {
    expect(() => new Balancer({} as never)).toThrow('options.endpoints')
    expect(() => new Balancer({ endpoints: ['ftp://x'] })).toThrow('options.endpoints[0]')
    expect(() => new Balancer({ endpoints: [], picker: {} as never })).toThrow('options.picker must be')
    expect(() => new Balancer({ endpoints: [], retry: { maxRetries: -1 } })).toThrow(
      'options.retry.maxRetries',
    )
    expect(() => new Balancer({ endpoints: [], perTryTimeoutMs: 0 })).toThrow('options.perTryTimeoutMs')
    expect(() => new Balancer({ endpoints: [], maxEjectedPercent: 120 })).toThrow('options.maxEjectedPercent')
    try {
      new Balancer({ endpoints: [], slowStartMs: -1 })
    } catch (error) {
      expect(error).toMatchObject({
        name: 'BalanceError',
        code: 'E_INVALID_OPTION',
        option: 'options.slowStartMs',
      })
    }
  })

  it('lets close() finish the requests in flight', async () => {
    servers = await startServers(1)
    balancer = new Balancer({ endpoints: [servers[0]!.origin] })
    const pending = balancer.request({ path: '/', method: 'GET' })
    const closed = balancer.close()
    const { statusCode, body } = await pending
    expect(statusCode).toBe(200)
    await body.text()
    await closed
    expect(balancer.closed).toBe(true)
  })

  it('reports a snapshot of each endpoint', async () => {
    servers = await startServers(2)
    balancer = new Balancer({ endpoints: servers.map((s) => s.origin), picker: roundRobin() })
    const { body } = await balancer.request({ path: '/', method: 'GET' })
    await body.text()
    const snapshot = balancer.endpoints()
    expect(snapshot.map((e) => e.origin).sort()).toEqual(servers.map((s) => s.origin).sort())
    expect(snapshot.every((e) => e.state === 'active' && e.outstanding === 0)).toBe(true)
    expect(snapshot.reduce((n, e) => n + e.requests, 0)).toBe(1)
  })
})
