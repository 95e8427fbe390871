import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { decode } from '@hundredfold/id'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `hundredfold-id-service` as a process, run from source (tsx): environment in, one `listening on` line,
// ids out, a clean exit on SIGTERM; a bad variable fails the start and names itself.

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))

interface Running {
  child: ChildProcess
  output: () => string
  exited: Promise<number | null>
}

function start(env: Record<string, string>): Running {
  const child = spawn(process.execPath, ['--conditions=@hundredfold/source', '--import', 'tsx', MAIN], {
    env: { ...process.env, HF_ID_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
  }
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  return { child, output: () => output, exited }
}

/** Resolves with the base URL once the process says where it listens. */
async function baseUrlOf(running: Running): Promise<string> {
  for (;;) {
    const match = /listening on (http:\/\/\S+)/.exec(running.output())
    if (match) return match[1]!
    const event = await Promise.race([once(running.child.stdout!, 'data'), running.exited.then(() => 'exit')])
    if (event === 'exit') throw new Error(`exited before listening: ${running.output()}`)
  }
}

async function stop(running: Running): Promise<number | null> {
  running.child.kill('SIGTERM')
  return running.exited
}

describe('hundredfold-id-service', () => {
  it('serves a fixed worker id without a database and exits 0 on SIGTERM', async () => {
    const running = start({ HF_WORKER_ID: '5', HF_LOG_LEVEL: 'silent' })
    const baseUrl = await baseUrlOf(running)
    expect(running.output()).toMatch(/fixed worker id 5/)
    const { ids } = (await (await fetch(`${baseUrl}/ids?count=3`)).json()) as { ids: string[] }
    expect(ids.map((id) => decode(id).workerId)).toEqual([5, 5, 5])
    expect(await stop(running)).toBe(0)
    expect(running.output()).toMatch(/received SIGTERM, shutting down/)
  })

  it('fails to start on a bad variable, naming it', async () => {
    const running = start({ HF_ID_PORT: 'eighty' })
    expect(await running.exited).toBe(1)
    expect(running.output()).toMatch(/failed to start \(E_INVALID_OPTION\): HF_ID_PORT must be an integer/)
  })

  describe('with HF_DATABASE_URL', () => {
    let database: TemporaryDatabase
    beforeAll(async () => {
      database = await temporaryDatabase({ prefix: 'id_service_bin' })
    })
    afterAll(async () => {
      await database?.drop()
    })

    it('leases its worker id from PostgreSQL, is ready while it holds it, and releases it on SIGTERM', async () => {
      const running = start({ HF_DATABASE_URL: database.url, HF_ID_HINT: '12' })
      const baseUrl = await baseUrlOf(running)
      expect(running.output()).toMatch(/leased worker id 12, fencing token \d+/)
      const ready = (await (await fetch(`${baseUrl}/readyz`)).json()) as Record<string, unknown>
      expect(ready).toMatchObject({ status: 'ready', workerId: 12, fencingToken: expect.any(Number) })
      expect(await stop(running)).toBe(0)
      const cluster = createCluster({ driver: pgDriver({ connectionString: database.url }) })
      try {
        const { rows } = await cluster.query<{ holder: string | null }>(
          'SELECT holder FROM hundredfold_id_worker_leases WHERE worker_id = 12',
        )
        expect(rows).toEqual([{ holder: null }])
      } finally {
        await cluster.end()
      }
    })
  })
})
