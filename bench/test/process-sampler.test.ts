import { describe, expect, it } from 'vitest'
import { type ProcStat, parseMachineBusySeconds, parseProcStat } from '../src/machine/cpu.js'
import { type ProcReader, parseRssBytes } from '../src/machine/proc-reader.js'
import { groupProcesses } from '../src/machine/process-groups.js'
import { type CpuSnapshot, cpuSecondsBetween, processSampler } from '../src/machine/process-sampler.js'
import { parseServerMetrics } from '../src/machine/server-metrics.js'

const BENCH = 100
const SERVER = 200

/** A machine whose processes and CPU the test sets by hand; no /proc, no clock. */
function fakeMachine() {
  const processes = new Map<number, ProcStat>()
  const rss = new Map<number, number>()
  const state = { machine: 0, own: 0 }
  const put = (pid: number, ppid: number, comm: string, cpuSeconds: number): void => {
    processes.set(pid, { pid, ppid, comm, cpuSeconds })
  }
  const reader: ProcReader = {
    ownPid: BENCH,
    processes: async () => [...processes.values()].map((p) => ({ ...p })),
    machineBusySeconds: async () => state.machine,
    rssBytes: async (pid) => rss.get(pid),
    ownCpuSeconds: () => state.own,
  }
  return { reader, processes, rss, state, put }
}

const snapshot = (machine: number | undefined, pids: Array<[number, string, number]>): CpuSnapshot => ({
  at: 0,
  machine,
  pids: new Map(pids.map(([pid, group, seconds]) => [pid, { group: group as 'server', seconds }] as const)),
})

describe('process groups', () => {
  it('claims the server and consumer subtrees before the sender, and the stores by command name', () => {
    const stats: ProcStat[] = [
      { pid: 1, ppid: 0, comm: 'init', cpuSeconds: 0 },
      { pid: BENCH, ppid: 1, comm: 'node', cpuSeconds: 0 },
      { pid: SERVER, ppid: BENCH, comm: 'node', cpuSeconds: 0 },
      { pid: 201, ppid: SERVER, comm: 'node', cpuSeconds: 0 },
      { pid: 202, ppid: BENCH, comm: 'node', cpuSeconds: 0 },
      { pid: 300, ppid: BENCH, comm: 'wrk', cpuSeconds: 0 },
      { pid: 400, ppid: 1, comm: 'postgres', cpuSeconds: 0 },
      { pid: 401, ppid: 400, comm: 'postgres', cpuSeconds: 0 },
      { pid: 500, ppid: 1, comm: 'redis-server', cpuSeconds: 0 },
      { pid: 600, ppid: 1, comm: 'nats-server', cpuSeconds: 0 },
      { pid: 700, ppid: 1, comm: 'bash', cpuSeconds: 0 },
    ]
    const groups = groupProcesses(stats, { serverPids: [SERVER], consumerPids: [202], senderPid: BENCH })
    expect(Object.fromEntries(groups)).toEqual({
      [BENCH]: 'sender',
      [SERVER]: 'server',
      201: 'server',
      202: 'consumers',
      300: 'sender',
      400: 'postgres',
      401: 'postgres',
      500: 'redis',
      600: 'nats',
    })
  })
})

describe('CPU between two snapshots', () => {
  it('sums per-process deltas per group and leaves the rest of the machine to other', () => {
    const start = snapshot(100, [
      [SERVER, 'server', 10],
      [400, 'postgres', 5],
      [401, 'postgres', 1],
      [BENCH, 'sender', 3],
    ])
    const end = snapshot(104, [
      [SERVER, 'server', 11.5],
      [400, 'postgres', 5.5],
      [402, 'postgres', 0.25], // born in between: counts from zero
      [BENCH, 'sender', 3.5],
    ])
    // 401 exited in between: what it used is lost to `other`.
    expect(cpuSecondsBetween(start, end)).toEqual({
      server: 1.5,
      consumers: null,
      proxy: null,
      postgres: 0.75,
      redis: null,
      nats: null,
      sender: 0.5,
      other: 1.25,
      total: 4,
    })
  })

  it('without /proc/stat, total is the groups’ sum and other is unknown', () => {
    const start = snapshot(undefined, [[SERVER, 'server', 1]])
    const end = snapshot(undefined, [
      [SERVER, 'server', 2],
      [500, 'redis', 0.5],
    ])
    const figures = cpuSecondsBetween(start, end)
    expect(figures.total).toBe(1.5)
    expect(figures.other).toBeNull()
    expect(figures.redis).toBe(0.5)
  })

  it('never reports negative CPU when the groups’ ticks overrun the machine’s', () => {
    const figures = cpuSecondsBetween(
      snapshot(10, [[SERVER, 'server', 1]]),
      snapshot(10.01, [[SERVER, 'server', 1.02]]),
    )
    expect(figures.other).toBe(0)
    expect(figures.total).toBeCloseTo(0.01)
  })
})

describe('processSampler', () => {
  it('turns the window’s snapshots into µs per request, cores, RSS, heap and loop delay', async () => {
    const m = fakeMachine()
    m.put(BENCH, 1, 'node', 0)
    m.put(SERVER, BENCH, 'node', 20)
    m.put(400, 1, 'postgres', 7)
    m.put(500, 1, 'redis-server', 2)
    m.put(600, 1, 'nats-server', 1)
    m.rss.set(SERVER, 300 * 2 ** 20)
    m.state.machine = 1000
    m.state.own = 4
    const scrapes: string[] = []
    let clock = 5000
    const sampler = processSampler({
      serverPids: [SERVER],
      metricsUrl: 'http://127.0.0.1:1/metrics',
      reader: m.reader,
      now: () => clock,
      scrape: async (url) => {
        scrapes.push(url)
        return [
          '# HELP nodejs_heap_size_used_bytes Process heap size used from Node.js in bytes.',
          `nodejs_heap_size_used_bytes ${64 * 2 ** 20}`,
          'nodejs_eventloop_lag_p99_seconds 0.0125',
          'nodejs_heap_space_size_used_bytes{space="old"} 1',
        ].join('\n')
      },
    })
    const signal = new AbortController().signal
    const step = sampler.step(signal)
    step.opened() // the fake machine is read when the snapshot starts
    clock += 2000
    m.put(SERVER, BENCH, 'node', 21) // +1 s
    m.put(400, 1, 'postgres', 7.5) // +0.5 s
    m.put(500, 1, 'redis-server', 2.1) // +0.1 s
    m.put(600, 1, 'nats-server', 1.2) // +0.2 s
    m.state.own = 4.4 // +0.4 s
    m.state.machine = 1002.4 // +2.4 s: 0.2 s of it outside the groups
    step.closed()
    const usage = await step.finish(1000, signal)
    expect(usage.cpu_us_per_request).toEqual({
      server: 1000,
      consumers: null,
      proxy: null,
      postgres: 500,
      redis: 100,
      nats: 200,
      sender: 400,
      other: 200,
      total: 2400,
    })
    expect(usage.cpu_cores).toEqual({
      server: 0.5,
      consumers: null,
      proxy: null,
      postgres: 0.25,
      redis: 0.05,
      nats: 0.1,
      sender: 0.2,
      other: 0.1,
      total: 1.2,
    })
    expect(usage.cpu_requests).toBe(1000)
    expect(usage.server_rss_mb).toBe(300)
    expect(usage.server_heap_used_mb).toBe(64)
    expect(usage.server_loop_delay_p99_ms).toBe(12.5)
    // One scrape at the window's start (it resets the loop-delay histogram) and one at its end.
    expect(scrapes).toEqual(['http://127.0.0.1:1/metrics', 'http://127.0.0.1:1/metrics'])
  })

  it('gives nulls when the window never opened, no response arrived, or the server has no /metrics', async () => {
    const m = fakeMachine()
    const sampler = processSampler({ serverPids: [], reader: m.reader, scrape: async () => undefined })
    const signal = new AbortController().signal
    const never = await sampler.step(signal).finish(10, signal)
    expect(never.cpu_us_per_request.total).toBeNull()
    const step = sampler.step(signal)
    step.opened()
    step.closed()
    const silent = await step.finish(0, signal)
    expect(Object.values(silent.cpu_us_per_request).every((v) => v === null)).toBe(true)
    expect(silent.server_rss_mb).toBeNull()
    expect(silent.server_heap_used_mb).toBeNull()
    expect(silent.server_loop_delay_p99_ms).toBeNull()
  })
})

describe('/proc and /metrics parsing', () => {
  it('reads a stat line whose command name holds spaces and parentheses', () => {
    const line = '4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 125 0 0 20 0 3 0 1 1 1'
    expect(parseProcStat(line)).toEqual({ pid: 4242, ppid: 17, comm: 'my (odd) cmd', cpuSeconds: 3.75 })
    expect(parseProcStat('garbage')).toBeUndefined()
  })

  it('reads busy time from /proc/stat without idle and iowait', () => {
    expect(parseMachineBusySeconds('cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 1 2 3 4\n')).toBe(1.6)
  })

  it('reads VmRSS in kB as bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmRSS:\t  2048 kB\nThreads:\t11\n')).toBe(2048 * 1024)
    expect(parseRssBytes('Name:\tkthreadd\n')).toBeUndefined()
  })

  it('takes unlabelled samples by prom-client name and leaves missing ones null', () => {
    const parsed = parseServerMetrics(
      'process_resident_memory_bytes 1048576\nnodejs_heap_size_total_bytes NaN\n',
    )
    expect(parsed).toEqual({
      heap_used_bytes: null,
      heap_total_bytes: null,
      loop_delay_p99_seconds: null,
      resident_bytes: 1048576,
    })
  })

  it('reads the event-loop delay p99 less the sampling interval the server reports', () => {
    const exposition =
      'nodejs_eventloop_lag_p99_seconds 0.016\nnodejs_eventloop_lag_resolution_seconds 0.01\n'
    expect(parseServerMetrics(exposition).loop_delay_p99_seconds).toBeCloseTo(0.006, 9)
    // A server that does not say (prom-client): the figure as it is.
    expect(parseServerMetrics('nodejs_eventloop_lag_p99_seconds 0.016\n').loop_delay_p99_seconds).toBe(0.016)
  })
})
