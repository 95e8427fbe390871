import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { REDIS_URL, sharedBackends } from './fixtures/shared-backends.js'

const CHILD = fileURLToPath(new URL('./fixtures/storm-child.ts', import.meta.url))
const PROCESSES = 4
const REQUESTS = 1000

interface ChildReport {
  errors: number
  wrong: number
  stats: { loads: number; leaseWaits: number; l2Hits: number }
}

describe('cold-key storm across processes (Redis + PostgreSQL)', () => {
  const backends = sharedBackends('storm', {
    poolMax: 2,
    schema: 'CREATE TABLE loads (id serial PRIMARY KEY, pid int NOT NULL)',
  })

  it(`runs the loader once for ${REQUESTS} concurrent requests in ${PROCESSES} processes`, async () => {
    const children = Array.from({ length: PROCESSES }, () =>
      fork(CHILD, [REDIS_URL, backends.db.url, backends.prefix, 'cold-key', String(REQUESTS / PROCESSES)], {
        execArgv: ['--import', 'tsx', '--conditions=@hundredfold/source'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    )
    try {
      await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))))
      const reports = children.map(
        (child) =>
          new Promise<ChildReport>((resolve) => child.once('message', (m) => resolve(m as ChildReport))),
      )
      for (const child of children) child.send('go')
      const all = await Promise.all(reports)
      const { rows } = await backends.pool.query<{ n: string }>('SELECT count(*) AS n FROM loads')
      expect(Number(rows[0]!.n)).toBe(1)
      expect(all.reduce((n, r) => n + r.stats.loads, 0)).toBe(1)
      expect(all.every((r) => r.errors === 0 && r.wrong === 0)).toBe(true)
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill()
    }
  }, 60_000)
})
