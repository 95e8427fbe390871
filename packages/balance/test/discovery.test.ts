import { once } from 'node:events'
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Balancer,
  type DiscoveredEndpoint,
  type Discovery,
  type DiscoveryListener,
  dnsDiscovery,
  fileDiscovery,
  kubernetesDiscovery,
  roundRobin,
  staticDiscovery,
} from '@hundredfold/balance'
import { registerDiscoveryContract } from '@hundredfold/balance/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { startServers, type TestServer } from './servers.js'

const fixture = JSON.parse(await readFile(new URL('./fixtures/endpointslices.json', import.meta.url), 'utf8'))

/** A resolver whose answers a test sets. */
function fakeResolver(origins: string[]) {
  let current = origins
  const hosts = () => current.map((o) => new URL(o))
  return {
    set: (next: string[]) => {
      current = next
    },
    resolve4: async () => hosts().map((u) => u.hostname),
    resolve6: async () => hosts().map((u) => u.hostname.replace(/^\[|\]$/g, '')),
    resolveSrv: async () =>
      hosts().map((u) => ({ name: u.hostname, port: Number(u.port), priority: 10, weight: 5 })),
  }
}

/** Serves the EndpointSlice API from a list whose ready IPv4 endpoints are `origins` (port 8080). */
async function fakeKubernetes(origins: string[]) {
  let items = slicesFor(origins)
  const requests: Array<{ url: string; authorization: string | undefined }> = []
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization })
    const expected =
      '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dusers'
    if (req.url !== expected) return void res.writeHead(404).end('{}')
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(items))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    apiUrl: `http://127.0.0.1:${port}`,
    requests,
    set: (next: string[]) => {
      items = slicesFor(next)
    },
    setRaw: (raw: unknown) => {
      items = raw
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

/** The recorded list, with the first slice's endpoints replaced by `origins` and the second emptied. */
function slicesFor(origins: string[]) {
  const list = structuredClone(fixture)
  const [first, second] = list.items
  first.endpoints = origins.map((o) => ({ addresses: [new URL(o).hostname], conditions: { ready: true } }))
  second.endpoints = []
  return list
}

registerDiscoveryContract(
  'static',
  async (initial) => ({ discovery: staticDiscovery(initial), close: async () => {} }),
  { fixed: true },
)

registerDiscoveryContract('dns (A, injected resolver)', async (initial) => {
  const resolver = fakeResolver(initial)
  return {
    discovery: dnsDiscovery({ hostname: 'users.internal', port: 8080, refreshMs: 20, resolver }),
    set: async (origins) => resolver.set(origins),
    close: async () => {},
  }
})

registerDiscoveryContract('file (temp file, replaced by rename)', async (initial) => {
  const dir = await mkdtemp(join(tmpdir(), 'hf-balance-'))
  const path = join(dir, 'endpoints.txt')
  const write = async (origins: string[]) => {
    await writeFile(`${path}.tmp`, `# users\n${origins.join('\n')}\n`)
    await rename(`${path}.tmp`, path)
  }
  await write(initial)
  return {
    discovery: fileDiscovery({ path, refreshMs: 50 }),
    set: write,
    close: () => rm(dir, { recursive: true, force: true }),
  }
})

registerDiscoveryContract('kubernetes (recorded EndpointSlices)', async (initial) => {
  const api = await fakeKubernetes(initial)
  return {
    discovery: kubernetesDiscovery({
      apiUrl: api.apiUrl,
      namespace: 'prod',
      service: 'users',
      portName: 'http',
      refreshMs: 20,
    }),
    set: async (origins) => api.set(origins),
    close: api.close,
  }
})

/** The first set a discovery reports. */
function first(discovery: Discovery): Promise<DiscoveredEndpoint[]> {
  const controller = new AbortController()
  return new Promise((resolve, reject) => {
    const listener: DiscoveryListener = {
      update: (endpoints) => {
        controller.abort()
        resolve([...endpoints])
      },
      error: (error) => {
        controller.abort()
        reject(error)
      },
    }
    discovery.watch(listener, controller.signal)
  })
}

describe('kubernetesDiscovery', () => {
  it('reads the ready endpoints of every slice at the named port, with the bearer token', async () => {
    const api = await fakeKubernetes([])
    api.setRaw(fixture)
    try {
      const discovery = kubernetesDiscovery({
        apiUrl: api.apiUrl,
        namespace: 'prod',
        service: 'users',
        portName: 'http',
        token: 'sa-token',
      })
      const endpoints = await first(discovery)
      expect(endpoints.map((e) => e.origin).sort()).toEqual([
        'http://10.244.1.17:8080',
        'http://10.244.2.31:8080',
        'http://10.244.3.12:8080',
      ])
      expect(api.requests[0]!.authorization).toBe('Bearer sa-token')
      const metrics = await first(
        kubernetesDiscovery({ apiUrl: api.apiUrl, namespace: 'prod', service: 'users', portName: 'metrics' }),
      )
      expect(metrics.map((e) => e.origin)).toContain('http://10.244.3.12:9464')
    } finally {
      await api.close()
    }
  })

  it('reports E_DISCOVERY when the API fails', async () => {
    const api = await fakeKubernetes([])
    try {
      const discovery = kubernetesDiscovery({ apiUrl: api.apiUrl, namespace: 'other', service: 'users' })
      await expect(first(discovery)).rejects.toMatchObject({ code: 'E_DISCOVERY', source: 'kubernetes' })
    } finally {
      await api.close()
    }
  })
})

describe('dnsDiscovery', () => {
  it('maps SRV records to origins with their weights, and AAAA addresses in brackets', async () => {
    const resolver = fakeResolver(['http://10.0.0.1:9000'])
    const srv = await first(dnsDiscovery({ hostname: '_http._tcp.users', type: 'SRV', resolver }))
    expect(srv).toEqual([{ origin: 'http://10.0.0.1:9000', weight: 5 }])
    resolver.set(['http://[::1]:1'])
    const v6 = await first(dnsDiscovery({ hostname: 'users', type: 'AAAA', port: 8080, resolver }))
    expect(v6).toEqual([{ origin: 'http://[::1]:8080' }])
  })

  it('names the bad option', () => {
    expect(() => dnsDiscovery({ hostname: 'users' })).toThrow('options.port')
  })
})

describe('Balancer with discovery', () => {
  let servers: TestServer[] = []
  let balancer: Balancer | undefined
  afterEach(async () => {
    await balancer?.destroy()
    balancer = undefined
    await Promise.all(servers.map((s) => s.close()))
    servers = []
  })

  it('holds requests sent before the first DNS answer until it comes', async () => {
    servers = await startServers(3)
    const resolver = fakeResolver([servers[0]!.origin, servers[1]!.origin])
    balancer = new Balancer({
      discovery: dnsDiscovery({
        hostname: 'users',
        port: Number(new URL(servers[0]!.origin).port),
        resolver,
        refreshMs: 20,
      }),
      picker: roundRobin(),
    })
    const { body } = await balancer.request({ path: '/', method: 'GET' })
    await body.text()
    // The fake answers 127.0.0.1 for both, at one port: one endpoint, at full weight (the first set).
    expect(balancer.endpoints()).toHaveLength(1)
    expect(balancer.endpoints()[0]!.slowStart).toBe(1)
  })

  it('follows a watched file: new endpoints ramp up, removed ones are drained', async () => {
    servers = await startServers(3)
    const dir = await mkdtemp(join(tmpdir(), 'hf-balance-'))
    const path = join(dir, 'endpoints.json')
    await writeFile(path, JSON.stringify([servers[0]!.origin, servers[1]!.origin]))
    try {
      balancer = new Balancer({ discovery: fileDiscovery({ path, refreshMs: 50 }), picker: roundRobin() })
      const { body } = await balancer.request({ path: '/', method: 'GET' })
      await body.text()
      expect(
        balancer
          .endpoints()
          .map((e) => e.origin)
          .sort(),
      ).toEqual([servers[0]!.origin, servers[1]!.origin].sort())
      await writeFile(path, JSON.stringify([servers[1]!.origin, { origin: servers[2]!.origin, weight: 2 }]))
      await waitFor(() => balancer!.endpoints().some((e) => e.origin === servers[2]!.origin))
      const added = balancer.endpoints().find((e) => e.origin === servers[2]!.origin)!
      expect(added.slowStart).toBeLessThan(1)
      expect(added.weight).toBe(2)
      await waitFor(() => !balancer!.endpoints().some((e) => e.origin === servers[0]!.origin))
      for (let i = 0; i < 10; i++) {
        const r = await balancer.request({ path: '/after', method: 'GET' })
        await r.body.text()
      }
      expect(servers[0]!.received.filter((r) => r === 'GET /after')).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(condition()).toBe(true)
}
