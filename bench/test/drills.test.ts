import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { judgeDefaults } from '@hundredfold/stack'
import { describe, expect, it } from 'vitest'
import { ALL_DRILLS, seedAvailability } from '../src/drills/all.js'
import { rolloutMetrics } from '../src/drills/canary-bad.js'
import { grew, meanRate, peakRate, sumCounters } from '../src/drills/counter-sampler.js'
import { judgeFloors } from '../src/drills/drill.js'
import { runDrillLoad } from '../src/drills/drill-load.js'
import { drillMarkPrefix, markedDsbSource, markOf } from '../src/drills/drill-writes.js'
import { DRILLS, findDrill } from '../src/drills/registry.js'
import { failuresByOutcome, mttrSeconds } from '../src/drills/stack-drill.js'
import { probeSyncWrites } from '../src/drills/write-probe.js'
import { createRandom } from '../src/random.js'
import { DSB_MIX } from '../src/workloads/dsb.js'

const signal = new AbortController().signal

/** A server that answers 200, but while `cutting` destroys the socket of each request without answering. */
async function cuttableServer(): Promise<{ url: string; cut(on: boolean): void; close(): Promise<void> }> {
  let cutting = false
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      if (cutting) req.socket.destroy()
      else res.end('[]')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    cut: (on) => {
      cutting = on
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

describe('drills', () => {
  it('are registered by the names the issue gives', () => {
    expect(DRILLS.map((drill) => drill.name)).toEqual([
      'rolling-restart',
      'kill-app',
      'kill-primary',
      'kill-vip-holder',
      'kill-redis',
      'kill-id-service',
      'kill-nats-node',
      'lag-replica',
      'partition-replica',
      'overload',
      'canary-bad',
    ])
    expect(findDrill('kill-app')?.description).toMatch(/kill -9/)
  })

  it('run by `all` are registered, and each has floors', () => {
    for (const name of ALL_DRILLS) expect(findDrill(name), name).toBeDefined()
    for (const drill of DRILLS) expect(Object.keys(drill.floors).length, drill.name).toBeGreaterThan(0)
    expect(findDrill('kill-primary')?.floors).toEqual({
      writes_resumed_s: { max: 15 },
      acked_writes_lost: { max: 0 },
    })
  })

  it('partition-replica: out of rotation within 3 s, back within 10 s, no probe read failed or waited 2 s', () => {
    expect(ALL_DRILLS).toContain('partition-replica')
    expect(findDrill('partition-replica')?.floors).toEqual({
      left_rotation_s: { max: 3 },
      rejoined_s: { max: 10 },
      failed_request_rate: { max: 0.001 },
      probe_read_failures: { max: 0 },
      probe_read_slowest_ms_cut: { max: 2_000 },
      acked_writes_lost: { max: 0 },
    })
  })

  it('canary-bad: the bad build’s 500s at most its 1% share of the traffic, rolled back, no canary left', () => {
    expect(ALL_DRILLS.at(-1)).toBe('canary-bad')
    expect(findDrill('canary-bad')?.floors).toEqual({
      bad_requests_share: { max: 0.01 },
      rolled_back: { min: 1 },
      canary_processes_left: { max: 0 },
      acked_writes_lost: { max: 0 },
    })
    const figures = (requests: number, errors: number) => ({
      requests,
      errors,
      p99Ms: 5,
      errorRate: errors / requests,
    })
    const metrics = rolloutMetrics({
      id: 'x',
      build: '/gone/build',
      canaryApps: 1,
      plannedSteps: [1, 10, 50, 100],
      stepS: 20,
      rules: judgeDefaults,
      startedAt: '',
      steps: [
        {
          sharePct: 1,
          heldS: 6.5,
          action: 'rollback',
          reason: 'r',
          canary: figures(21, 16),
          baseline: { ...figures(2300, 0), source: 'step' },
        },
      ],
      canaryProcesses: [{ name: 'canary-1', pid: process.pid, port: 1 }],
      outcome: 'rolled-back',
      served: { canary: figures(25, 18), baseline: figures(2375, 0) },
      exposedS: 6.7,
      rollbackS: 0.2,
    })
    expect(metrics).toMatchObject({
      rolled_back: 1,
      steps_reached: 1,
      detected_after_s: 6.5,
      bad_requests_served: 18,
      requests_during_canary: 2400,
      canary_traffic_share: 0.01042,
      bad_requests_share: 0.0075,
      // This process is alive, but it does not run the build: not a canary left behind.
      canary_processes_left: 0,
    })
  })

  it('judge floors: at most, at least, and a key missing or not a number fails', () => {
    const verdicts = judgeFloors(
      { a: { max: 0 }, b: { min: 0.9 }, c: { max: 1 }, d: { max: 1 } },
      { a: 0, b: 0.8, d: 'x' },
    )
    expect(verdicts.map((v) => [v.key, v.met])).toEqual([
      ['a', true],
      ['b', false],
      ['c', false],
      ['d', false],
    ])
    expect(verdicts[2]!.value).toBeNull()
  })

  it('give an availability the seed’s way: the product of MTBF / (MTBF + MTTR) over the failures', () => {
    expect(seedAvailability([], 100)).toBe(1)
    expect(seedAvailability([0, 0], 100)).toBe(1)
    expect(seedAvailability([100], 100)).toBe(0.5)
    expect(seedAvailability([15, 2], 2_592_000)).toBeCloseTo(1 - 17 / 2_592_000, 9)
  })

  it('mark every compose with a mark of its own, and leave reads alone', () => {
    const source = markedDsbSource(DSB_MIX, 962, 'abcd')
    const random = createRandom(3)
    const marks: string[] = []
    for (let i = 0; i < 500; i++) {
      const spec = source(random)
      const event = { intended: 0, at: 0, spec, status: 200, outcome: '200' }
      const mark = markOf(event)
      if (spec.endpoint === 'compose') {
        expect(mark).toMatch(new RegExp(`^${drillMarkPrefix('abcd')}\\d+$`))
        marks.push(mark!)
        expect(new URLSearchParams(spec.body).get('user_id')).toMatch(/^\d+$/)
      } else {
        expect(mark).toBeUndefined()
      }
    }
    expect(marks.length).toBeGreaterThan(20)
    expect(new Set(marks).size).toBe(marks.length)
  })

  it('resend a read once when its connection is cut, never a compose, and count what failed', async () => {
    const server = await cuttableServer()
    try {
      let n = 0
      // Reads and writes alternate; the action cuts every connection for a moment.
      const load = await runDrillLoad(
        {
          baseUrl: server.url,
          ratePerSecond: 200,
          seed: 1,
          beforeMs: 300,
          afterMs: 300,
          source: () =>
            n++ % 2 === 0
              ? { endpoint: 'home', method: 'GET', path: '/home' }
              : { endpoint: 'compose', method: 'POST', path: '/compose', body: 'text=x' },
          action: async () => {
            server.cut(true)
            await new Promise((resolve) => setTimeout(resolve, 200))
            server.cut(false)
          },
          connections: 8,
          timeoutMs: 2000,
        },
        signal,
      )
      expect(load.actionEnd).toBeGreaterThan(load.actionStart)
      expect(load.unfinished).toBe(0)
      const failures = failuresByOutcome(load.events)
      const failedReads = load.events.filter((e) => e.spec.method === 'GET' && e.status !== 200)
      const failedWrites = load.events.filter((e) => e.spec.method === 'POST' && e.status !== 200)
      // Writes sent while cut fail (never resent); reads were resent, and a read fails only when its
      // second try was cut too.
      expect(failedWrites.length).toBeGreaterThan(0)
      expect(load.resends).toBeGreaterThan(0)
      expect(Object.keys(failures).every((key) => /^(compose|home) /.test(key))).toBe(true)
      expect(failedReads.length).toBeLessThanOrEqual(load.resends)
      expect(load.events.filter((e) => e.status === 200).length).toBeGreaterThan(50)
    } finally {
      await server.close()
    }
  })
})

describe('drill figures', () => {
  const at = (endpoint: string, intended: number, answered: number, status: number) => ({
    intended,
    at: answered,
    status,
    outcome: String(status),
    spec: { endpoint, method: endpoint === 'compose' ? ('POST' as const) : ('GET' as const), path: '/' },
  })
  const load = (events: ReturnType<typeof at>[]) => ({
    events,
    actionStart: 1000,
    actionEnd: 2000,
    unfinished: 0,
    resends: 0,
  })

  it('mttr_s runs from the fault to the answer of the last failed request', () => {
    expect(mttrSeconds(load([at('home', 900, 950, 503), at('home', 1200, 1300, 200)]))).toBe(0)
    expect(
      mttrSeconds(
        load([at('home', 1100, 1250, 503), at('user', 3000, 3500, 502), at('home', 4000, 4001, 200)]),
      ),
    ).toBe(2.5)
  })

  it('probeSyncWrites: from the kill to the first sign-up that succeeds after one failed', async () => {
    let n = 0
    const usernames: string[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk) => (body += chunk))
      req.on('end', () => {
        usernames.push(new URLSearchParams(body).get('username') ?? '')
        res.writeHead(++n <= 1 || n > 3 ? 200 : 503).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const probe = await probeSyncWrites(url, 'probe-t', performance.now(), {
        signal: AbortSignal.timeout(10_000),
        everyMs: 1,
      })
      expect(probe).toMatchObject({ attempts: 4, failures: 2 })
      expect(probe.resumedS).toBeGreaterThan(0)
      expect(usernames).toEqual(['probe-t-0', 'probe-t-1', 'probe-t-2', 'probe-t-3'])
    } finally {
      server.close()
    }
  })

  it('sums counters over processes and series, a label selecting series, and finds their peak rate', () => {
    const one =
      '# TYPE db_queries_total counter\ndb_queries_total{host="a",route="read"} 10\ndb_queries_total{host="a",route="write"} 5\nhome_timeline_reads_total{source="rebuild"} 3\nhome_timeline_reads_total{source="store"} 40\ndb_queries_total_other 99'
    const two = 'db_queries_total{host="b",route="read"} 1'
    expect(
      sumCounters([one, two], ['db_queries_total', 'home_timeline_reads_total{source="rebuild"}']),
    ).toEqual({
      db_queries_total: 16,
      'home_timeline_reads_total{source="rebuild"}': 3,
    })
    const samples = [0, 10, 40, 50].map((v, i) => ({ at: i * 500, values: { q: v } }))
    expect(peakRate(samples, 'q')).toBe(60)
    expect(meanRate(samples, 'q', 0, 1500)).toBe(33)
    expect(grew(samples, 'q')).toBe(50)
    expect(grew(samples.slice(0, 1), 'q')).toBe(0)
  })
})
