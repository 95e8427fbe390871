import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  abortCanary,
  canaryRelease,
  readStackState,
  type StackState,
  stackDown,
  stackStatus,
  stackUp,
  writeFaultyBuild,
} from '@hundredfold/stack'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freeBlock } from './free-block.js'

const STACK_ENV = { HF_LOG_LEVEL: 'warn', HF_DB_POOL_MAX: '4', HF_NAMESPACE: 'canarytest' }

/**
 * PostgreSQL, Redis, NATS and its monitor, the ID services, the canary, the app; and nginx's. The blocks
 * (10000–16960) are apart from the other stack tests' and below the default stack's 18000.
 */
const offsets = [0, 10, 20, 21, 30, 31, 50, 100]
const frontOffset = 160

/** A read every ~20 ms from each of two clients through nginx, until stopped: the traffic a canary is judged on. */
function startTraffic(front: string) {
  // A new connection per request: a kept-alive client connection an old nginx worker closes on reload
  // (every step is one) is the client's race, not a request the rollout lost.
  const agent = new Agent({ pipelining: 0 })
  const answers: Array<{ at: number; status: number | string }> = []
  let stop = false
  const client = async () => {
    while (!stop) {
      try {
        const res = await request(`${front}/api/v1/usernames/nobody_here`, {
          dispatcher: agent,
          signal: AbortSignal.timeout(10_000),
        })
        await res.body.dump()
        answers.push({ at: Date.now(), status: res.statusCode })
      } catch (err) {
        answers.push({ at: Date.now(), status: (err as Error).message })
      }
      await sleep(20)
    }
  }
  const clients = [client(), client()]
  return {
    answers,
    async stop() {
      stop = true
      await Promise.all(clients)
      await agent.close()
    },
  }
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('npm run stack -- canary: a gray release on a small stack (1 app)', () => {
  let dir: string
  let state: StackState

  beforeAll(async () => {
    dir = await mkdtemp(join('/var/tmp', 'hf-canary-test-'))
    const basePort = await freeBlock([...offsets, frontOffset], { from: 10_000, step: 200, blocks: 35 })
    const result = await stackUp({
      dir,
      apps: 1,
      replicas: 0,
      consumers: 0,
      basePort,
      port: basePort + frontOffset,
      drainMs: 200,
      env: STACK_ENV,
      healthTimeoutMs: 40_000,
    })
    state = result.state
  }, 120_000)

  afterAll(async () => {
    if (dir) {
      await stackDown(dir, { purge: true }).catch((err: unknown) => console.error('stack down failed', err))
      await rm(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it('rolls a build that fails every API request back at its first step: share 0, canary stopped', async () => {
    const build = await writeFaultyBuild(join(dir, 'builds/faulty'), { failPrefixes: ['/api/'] })
    const traffic = startTraffic(state.frontUrl)
    let pid: number | undefined
    let record: Awaited<ReturnType<typeof canaryRelease>>
    try {
      await sleep(300)
      const rollout = canaryRelease({
        dir,
        build,
        share: '25%',
        stepMs: 2000,
        pollMs: 200,
        rules: { minRequests: 10 },
        healthTimeoutMs: 30_000,
      })
      // While it runs, status shows the canary process and its share.
      await expect
        .poll(async () => (await readStackState(dir))?.canary?.sharePct, { timeout: 30_000, interval: 100 })
        .toBe(25)
      pid = (await readStackState(dir))?.canary?.apps[0]?.pid
      expect(alive(pid)).toBe(true)
      record = await rollout
      await sleep(500)
    } finally {
      await traffic.stop()
    }
    expect(record.outcome).toBe('rolled-back')
    expect(record.steps).toHaveLength(1)
    expect(record.steps[0]).toMatchObject({ sharePct: 25, action: 'rollback' })
    expect(record.steps[0]!.reason).toMatch(/^5xx 100\.0% of \d+ vs baseline 0\.0%/)
    expect(record.served!.canary.errors).toBe(record.served!.canary.requests)
    expect(record.served!.canary.requests).toBeGreaterThanOrEqual(10)
    expect(record.served!.baseline.errors).toBe(0)
    // Rolled back mid-step, before the 2 s hold was over.
    expect(record.steps[0]!.heldS).toBeLessThan(2)

    // The canary process is gone, the split is out of nginx, and the stack is whole without it.
    expect(alive(pid)).toBe(false)
    const after = (await readStackState(dir))!
    expect(after.canary).toBeUndefined()
    expect(after.rollouts?.at(-1)).toMatchObject({ id: record.id, outcome: 'rolled-back' })
    expect(await readFile(join(dir, 'nginx/nginx.conf'), 'utf8')).not.toContain('split_clients')
    const status = await stackStatus(dir)
    expect(status.processes.map((p) => p.name)).not.toContain('canary-1')
    expect(status.healthy).toBe(true)
    // Every answer after the rollback came from the app: a 404 for an unknown name, never the 500.
    const rolledBackAt = Date.parse(record.endedAt!)
    const late = traffic.answers.filter((a) => a.at > rolledBackAt)
    expect(late.length).toBeGreaterThan(0)
    expect(late.filter((a) => a.status !== 404)).toEqual([])
    // What the clients got as 500 is what the split log counted for the canary.
    expect(traffic.answers.filter((a) => a.status === 500)).toHaveLength(record.served!.canary.errors)
  }, 60_000)

  it('canary --abort rolls a running canary back through its controller', async () => {
    const build = await writeFaultyBuild(join(dir, 'builds/same'), { failPrefixes: [] })
    const traffic = startTraffic(state.frontUrl)
    try {
      const rollout = canaryRelease({ dir, build, share: 10, stepMs: 60_000, pollMs: 200 })
      await expect
        .poll(async () => (await readStackState(dir))?.canary?.sharePct, { timeout: 30_000, interval: 100 })
        .toBe(10)
      const pid = (await readStackState(dir))!.canary!.apps[0]!.pid
      const aborted = await abortCanary(dir)
      expect(aborted).toMatchObject({ outcome: 'aborted' })
      expect(aborted!.reason).toContain('canary --abort')
      expect(await rollout).toMatchObject({ id: aborted!.id, outcome: 'aborted' })
      expect(alive(pid)).toBe(false)
      expect((await readStackState(dir))!.canary).toBeUndefined()
      expect(await abortCanary(dir)).toBeUndefined()
    } finally {
      await traffic.stop()
    }
  }, 60_000)

  it('promotes a healthy build at 100%: the app is restarted on it and the canary taken out', async () => {
    const build = await writeFaultyBuild(join(dir, 'builds/good'), { failPrefixes: [] })
    const before = (await readStackState(dir))!.apps[0]!.pid
    const traffic = startTraffic(state.frontUrl)
    let record: Awaited<ReturnType<typeof canaryRelease>>
    try {
      record = await canaryRelease({
        dir,
        build,
        share: 50,
        steps: [100],
        stepMs: 1500,
        pollMs: 200,
        rules: { minRequests: 10 },
        healthTimeoutMs: 30_000,
      })
      await sleep(300)
    } finally {
      await traffic.stop()
    }
    expect(record.outcome, record.reason).toBe('promoted')
    expect(record.steps.map((s) => [s.sharePct, s.action])).toEqual([
      [50, 'advance'],
      [100, 'promote'],
    ])
    expect(record.steps[1]!.baseline.source).toBe('rollout')
    expect(record.promotedProcesses).toEqual(['app-1'])
    const after = (await readStackState(dir))!
    expect(after.microblogBuild).toBe(build)
    expect(after.canary).toBeUndefined()
    const app = after.apps[0]!
    expect(app.pid).not.toBe(before)
    expect(readFileSync(`/proc/${app.pid}/cmdline`, 'utf8')).toContain(join(build, 'dist/main.js'))
    expect(traffic.answers.filter((a) => a.status !== 404)).toEqual([])
    // A later up keeps the promoted build and reuses the app running it.
    const again = await stackUp({ dir, env: STACK_ENV, healthTimeoutMs: 30_000 })
    expect(again.outcomes.get('app-1')).toBe('reused')
    expect((await stackStatus(dir)).healthy).toBe(true)
  }, 60_000)
})
