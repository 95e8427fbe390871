import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { openSetupClient } from '../src/dataset/http.js'

const shed = JSON.stringify({ code: 'E_CONCURRENCY_LIMITED', status: 503 })

describe('the setup client', () => {
  it('resends a request the server shed before any work, after its Retry-After; other 503s fail at once', async () => {
    let calls = 0
    const server = createServer((req, res) => {
      req.resume()
      calls++
      if (req.url === '/shed-twice' && calls <= 2) {
        res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' }).end(shed)
      } else if (req.url === '/down') {
        res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"code":"E_UNAVAILABLE"}')
      } else {
        res.end('ok')
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    await using client = openSetupClient(`http://127.0.0.1:${port}`, 2, new AbortController().signal)
    try {
      expect(await client.send({ method: 'POST', path: '/shed-twice', body: 'x' })).toEqual({
        status: 200,
        body: 'ok',
      })
      expect(calls).toBe(3)
      await expect(client.send({ method: 'GET', path: '/down' })).rejects.toMatchObject({
        code: 'E_BENCH_LOAD',
      })
      expect(calls).toBe(4)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
