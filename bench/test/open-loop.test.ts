import { describe, expect, it } from 'vitest'
import { runClosedLoop } from '../src/loadgen/closed-loop.js'
import { type OpenLoopOptions, runOpenLoop } from '../src/loadgen/open-loop.js'
import type { RequestSpec } from '../src/loadgen/request.js'
import { parseWrkOutput } from '../src/loadgen/wrk.js'
import { searchMst } from '../src/mst/search.js'
import { startQueueServer } from './fixtures/queue-server.js'

const get = (endpoint: string): RequestSpec => ({
  endpoint,
  method: 'GET',
  path: `/${endpoint}`,
  page: endpoint === 'page' || endpoint === 'empty',
})

const base = (baseUrl: string): OpenLoopOptions => ({
  baseUrl,
  ratePerSecond: 200,
  warmupMs: 200,
  durationMs: 1000,
  drainMs: 2000,
  arrival: 'constant',
  connections: 64,
  timeoutMs: 10_000,
  maxInFlight: 10_000,
  seed: 1,
  source: () => get('ok'),
})
const signal = new AbortController().signal

describe('open-loop sender', () => {
  it('sends the constant-rate schedule and counts per endpoint, status and empty page', async () => {
    await using server = await startQueueServer()
    const kinds = ['page', 'empty', 'fail', 'page', 'empty']
    const step = await runOpenLoop(
      { ...base(server.baseUrl), source: (random) => get(kinds[random.int(0, kinds.length - 1)]!) },
      signal,
    )
    expect(step.scheduled).toBeGreaterThanOrEqual(199)
    expect(step.scheduled).toBeLessThanOrEqual(201)
    const { page, empty, fail } = step.endpoints
    expect(page!.ok + empty!.ok + fail!.errors).toBe(step.scheduled)
    expect(fail!.ok).toBe(0)
    expect(step.errors_by_status).toEqual({ '503': fail!.errors })
    expect(step.error_rate).toBeCloseTo(fail!.errors / step.scheduled, 10)
    expect(page!.pages).toBe(page!.ok)
    expect(page!.empty_pages).toBe(0)
    expect(empty!.empty_pages).toBe(empty!.ok)
    expect(step.pages).toBe(page!.ok + empty!.ok)
    expect(step.latency.count).toBe(step.scheduled)
    // Warm-up requests are sent but not recorded.
    expect(server.received()).toBeGreaterThan(step.scheduled)
  })

  it('measures from the intended send time, so a server stall shows in the tail (no coordinated omission)', async () => {
    await using server = await startQueueServer()
    const options = { ...base(server.baseUrl), durationMs: 1500 }
    const stallAt = setTimeout(() => server.stall(500), options.warmupMs + 400)
    const step = await runOpenLoop(options, signal)
    clearTimeout(stallAt)
    // ~100 requests were due during the 500 ms stall; they waited up to 500 ms from their intended time.
    expect(step.latency.max_ms).toBeGreaterThanOrEqual(400)
    expect(step.latency.p99_ms).toBeGreaterThanOrEqual(300)
    expect(step.completion_ratio).toBe(1)
  })

  it('counts requests still unanswered after the drain as unfinished', async () => {
    await using server = await startQueueServer()
    const options = { ...base(server.baseUrl), drainMs: 200 }
    const stallAt = setTimeout(() => server.stall(5000), options.warmupMs + 700)
    const step = await runOpenLoop(options, signal)
    clearTimeout(stallAt)
    expect(step.errors_by_status['unfinished']).toBeGreaterThan(0)
    expect(step.completion_ratio).toBeLessThan(0.99)
  })

  it('lets the MST search find the capacity of a server that serves 200 req/s', async () => {
    await using server = await startQueueServer(5)
    const capacity = 200
    const { mst, steps } = await searchMst(
      (rate, s) =>
        runOpenLoop(
          { ...base(server.baseUrl), ratePerSecond: rate, arrival: 'poisson', warmupMs: 300, drainMs: 500 },
          s,
        ),
      { slosMs: [50], startRate: 50, growth: 3, minRate: 10, maxRate: 10_000, precision: 0.15, maxSteps: 7 },
      signal,
    )
    // Above capacity the server cannot keep up: the step fails on throughput, not only on latency.
    for (const s of steps.filter((s) => s.rate >= capacity)) expect(s.sustains['50']).toBe(false)
    const far = steps.filter((s) => s.rate >= capacity * 1.5)
    expect(far.length).toBeGreaterThan(0)
    for (const s of far) expect(s.outcome.completion_ratio).toBeLessThan(0.99)
    // The MST can never exceed the capacity; the wide lower bound leaves room for a loaded machine.
    expect(mst['50']).toBeLessThanOrEqual(capacity * 1.05)
    expect(mst['50']).toBeGreaterThanOrEqual(capacity * 0.3)
  })

  it('runs a closed loop that only counts answers inside the window', async () => {
    await using server = await startQueueServer(2)
    const result = await runClosedLoop(
      {
        baseUrl: server.baseUrl,
        connections: 4,
        warmupMs: 200,
        durationMs: 800,
        timeoutMs: 5000,
        seed: 1,
        source: () => get('ok'),
      },
      signal,
    )
    // A 2 ms single queue serves at most 500 req/s whatever the number of clients.
    expect(result.rps).toBeGreaterThan(0)
    expect(result.rps).toBeLessThanOrEqual(520)
    expect(result.errors).toBe(0)
  })
})

describe('parseWrkOutput', () => {
  it('reads Requests/sec, latency percentiles and errors', () => {
    const out = `Running 5s test @ http://127.0.0.1:8080/ceiling
  1 threads and 50 connections
  Latency Distribution
     50%  602.00us
     75%  800.00us
     90%    1.20ms
     99%    3.51ms
  52000 requests in 5.00s, 60.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  10400.12
Transfer/sec:     12.00MB`
    expect(parseWrkOutput(out)).toEqual({ rps: 10400.12, p50_ms: 0.602, p99_ms: 3.51, errors: 7 })
  })
})
