import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createServer, get as httpGet, type Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { procInfo } from '../src/processes.js'
import { createFrontNetwork, type FrontNetwork, startVipPair, type VipPair } from '../src/vip/index.js'
import { ipBin } from '../src/vip/ip-command.js'

const run = promisify(execFile)
const isRoot = process.getuid?.() === 0
const hasNetns = await run(ipBin, ['netns', 'list']).then(
  () => true,
  () => false,
)
const skipped = !isRoot ? 'not root' : !hasNetns ? '`ip netns` is unavailable' : undefined

/**
 * One GET on a connection of its own, abandoned after 250 ms: undefined when nothing answered in
 * time. A SYN sent while the VIP is between nodes is lost and TCP resends it only after 1 s; a
 * short bound starts a new connection instead. node:http, because undici did not cut a connect in
 * progress short here (a request aborted at 150 ms took 1 s), which measured the client, not the VIP.
 */
function get(url: string): Promise<{ status: number; body: string; servedBy?: string } | undefined> {
  return new Promise((resolve) => {
    const req = httpGet(url, { agent: false, signal: AbortSignal.timeout(250) }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => {
        const servedBy = res.headers['x-served-by']
        resolve({ status: res.statusCode ?? 0, body, ...(typeof servedBy === 'string' ? { servedBy } : {}) })
      })
      res.on('error', () => resolve(undefined))
    })
    req.on('error', () => resolve(undefined))
  })
}

/** Everything the suite made, so that `afterAll` can take it down however far the setup got. */
const fixture = {
  controller: new AbortController(),
  network: undefined as FrontNetwork | undefined,
  backend: undefined as Server | undefined,
  pair: undefined as VipPair | undefined,
  async setup(): Promise<{ network: FrontNetwork; pair: VipPair; backendUrl: string }> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(25_000)])
    const network = await createFrontNetwork({}, { signal })
    this.network = network
    // A backend in the root namespace, on its address on the bridge: the namespaces reach it there.
    const backend = createServer((_req, res) => res.end('backend'))
    this.backend = backend
    await new Promise<void>((resolve, reject) => {
      backend.once('error', reject).listen(0, network.clientAddress, () => resolve())
    })
    const backendUrl = `http://${network.clientAddress}:${(backend.address() as { port: number }).port}`
    this.pair = await startVipPair(network, { backends: [backendUrl], signal })
    return { network, pair: this.pair, backendUrl }
  },
  async teardown(setup: Promise<unknown> | undefined): Promise<void> {
    this.controller.abort(new Error('the suite is over'))
    await setup?.catch(() => undefined) // an aborted start stops what it started, then rejects
    await this.pair?.stop()
    await this.network?.destroy()
    await new Promise((resolve) => (this.backend ? this.backend.close(resolve) : resolve(undefined)))
  },
}

describe.skipIf(skipped !== undefined)(
  `a VIP held by keepalived across two nginx in two network namespaces${skipped ? ` (skipped: ${skipped}; it needs root and ip netns)` : ''}`,
  () => {
    let setup: ReturnType<typeof fixture.setup> | undefined
    let network: FrontNetwork
    let pair: VipPair

    beforeAll(async () => {
      setup = fixture.setup()
      ;({ network, pair } = await setup)
    }, 30_000)
    afterAll(() => fixture.teardown(setup), 30_000)

    it('lb1 holds the VIP; a client in the root namespace reaches it, and the backend through it', async () => {
      expect((await pair.holder({ signal: AbortSignal.timeout(5000) }))?.name).toBe('lb1')
      expect(await get(`${pair.url}/whoami`)).toMatchObject({ status: 200, body: 'lb1' })
      expect(await get(`${pair.url}/`)).toEqual({ status: 200, body: 'backend', servedBy: 'lb1' })
      expect(await get(`${pair.nodes[1].url}/whoami`)).toMatchObject({ status: 200, body: 'lb2' })
    })

    it("moves the VIP to lb2 when lb1's nginx is SIGKILLed, and lb2 goes on answering on it", async () => {
      const killedAt = performance.now()
      const killed = await pair.killNginx('lb1', { signal: AbortSignal.timeout(5000) })
      expect(killed.length).toBeGreaterThanOrEqual(2) // the master and its worker
      let answer = await get(`${pair.url}/whoami`)
      while (answer?.body !== 'lb2' && performance.now() - killedAt < 15_000) {
        await sleep(20)
        answer = await get(`${pair.url}/whoami`)
      }
      const seconds = (performance.now() - killedAt) / 1000
      console.log(`vip_moved_s: ${seconds.toFixed(2)} (the VIP answered lb2 after SIGKILL of lb1's nginx)`)
      expect(answer?.body).toBe('lb2')
      expect(seconds).toBeLessThan(15)
      expect((await pair.holder({ signal: AbortSignal.timeout(5000) }))?.name).toBe('lb2')

      for (let i = 0; i < 20; i++) {
        expect(await get(`${pair.url}/whoami`)).toMatchObject({ status: 200, body: 'lb2' })
      }
      expect(await get(`${pair.url}/`)).toEqual({ status: 200, body: 'backend', servedBy: 'lb2' })
    }, 25_000)

    it('stop and destroy leave no process, link or namespace behind, and a second destroy is a no-op', async () => {
      await pair.stop()
      const ours = readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .map((pid) => procInfo(Number(pid)))
        .filter((info) => info?.cmdline.includes(pair.dir))
      expect(ours).toEqual([])
      expect(existsSync(pair.dir)).toBe(false)
      await network.destroy()
      await network.destroy()
      const { stdout } = await run(ipBin, ['netns', 'list'])
      for (const ns of network.namespaces) expect(stdout).not.toContain(ns)
      expect(existsSync(`/sys/class/net/${network.clientInterface}`)).toBe(false)
    }, 20_000)
  },
)
