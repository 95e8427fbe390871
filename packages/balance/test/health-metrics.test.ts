import { Balancer, dynamicWeight, type Picker, p2cPeakEwma, roundRobin } from '@hundredfold/balance'
import { Registry } from '@hundredfold/metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { ok, slow, startServers, type TestServer } from './servers.js'

let servers: TestServer[] = []
let balancer: Balancer | undefined

afterEach(async () => {
  await balancer?.destroy()
  balancer = undefined
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(condition()).toBe(true)
}

/** Fires `n` GETs `gapMs` apart without waiting for answers, then waits for all of them. */
async function openLoop(b: Balancer, n: number, gapMs: number): Promise<void> {
  const pending: Promise<void>[] = []
  for (let i = 0; i < n; i++) {
    pending.push(b.request({ path: '/', method: 'GET' }).then((r) => r.body.dump()))
    await new Promise((resolve) => setTimeout(resolve, gapMs))
  }
  await Promise.all(pending)
}

describe('active health checks', () => {
  it('takes out an endpoint failing its checks, brings it back after passes, and panics when too many fail', async () => {
    servers = await startServers(2)
    const [a, b] = servers as [TestServer, TestServer]
    const health = (healthy: () => boolean) => (req: { url?: string }, res: any) =>
      req.url === '/health' && !healthy() ? res.writeHead(503).end() : res.writeHead(200).end('ok')
    let aHealthy = true
    let bHealthy = true
    a.behave(health(() => aHealthy))
    b.behave(health(() => bHealthy))
    balancer = new Balancer({
      endpoints: [a.origin, b.origin],
      picker: roundRobin(),
      healthCheck: { intervalMs: 20, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
    })
    const stateOf = (origin: string) => balancer!.endpoints().find((e) => e.origin === origin)!.state
    aHealthy = false
    await waitFor(() => stateOf(a.origin) === 'unhealthy')
    expect(balancer.panic).toBe(false)
    const before = a.received.filter((r) => r === 'GET /x').length
    for (let i = 0; i < 6; i++) await (await balancer.request({ path: '/x', method: 'GET' })).body.dump()
    expect(a.received.filter((r) => r === 'GET /x').length).toBe(before)
    // Both failing: more than maxEjectedPercent out, so panic mode balances over all of them.
    bHealthy = false
    await waitFor(() => stateOf(b.origin) === 'unhealthy')
    expect(balancer.panic).toBe(true)
    const r = await balancer.request({ path: '/x', method: 'GET' })
    expect(r.statusCode).toBe(200)
    await r.body.dump()
    aHealthy = true
    bHealthy = true
    await waitFor(() => stateOf(a.origin) === 'active' && stateOf(b.origin) === 'active')
    expect(balancer.panic).toBe(false)
  })
})

describe('metrics', () => {
  it('exposes per-endpoint gauges and counters through the registry', async () => {
    servers = await startServers(2)
    const registry = new Registry()
    // Draws alternate low and high, so both endpoints are sure to serve some of the 4 requests.
    let draw = 0
    balancer = new Balancer({
      endpoints: servers.map((s) => s.origin),
      picker: dynamicWeight({ random: () => (draw++ % 2 === 0 ? 0.1 : 0.9) }),
      metrics: registry,
      name: 'users',
    })
    for (let i = 0; i < 4; i++) await (await balancer.request({ path: '/', method: 'GET' })).body.dump()
    const text = registry.metrics()
    for (const name of [
      'balance_endpoint_weight',
      'balance_endpoint_score',
      'balance_endpoint_outstanding',
      'balance_endpoint_ewma_seconds',
      'balance_endpoint_ejected',
      'balance_requests_total',
    ]) {
      expect(text).toContain(`${name}{balancer="users",endpoint="${servers[0]!.origin}"}`)
    }
    const total = [...text.matchAll(/^balance_requests_total\{[^}]*\} (\d+)$/gm)].reduce(
      (n, m) => n + Number(m[1]),
      0,
    )
    expect(total).toBe(4)
    // A second balancer can report to the same registry.
    const other = new Balancer({ endpoints: [servers[1]!.origin], metrics: registry, name: 'posts' })
    expect(registry.metrics()).toContain('balancer="posts"')
    await other.destroy()
  })
})

describe('latency-aware pickers avoid a slow endpoint', () => {
  const cases: Array<[string, () => Picker, number]> = [
    ['p2cPeakEwma', () => p2cPeakEwma(), 0.1],
    ['dynamicWeight', () => dynamicWeight(), 0.1],
  ]
  for (const [name, picker, maxShare] of cases) {
    it(`${name} sends the slow endpoint far less than its even share`, async () => {
      servers = await startServers(4, (i) => (i === 0 ? slow(300) : ok(`s${i}`)))
      balancer = new Balancer({ endpoints: servers.map((s) => s.origin), picker: picker() })
      await openLoop(balancer, 200, 2)
      const slowShare = servers[0]!.received.length / 200
      expect(slowShare).toBeLessThan(maxShare)
    })
  }
})
