import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Pool, request } from 'undici'
import { describe, expect, it } from 'vitest'
import { resolveOptions } from '../src/options.js'
import { findSuite } from '../src/registry.js'
import { writeResults } from '../src/results.js'
import { startBackendFleet } from '../src/suites/balance/backend-fleet.js'
import { runBalanceLoad } from '../src/suites/balance/balance-load.js'
import { writeBalanceReport } from '../src/suites/balance/balance-report.js'
import { experimentMetrics, floorChecks, resultsTable } from '../src/suites/balance/balance-results.js'
import { createContender, PICKERS } from '../src/suites/balance/contenders.js'
import { runExperiment } from '../src/suites/balance/experiment.js'
import { experimentOptions } from '../src/suites/balance/index.js'
import { classify, errorKind } from '../src/suites/balance/outcome.js'
import { PHASES, phaseAt, phaseSchedule } from '../src/suites/balance/phase-schedule.js'

const signal = new AbortController().signal

describe('balance suite: phase schedule', () => {
  it('splits the measured run into normal, slow and killed thirds', () => {
    expect(phaseSchedule(45_000)).toEqual([
      { name: 'normal', startMs: 0, endMs: 15_000 },
      { name: 'slow', startMs: 15_000, endMs: 30_000 },
      { name: 'killed', startMs: 30_000, endMs: 45_000 },
    ])
  })

  it('puts a request in the phase of its intended send time, none before or after the window', () => {
    const schedule = phaseSchedule(3000)
    expect(phaseAt(schedule, -1)).toBeUndefined()
    expect(phaseAt(schedule, 0)).toBe('normal')
    expect(phaseAt(schedule, 999.9)).toBe('normal')
    expect(phaseAt(schedule, 1000)).toBe('slow')
    expect(phaseAt(schedule, 2000)).toBe('killed')
    expect(phaseAt(schedule, 2999.9)).toBe('killed')
    expect(phaseAt(schedule, 3000)).toBeUndefined()
  })
})

describe('balance suite: success classification', () => {
  it('counts a 2xx as a success only within 1 s of its intended send time', () => {
    expect(classify({ status: 200, latencyMs: 1000, deadlineHit: false }, 1000)).toBe('ok')
    expect(classify({ status: 204, latencyMs: 3, deadlineHit: false }, 1000)).toBe('ok')
    expect(classify({ status: 200, latencyMs: 1000.1, deadlineHit: false }, 1000)).toBe('late')
  })

  it('keys other answers by status and client failures by kind, the deadline first', () => {
    expect(classify({ status: 503, latencyMs: 2, deadlineHit: false }, 1000)).toBe('503')
    expect(classify({ status: 302, latencyMs: 2, deadlineHit: false }, 1000)).toBe('302')
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })
    expect(classify({ status: 0, error: refused, latencyMs: 1, deadlineHit: false }, 1000)).toBe(
      'ECONNREFUSED',
    )
    expect(classify({ status: 0, error: new Error('abort'), latencyMs: 5000, deadlineHit: true }, 1000)).toBe(
      'deadline',
    )
    expect(errorKind(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe('socket')
    expect(errorKind(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe('timeout')
    expect(errorKind(new Error('wrapped', { cause: refused }))).toBe('ECONNREFUSED')
    expect(errorKind('not an error')).toBe('error')
  })
})

describe('balance suite: backends', () => {
  it('answers 200, slows one backend to a fixed latency and, killed, refuses new connections', async () => {
    await using fleet = await startBackendFleet({ backends: 2 }, signal)
    expect(fleet.origins).toHaveLength(2)
    const first = await request(fleet.origins[0]!)
    expect(first.statusCode).toBe(200)
    expect(await first.body.json()).toEqual({ backend: 0 })

    await fleet.setLatency(0, 300)
    const started = performance.now()
    const slow = await request(fleet.origins[0]!)
    await slow.body.dump()
    expect(performance.now() - started).toBeGreaterThanOrEqual(290)

    const counts = await fleet.kill(0)
    expect(counts).toEqual([2, 0])
    const refused = await request(fleet.origins[0]!, { reset: true }).catch((error: unknown) => error)
    expect(errorKind(refused)).toBe('ECONNREFUSED')
    const other = await request(fleet.origins[1]!)
    expect(other.statusCode).toBe(200)
    await other.body.dump()
  })
})

describe('balance suite: load', () => {
  it('ends every request by its deadline, counted as deadline, even when no backend answers', async () => {
    await using fleet = await startBackendFleet({ backends: 1 }, signal)
    await fleet.setLatency(0, 60_000)
    const pool = new Pool(fleet.origins[0]!)
    try {
      const result = await runBalanceLoad(
        {
          dispatcher: pool,
          ratePerSecond: 50,
          warmupMs: 0,
          durationMs: 600,
          arrival: 'constant',
          seed: 1,
          deadlineMs: 300,
          successMs: 1000,
        },
        signal,
      )
      expect(result.overall.requests).toBeGreaterThanOrEqual(29)
      expect(result.overall.ok).toBe(0)
      expect(result.overall.failures).toEqual({ deadline: result.overall.requests })
      expect(result.unfinished).toBe(0)
    } finally {
      await pool.destroy()
    }
  })

  it('runs the experiment against BalancedPool: every request lands in one phase, backend #0 gets none once killed', async () => {
    const log: string[] = []
    const runs = await runExperiment(
      {
        pickers: ['undici'],
        backends: 2,
        ratePerSecond: 100,
        warmupMs: 300,
        durationMs: 1500,
        arrival: 'constant',
        seed: 1,
        slowLatencyMs: 2000,
        deadlineMs: 5000,
        successMs: 1000,
        log: (line) => log.push(line),
      },
      signal,
    )
    expect(runs).toHaveLength(1)
    const run = runs[0]!
    expect(run.picker).toBe('undici')
    const result = run.result!
    expect(result.overall.requests).toBeGreaterThanOrEqual(149)
    expect(result.overall.requests).toBeLessThanOrEqual(151)
    const phases = PHASES.map((phase) => result.phases[phase])
    expect(phases.reduce((n, p) => n + p.requests, 0)).toBe(result.overall.requests)
    for (const figures of [result.overall, ...phases]) {
      const failed = Object.values(figures.failures).reduce((a, b) => a + b, 0)
      expect(figures.ok + failed).toBe(figures.requests)
      expect(figures.latency.count).toBe(figures.requests)
    }
    // Every normal-phase request was answered 2xx. On a busy machine some may be `late`, and a few
    // `socket`: a phase is a request's send time, but backend #0 is slow by the time a request reaches
    // it, so one sent at the end of the normal phase and read at the start of the slow one is still
    // waiting there when #0 is killed. Nothing else.
    const normal = result.phases.normal
    const normalFailures = Object.entries(normal.failures).filter(([, n]) => n > 0)
    expect(normalFailures.filter(([kind]) => kind !== 'late' && kind !== 'socket')).toEqual([])
    expect(normal.failures['socket'] ?? 0).toBeLessThanOrEqual(Math.ceil(normal.requests * 0.05))
    // Backend #0 answers after 2 s in the slow phase: round-robin-like BalancedPool cannot succeed there.
    expect(result.phases.slow.success_within_1s_rate).toBeLessThan(1)
    expect(run.backend_requests!.killed[0]).toBe(0)
    expect(run.backend_requests!.normal[0]).toBeGreaterThan(0)
    expect(Object.keys(result.phase_action_ms).sort()).toEqual(['killed', 'normal', 'slow'])

    const metrics = experimentMetrics(runs)
    for (const picker of PICKERS) {
      for (const key of ['success_within_1s_rate', 'p99_ms', 'p999_ms']) {
        expect(metrics).toHaveProperty(`${key}_${picker}`)
      }
    }
    expect(metrics['success_within_1s_rate_undici']).toBeCloseTo(result.overall.success_within_1s_rate, 5)
    expect(typeof metrics['p99_ms_undici']).toBe('number')
    expect(metrics['success_within_1s_rate_p2c_ewma']).toBeNull()
    const floors = floorChecks(metrics)
    expect(floors).toHaveLength(6)
    expect(floors.every((check) => !check.pass && check.actual === null)).toBe(true)
    expect(resultsTable(runs, metrics)).toContain('| undici |')
    expect(result.timeline).toHaveLength(2)
    expect(result.timeline.reduce((n, second) => n + second.requests, 0)).toBe(result.overall.requests)

    const outDir = await mkdtemp(join(tmpdir(), 'hf-balance-test-'))
    try {
      const file = await writeResults(
        'balance',
        { metrics: { ...metrics, duration_s: 1.5 }, extra: { runs } },
        { outDir },
      )
      const files = await writeBalanceReport(file)
      expect(files.map((path) => path.slice(outDir.length + 1))).toEqual([
        'balance.md',
        'balance.html',
        'balance.png',
      ])
      expect(files.every((path) => existsSync(path))).toBe(true)
      expect(await readFile(files[0]!, 'utf8')).toContain(
        'floor FAIL: success_within_1s_rate_p2c_ewma >= 0.999',
      )
    } finally {
      await rm(outDir, { recursive: true, force: true })
    }
  })
})

describe('balance suite: contenders', () => {
  it('builds each picker over the same origins, ours as a Balancer that reports every endpoint', async () => {
    const origins = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3']
    for (const picker of PICKERS) {
      const contender = createContender(picker, origins)
      try {
        expect(contender.name).toBe(picker)
        const snapshot = contender.snapshot()
        if (picker === 'undici') expect(snapshot).toEqual({ upstreams: origins })
        else expect((snapshot as { origin: string }[]).map((e) => e.origin)).toEqual(origins)
      } finally {
        await contender.close()
      }
    }
  })
})

describe('balance suite: options', () => {
  it('is registered and reads the kit default window as its own 45 s run at 1,000 req/s', () => {
    expect(findSuite('balance')).toBeDefined()
    const defaults = experimentOptions(resolveOptions({ log: () => {} }))
    expect(defaults).toMatchObject({
      backends: 10,
      ratePerSecond: 1000,
      durationMs: 45_000,
      slowLatencyMs: 2000,
    })
    expect(defaults.pickers).toEqual(['dynamic_weight', 'p2c_ewma', 'round_robin', 'undici'])
    const asked = experimentOptions(resolveOptions({ durationMs: 12_000, rate: 500, log: () => {} }))
    expect(asked).toMatchObject({ durationMs: 12_000, ratePerSecond: 500 })
  })

  it('scores a floor comparison as failed when ours does not beat the peer', () => {
    const metrics = {
      success_within_1s_rate_p2c_ewma: 0.9995,
      success_within_1s_rate_dynamic_weight: 0.998,
      success_within_1s_rate_round_robin: 0.9995,
      success_within_1s_rate_undici: 0.96,
    }
    const byFloor = Object.fromEntries(floorChecks(metrics).map((check) => [check.floor, check.pass]))
    expect(byFloor).toEqual({
      'success_within_1s_rate_p2c_ewma >= 0.999': true,
      'success_within_1s_rate_p2c_ewma > success_within_1s_rate_undici': true,
      'success_within_1s_rate_p2c_ewma > success_within_1s_rate_round_robin': false,
      'success_within_1s_rate_dynamic_weight >= 0.999': false,
      'success_within_1s_rate_dynamic_weight > success_within_1s_rate_undici': true,
      'success_within_1s_rate_dynamic_weight > success_within_1s_rate_round_robin': false,
    })
  })
})
