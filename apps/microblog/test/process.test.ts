import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client } from './support.js'
import { mainEntry as main, startProcess as start } from './support-process.js'

describe('the server process, as a newcomer runs it', () => {
  let dir: string
  beforeAll(async () => {
    expect(existsSync(main), 'run `npm run build` first (npm test does)').toBe(true)
    dir = await mkdtemp(join(tmpdir(), 'hf-process-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('prints where it listens, stops cleanly on SIGINT and SIGTERM, and reuses its data directory', async () => {
    const first = await start({ HF_DATA_DIR: dir })
    expect(first.output()).toMatch(/microblog listening on http:\/\/127\.0\.0\.1:\d+ \(database: PGlite in /)
    const api = client(first.url)
    expect((await api.post('/api/v1/users', { username: 'persisted', password: 'long enough' })).status).toBe(
      201,
    )
    first.child.kill('SIGINT')
    expect(await first.exited).toBe(0)
    expect(first.output()).toContain('received SIGINT, shutting down')
    expect(first.output()).toContain('stopped')

    const second = await start({ HF_DATA_DIR: dir })
    const again = client(second.url)
    const session = await again.post('/api/v1/sessions', { username: 'persisted', password: 'long enough' })
    expect(session.status).toBe(200)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
    expect(second.output()).toContain('received SIGTERM, shutting down')
  })

  it('on PostgreSQL with the queue, leases a worker id, and a SIGTERM still exits 0 (releasing is not losing)', async () => {
    const database = await temporaryDatabase({ prefix: 'hf_process' })
    try {
      const server = await start({ HF_DATABASE_URL: database.url, HF_QUEUE: 'on', HF_DB_POOL_MAX: '4' })
      expect(server.output()).toMatch(/worker id \d+/)
      server.child.kill('SIGTERM')
      expect(await server.exited).toBe(0)
      expect(server.output()).not.toContain('lease lost')
      expect(server.output()).toContain('stopped')
    } finally {
      await database.drop()
    }
  })

  it('says at start that /wrk2-api is unauthenticated, and refuses it on a non-loopback host', async () => {
    const server = await start({ HF_DATA_DIR: dir, HF_WRK2_API: 'on' })
    expect(server.output()).toMatch(
      /listening on http:\/\/127\.0\.0\.1:\d+ .*\/wrk2-api is mounted and UNAUTHENTICATED/,
    )
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    await expect(start({ HF_DATA_DIR: dir, HF_WRK2_API: 'on', HF_HOST: '0.0.0.0' })).rejects.toThrow(
      /HF_WRK2_API_PUBLIC=yes/,
    )
  })

  it('refuses a bad setting at start, naming the variable', async () => {
    await expect(start({ HF_DATA_DIR: dir, HF_PORT: 'eighty' })).rejects.toThrow(/HF_PORT must be an integer/)
  })
})
