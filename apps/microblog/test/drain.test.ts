import { existsSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mainEntry as main, startProcess } from './support-process.js'

/** The built server with a small pool; `url` parsed, for raw sockets. */
async function start(env: Record<string, string>) {
  const server = await startProcess({ HF_DB_POOL_MAX: '4', ...env })
  return { ...server, url: new URL(server.url) }
}

/** One GET on a kept-alive agent: status and the `connection` header. */
function get(agent: Agent, url: URL, path: string): Promise<{ status: number; connection: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { agent }, (res) => {
      res.resume()
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: String(res.headers.connection ?? '') }),
      )
    })
    req.once('error', reject)
    req.end()
  })
}

/** Everything a raw socket receives until the server closes it. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    socket.on('data', (d) => (text += d))
    socket.once('close', () => resolve(text))
    socket.once('error', reject)
  })
}

describe('graceful drain on SIGTERM (HF_DRAIN_MS)', () => {
  let database: TemporaryDatabase
  beforeAll(async () => {
    expect(existsSync(main), 'run `npm run build` first (npm test does)').toBe(true)
    database = await temporaryDatabase({ prefix: 'hf_drain' })
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('turns readiness 503 at once, keeps serving with Connection: close, finishes in-flight requests, then exits 0', async () => {
    const drainMs = 1500
    const server = await start({ HF_DATABASE_URL: database.url, HF_DRAIN_MS: String(drainMs) })
    const agent = new Agent({ keepAlive: true })
    try {
      expect(await get(agent, server.url, '/readyz')).toMatchObject({ status: 200, connection: 'keep-alive' })

      // A request in flight when the signal comes: headers sent, half of its body still to come.
      const body = JSON.stringify({ username: 'drained', password: 'long enough' })
      const inflight = connect(Number(server.url.port), server.url.hostname)
      await new Promise((resolve) => inflight.once('connect', resolve))
      const answer = readAll(inflight)
      inflight.write(
        `POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
      )
      await sleep(100)

      const signalled = Date.now()
      server.child.kill('SIGTERM')
      await expect.poll(() => server.output(), { timeout: 2000 }).toContain('received SIGTERM')

      expect((await get(agent, server.url, '/readyz')).status).toBe(503)
      // Still served during the window, but each answer ends its connection.
      expect(await get(agent, server.url, '/healthz')).toEqual({ status: 200, connection: 'close' })
      expect((await get(agent, server.url, '/readyz')).status).toBe(503)

      // Past the window the listener closes; the request that was in flight still completes.
      await sleep(drainMs + 300)
      inflight.write(body.slice(10))
      expect(await answer).toMatch(/^HTTP\/1\.1 201 /)

      expect(await server.exited).toBe(0)
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(drainMs)
      expect(server.output()).toContain(`draining for ${drainMs} ms`)
      expect(server.output()).toContain('stopped')
    } finally {
      agent.destroy()
      if (server.child.exitCode === null) server.child.kill('SIGKILL')
    }
  })

  it('refuses a bad HF_DRAIN_MS at start, naming the variable', async () => {
    await expect(start({ HF_DATABASE_URL: database.url, HF_DRAIN_MS: 'soon' })).rejects.toThrow(
      /HF_DRAIN_MS must be an integer in 0\.\.60000/,
    )
  })
})
