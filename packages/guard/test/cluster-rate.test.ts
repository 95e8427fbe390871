import { type ChildProcess, fork } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RateLimitAlgorithm } from '../src/rate-limit/index.js'
import type { TakerOrder, TakerReport } from './fixtures/cluster-taker.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const CHILD = fileURLToPath(new URL('./fixtures/cluster-taker.ts', import.meta.url))
const PROCESSES = 4
const CONCURRENCY = 16
const RATE = 200
const WINDOW_MS = 1_000
const BURST = 40
const DURATION_MS = 3_000
const TOLERANCE = 0.05

const prefix = `hf-test:guard-cluster:${randomBytes(4).toString('hex')}:`
const admin = new Redis(REDIS_URL)
const children: ChildProcess[] = []

beforeAll(async () => {
  for (let i = 0; i < PROCESSES; i++) {
    const child = fork(CHILD, [REDIS_URL, prefix], {
      execArgv: ['--import', 'tsx', '--conditions=@hundredfold/source'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.push(child)
  }
  await Promise.all(children.map(nextMessage))
}, 60_000)

afterAll(async () => {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || !child.connected) return
      const exited = once(child, 'exit')
      child.send('exit')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(timer)
    }),
  )
  const keys = await admin.keys(`${prefix}*`)
  if (keys.length > 0) await admin.del(...keys)
  await admin.quit()
})

/** The child's next message; rejects if it exits first. */
async function nextMessage<T>(child: ChildProcess): Promise<T> {
  const exited = new AbortController()
  try {
    const [message] = (await Promise.race([
      once(child, 'message', { signal: exited.signal }),
      once(child, 'exit', { signal: exited.signal }).then(([code]) => {
        throw new Error(`a taker exited with ${code}`)
      }),
    ])) as [T]
    return message
  } finally {
    exited.abort()
  }
}

async function serverMs(): Promise<number> {
  const [seconds, micros] = (await admin.time()) as unknown as [string, string]
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
}

/**
 * Every child hammers one key from the same Redis instant, a quarter into a fixed window (so the sliding
 * window's first window is known without doubt), and answers with its counts.
 */
async function hammer(algorithm: RateLimitAlgorithm, burst?: number): Promise<TakerReport[]> {
  const now = await serverMs()
  const startAt = (Math.floor(now / WINDOW_MS) + 1) * WINDOW_MS + WINDOW_MS / 4
  const order: TakerOrder = {
    algorithm,
    name: `cluster-${algorithm}`,
    key: 'shared',
    limit: RATE,
    windowMs: WINDOW_MS,
    ...(burst ? { burst } : {}),
    startAt: startAt < now + 300 ? startAt + WINDOW_MS : startAt,
    durationMs: DURATION_MS,
    concurrency: CONCURRENCY,
  }
  const reports = children.map(async (child) => {
    const report = await nextMessage<TakerReport | { error: string }>(child)
    if ('error' in report) throw new Error(`a taker failed: ${report.error}`)
    return report
  })
  for (const child of children) child.send(order)
  return Promise.all(reports)
}

function totals(reports: readonly TakerReport[]) {
  const firstLo = Math.min(...reports.map((r) => r.firstLo))
  const lastHi = Math.max(...reports.map((r) => r.lastHi))
  return {
    granted: reports.reduce((n, r) => n + r.granted, 0),
    refused: reports.reduce((n, r) => n + r.refused, 0),
    errors: reports.reduce((n, r) => n + r.errors, 0),
    firstLo,
    lastHi,
    spanMs: lastHi - firstLo,
  }
}

describe(`a cluster-wide limit across ${PROCESSES} processes on one Redis`, () => {
  it('token bucket: grants its burst plus rate × span, within 5%, and never more', async () => {
    const t = totals(await hammer('token-bucket', BURST))
    // The refill between the first and the last script run, both inside [firstLo, lastHi] on Redis time.
    const ceiling = BURST + Math.floor((RATE * t.spanMs) / WINDOW_MS)
    const byRate = (RATE * t.spanMs) / WINDOW_MS
    expect(t.errors).toBe(0)
    expect(t.refused).toBeGreaterThan(t.granted)
    expect(t.granted).toBeLessThanOrEqual(ceiling)
    expect(Math.abs(t.granted - BURST - byRate)).toBeLessThanOrEqual(TOLERANCE * byRate)
  }, 30_000)

  it('sliding window: grants rate × span plus the head start of its first window, within 5%, and never more', async () => {
    const t = totals(await hammer('sliding-window'))
    // A fresh key grants the whole limit in its first fixed window, then at most `limit × elapsed / w` more
    // in each one after (the previous window weighs `(w − elapsed) / w`): `rate × (end − first window's start)`.
    const firstWindowStart = Math.floor(t.firstLo / WINDOW_MS) * WINDOW_MS
    const ceiling = Math.floor((RATE * (t.lastHi - firstWindowStart)) / WINDOW_MS)
    const headStart = (RATE * (t.firstLo - firstWindowStart)) / WINDOW_MS
    const byRate = (RATE * t.spanMs) / WINDOW_MS
    expect(t.errors).toBe(0)
    expect(t.refused).toBeGreaterThan(t.granted)
    expect(t.granted).toBeLessThanOrEqual(ceiling)
    expect(Math.abs(t.granted - headStart - byRate)).toBeLessThanOrEqual(TOLERANCE * byRate)
  }, 30_000)
})
