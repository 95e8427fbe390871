import * as diagnostics from 'node:diagnostics_channel'
import { BALANCE_CHANNELS, Balancer, type EjectEvent, type Picker } from '@hundredfold/balance'
import { afterEach, describe, expect, it } from 'vitest'
import { refusedOrigin, startServer, type TestServer } from './servers.js'

let servers: TestServer[] = []
let balancer: Balancer | undefined
const events: EjectEvent[] = []
const onEject = (event: unknown) => events.push(event as EjectEvent)
diagnostics.subscribe(BALANCE_CHANNELS.eject, onEject)

afterEach(async () => {
  await balancer?.destroy()
  balancer = undefined
  await Promise.all(servers.map((s) => s.close()))
  servers = []
  events.length = 0
})

/** Picks `origin` whenever it is a candidate: drives tries to one endpoint on purpose. */
const prefer = (origin: string): Picker => ({
  name: 'prefer',
  pick: (candidates) => candidates.find((e) => e.origin === origin) ?? candidates[0],
})

describe('outlier ejection', () => {
  it('ejects after consecutive failures for base × 2^(n-1), capped, and readmits with slow start', async () => {
    const good = await startServer('good')
    servers = [good]
    const dead = await refusedOrigin()
    let now = 0
    balancer = new Balancer({
      endpoints: [dead, good.origin],
      picker: prefer(dead),
      retry: false,
      outlierEjection: { consecutiveFailures: 2, baseEjectionMs: 1_000, maxEjectionMs: 8_000 },
      now: () => now,
    })
    const state = () => balancer!.endpoints().find((e) => e.origin === dead)!
    const ejectedMs: number[] = []
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 2; i++) await balancer.request({ path: '/', method: 'GET' }).catch(() => {})
      expect(state().state).toBe('ejected')
      ejectedMs.push(events.at(-1)!.ejectedMs)
      // While ejected, traffic goes elsewhere.
      const { body } = await balancer.request({ path: '/', method: 'GET' })
      expect(await body.text()).toBe('good')
      now += ejectedMs.at(-1)!
      expect(state().state).toBe('active')
      expect(state().slowStart).toBeLessThan(1)
    }
    expect(ejectedMs).toEqual([1_000, 2_000, 4_000, 8_000, 8_000])
    expect(state().ejections).toBe(5)
  })

  it('never ejects more than maxEjectedPercent of the endpoints', async () => {
    const good = await startServer('good')
    servers = [good]
    const dead = await Promise.all([refusedOrigin(), refusedOrigin(), refusedOrigin()])
    balancer = new Balancer({
      endpoints: [...dead, good.origin],
      picker: { name: 'first', pick: (candidates) => candidates[0] },
      retry: false,
      outlierEjection: { consecutiveFailures: 1 },
      maxEjectedPercent: 50,
    })
    for (let i = 0; i < 6; i++) await balancer.request({ path: '/', method: 'GET' }).catch(() => {})
    const states = balancer.endpoints().map((e) => e.state)
    expect(states.filter((s) => s === 'ejected')).toHaveLength(2)
    expect(balancer.panic).toBe(false)
  })
})
