import { once } from 'node:events'
import { Agent, request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { Snowflake } from '@hundredfold/id'
import { describe, expect, it } from 'vitest'
import { createIdService, type IdServiceOptions } from '../src/index.js'
import { listening } from './support/listening.js'

// The HTTP edge on node:http: keep-alive, HEAD, methods, what node:http's parser refuses (as problem
// documents), the server's timeouts and a graceful close. Parsing itself is node:http's, not tested here.

async function portOf(options: Partial<IdServiceOptions> = {}) {
  const app = listening(options)
  return { ...app, port: Number(new URL(await app.baseUrl()).port) }
}

/** A raw connection: what the server sent, and whether it closed. */
function raw(port: number): { socket: Socket; received: () => string; closed: Promise<unknown> } {
  const socket = connect({ port, host: '127.0.0.1' })
  let received = ''
  socket.setEncoding('latin1')
  socket.on('data', (chunk: string) => {
    received += chunk
  })
  socket.on('error', () => {})
  return { socket, received: () => received, closed: once(socket, 'close') }
}

/** Sends `bytes` on a new connection; resolves with all the server sent once it closed the connection. */
async function exchange(port: number, bytes: string): Promise<string> {
  const connection = raw(port)
  connection.socket.write(bytes)
  await connection.closed
  return connection.received()
}

/** The status codes of the responses in `text`, in order. */
const statuses = (text: string): number[] =>
  [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))

/** The JSON body after the last response head in `text`. */
const lastBody = (text: string): any => JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4))

describe('the HTTP edge (node:http)', () => {
  it('keeps a connection alive across requests', async () => {
    const { port } = await portOf()
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const get = () =>
      new Promise<{ reused: boolean; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/ids', agent }, (res) => {
          let body = ''
          res.on('data', (chunk) => {
            body += chunk
          })
          res.on('end', () => resolve({ reused: req.reusedSocket, body }))
        })
        req.on('error', reject).end()
      })
    const first = await get()
    const second = await get()
    agent.destroy()
    expect(first.reused).toBe(false)
    expect(second.reused).toBe(true)
    expect(JSON.parse(second.body).ids).toHaveLength(1)
  })

  it('answers HEAD with the headers of GET and no body', async () => {
    const app = listening()
    const head = await app.inject('/healthz', { method: 'HEAD' })
    expect(head.statusCode).toBe(200)
    expect(head.headers['content-length']).toBe(String('{"status":"ok"}'.length))
    expect(head.body).toBe('')
  })

  it('answers 405 with Allow for other methods, 404 for other paths, as problem documents', async () => {
    const app = listening()
    const post = await app.inject('/ids', { method: 'POST', body: 'x' })
    expect(post.statusCode).toBe(405)
    expect(post.headers['allow']).toBe('GET, HEAD')
    expect(post.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(post.json()).toMatchObject({ code: 'E_METHOD_NOT_ALLOWED', instance: '/ids' })
    expect((await app.inject('/nowhere', { method: 'DELETE' })).json()).toMatchObject({ code: 'E_NOT_FOUND' })
  })

  it('serves pipelined requests in order', async () => {
    const { port } = await portOf()
    const one = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
    const text = await exchange(
      port,
      `${one}GET /ids?count=2 HTTP/1.1\r\nHost: x\r\n\r\n${one.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')}`,
    )
    expect(statuses(text)).toEqual([200, 200, 200])
    expect(text.indexOf('{"status":"ok"}')).toBeLessThan(text.indexOf('{"ids":'))
  })

  it.each([
    ['a malformed header', 'GET /ids HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400, 'E_BAD_REQUEST'],
    ['a bare LF', 'GET /ids HTTP/1.1\nHost: x\n\n', 400, 'E_BAD_REQUEST'],
    [
      'Content-Length beside Transfer-Encoding',
      'GET /ids HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
      'E_BAD_REQUEST',
    ],
    [
      'a head over maxHeaderSize',
      `GET /ids HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(4096)}\r\n\r\n`,
      431,
      'E_HEADERS_TOO_LARGE',
    ],
    ['an unknown HTTP version', 'GET /ids HTTP/1.2\r\nHost: x\r\n\r\n', 400, 'E_BAD_REQUEST'],
  ])('answers %s with a problem document and closes', async (_, bytes, status, code) => {
    const { port } = await portOf({ maxHeaderSize: 2048 })
    const text = await exchange(port, bytes)
    expect(statuses(text)).toEqual([status])
    expect(text).toMatch(/^Content-Type: application\/problem\+json/im)
    expect(text).toMatch(/^Connection: close/im)
    expect(lastBody(text)).toMatchObject({ code, status })
  })

  it('answers the pipelined requests before a malformed one in order, then refuses it and closes', async () => {
    const { port } = await portOf()
    const text = await exchange(
      port,
      'GET /ids HTTP/1.1\r\nHost: x\r\n\r\nGET /ids HTTP/1.1\r\nHost: x\r\n\r\nBAD\0\r\n\r\n',
    )
    expect(statuses(text)).toEqual([200, 200, 400])
    expect(lastBody(text)).toMatchObject({ code: 'E_BAD_REQUEST' })
  })

  it('answers 408 when a head does not complete in headersTimeoutMs (slowloris)', async () => {
    const { port } = await portOf({ headersTimeoutMs: 200, requestTimeoutMs: 200 })
    const text = await exchange(port, 'GET /ids HTTP/1.1\r\nHost: x\r\n')
    expect(statuses(text)).toEqual([408])
    expect(lastBody(text)).toMatchObject({ code: 'E_REQUEST_TIMEOUT' })
  })

  it('closes a connection idle for keepAliveTimeoutMs', async () => {
    const { port } = await portOf({ keepAliveTimeoutMs: 100 })
    const connection = raw(port)
    connection.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    await connection.closed
    expect(statuses(connection.received())).toEqual([200])
  })

  it('closes gracefully: idle connections at once, a request in progress answered with Connection: close', async () => {
    const { service, port } = await portOf()
    const idle = raw(port)
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    const busy = raw(port)
    busy.socket.write('GET /ids HTTP/1.1\r\nHost: x\r\n')
    while (!idle.received().includes('{"status":"ok"}')) await once(idle.socket, 'data')
    const closing = service.close()
    await idle.closed
    busy.socket.write('\r\n')
    await busy.closed
    await closing
    expect(statuses(busy.received())).toEqual([200])
    expect(busy.received()).toMatch(/^Connection: close/im)
    expect(service.server.listening).toBe(false)
  })

  it('destroys what is still open closeTimeoutMs after close()', async () => {
    const { service, port } = await portOf({ closeTimeoutMs: 50 })
    const stuck = raw(port)
    stuck.socket.write('GET /ids HTTP/1.1\r\nHost: x\r\n')
    await once(service.server, 'connection')
    await service.close()
    await stuck.closed
    expect(stuck.received()).toBe('')
  })

  it('answers an unexpected error with 500 E_INTERNAL and tells the logger', async () => {
    const errors: object[] = []
    const generator = new Snowflake({ workerId: 1 })
    generator.nextString = () => {
      throw new TypeError('boom')
    }
    const app = listening({ generator, logger: { error: (object) => errors.push(object) } })
    const answer = await app.inject('/ids')
    expect(answer.statusCode).toBe(500)
    expect(answer.json()).toMatchObject({ code: 'E_INTERNAL' })
    expect(errors).toEqual([expect.objectContaining({ err: expect.any(TypeError) })])
  })

  it.each([
    [{ generator: {} }, /options.generator/],
    [{ maxCount: 0 }, /options.maxCount must be an integer in 1\.\.1000000/],
    [{ headersTimeoutMs: 1.5 }, /options.headersTimeoutMs/],
    [{ headersTimeoutMs: 20_000, requestTimeoutMs: 10_000 }, /options.requestTimeoutMs must be at least/],
    [{ keepAliveTimeoutMs: -1 }, /options.keepAliveTimeoutMs/],
    [{ maxHeaderSize: 10 }, /options.maxHeaderSize/],
    [{ logger: {} }, /options.logger/],
  ])('validates its options eagerly: %j', (options, message) => {
    const generator = new Snowflake({ workerId: 1 })
    expect(() => createIdService({ generator, ...options } as IdServiceOptions)).toThrow(message)
    expect(() => createIdService({ generator, ...options } as IdServiceOptions)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
  })
})
