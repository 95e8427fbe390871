import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { Snowflake } from '../src/index.js'
import { createIdService, type IdService, type IdServiceOptions } from '../src/service/index.js'

// The hand-written HTTP/1.1 server, byte for byte over real sockets: framing, pipelining, refusals,
// timeouts, backpressure and shutdown.

const services: IdService[] = []
afterEach(async () => {
  for (const service of services.splice(0)) await service.close()
})

async function listen(
  options: Partial<IdServiceOptions> = {},
): Promise<{ service: IdService; port: number }> {
  const service = createIdService({ generator: new Snowflake({ workerId: 9 }), ...options })
  services.push(service)
  const baseUrl = await service.listen()
  return { service, port: Number(new URL(baseUrl).port) }
}

interface Response {
  status: number
  headers: Record<string, string>
  body: string
}

/** Splits what the server sent into responses (`heads` lists which answers are to HEAD: no body). */
function parseResponses(
  text: string,
  heads: readonly boolean[] = [],
): { responses: Response[]; rest: string } {
  const responses: Response[] = []
  const at = parseFrom(text, 0, heads, responses)
  return { responses, rest: text.slice(at) }
}

/** Appends the complete responses in `text` from `at` to `into`; returns where the first incomplete one starts. */
function parseFrom(text: string, at: number, heads: readonly boolean[], into: Response[]): number {
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at)
    if (end === -1) return at
    const [statusLine, ...lines] = text.slice(at, end).split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = heads[into.length] ? 0 : Number(headers['content-length'])
    if (!Number.isInteger(length) || text.length < end + 4 + length) return at
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '')
    if (!match) throw new Error(`bad status line: ${statusLine}`)
    into.push({ status: Number(match[1]), headers, body: text.slice(end + 4, end + 4 + length) })
    at = end + 4 + length
  }
}

/** A raw client: write bytes, read what comes back. */
class Raw {
  readonly socket: Socket
  received = ''
  closed = false
  ended = false
  readonly #parsed: Response[] = []
  #at = 0

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1' })
    this.socket.setEncoding('latin1')
    this.socket.on('data', (chunk: string) => {
      this.received += chunk
    })
    this.socket.on('end', () => {
      this.ended = true
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
    })
  }

  write(text: string): void {
    this.socket.write(Buffer.from(text, 'latin1'))
  }

  /** Waits until `count` responses arrived (or the server ended the connection). */
  async responses(count: number, heads: readonly boolean[] = []): Promise<Response[]> {
    for (;;) {
      this.#at = parseFrom(this.received, this.#at, heads, this.#parsed)
      if (this.#parsed.length >= count || this.ended) return this.#parsed.slice()
      await Promise.race([once(this.socket, 'data'), once(this.socket, 'end')]).catch(() => {})
    }
  }

  /** Ends this side and waits for the server to close: everything it answered. */
  async finish(heads: readonly boolean[] = []): Promise<{ responses: Response[]; rest: string }> {
    if (!this.socket.writableEnded) this.socket.end()
    if (!this.closed) await once(this.socket, 'close')
    return parseResponses(this.received, heads)
  }
}

const GET = (target: string, extra = ''): string => `GET ${target} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('HTTP/1.1 server', () => {
  it('keeps a connection alive across requests', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write(GET('/ids'))
    const [first] = await client.responses(1)
    expect(first).toMatchObject({ status: 200, headers: { connection: 'keep-alive' } })
    expect(first!.headers['date']).toMatch(/GMT$/)
    client.write(GET('/healthz'))
    const both = await client.responses(2)
    expect(both[1]).toMatchObject({ status: 200, body: '{"status":"ok"}' })
    expect(client.ended).toBe(false)
    const { responses, rest } = await client.finish()
    expect(responses).toHaveLength(2)
    expect(rest).toBe('')
  })

  it('answers pipelined requests in order, even when they arrive a byte at a time', async () => {
    const { port } = await listen()
    const requests = GET('/ids') + GET('/ids?count=2') + GET('/nowhere') + GET('/ids')
    const together = new Raw(port)
    together.write(requests)
    const answers = await together.responses(4)
    expect(answers.map((r) => r.status)).toEqual([200, 200, 404, 200])
    const ids = [answers[0], answers[1], answers[3]].flatMap((r) => JSON.parse(r!.body).ids as string[])
    expect(ids.map(BigInt)).toEqual(ids.map(BigInt).sort((a, b) => (a < b ? -1 : 1)))
    expect(new Set(ids).size).toBe(4)

    const trickle = new Raw(port)
    for (const byte of requests) {
      trickle.write(byte)
      await sleep(0)
    }
    expect((await trickle.responses(4)).map((r) => r.status)).toEqual([200, 200, 404, 200])
    expect((await trickle.finish()).responses).toHaveLength(4)
  })

  it('closes after Connection: close and ignores what follows', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write(GET('/ids', 'Connection: close\r\n') + GET('/ids'))
    const { responses } = await client.finish()
    expect(responses).toHaveLength(1)
    expect(responses[0]).toMatchObject({ status: 200, headers: { connection: 'close' } })
  })

  it('speaks HTTP/1.0: closes by default, keeps alive on request, needs no Host', async () => {
    const { port } = await listen()
    const plain = new Raw(port)
    plain.write('GET /healthz HTTP/1.0\r\n\r\n')
    const { responses } = await plain.finish()
    expect(responses).toHaveLength(1)
    expect(responses[0]).toMatchObject({ status: 200, headers: { connection: 'close' } })

    const kept = new Raw(port)
    kept.write('GET /healthz HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /ids HTTP/1.0\r\n\r\n')
    const both = await kept.finish()
    expect(both.responses.map((r) => [r.status, r.headers['connection']])).toEqual([
      [200, 'keep-alive'],
      [200, 'close'],
    ])
  })

  it('answers HEAD with the headers of GET and no body', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write(`HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n${GET('/healthz')}`)
    const [head, get] = await client.responses(2, [true])
    expect(head).toMatchObject({ status: 200, body: '', headers: { 'content-length': '15' } })
    expect(get).toMatchObject({ status: 200, body: '{"status":"ok"}' })
  })

  it('answers 405 with Allow for other methods, 404 for other paths, as problem documents', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write('POST /ids HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n' + GET('/nowhere?x=1'))
    const [post, missing] = await client.responses(2)
    expect(post).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } })
    expect(post!.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(post!.body)).toMatchObject({
      code: 'E_METHOD_NOT_ALLOWED',
      status: 405,
      instance: '/ids',
    })
    expect(JSON.parse(missing!.body)).toMatchObject({
      code: 'E_NOT_FOUND',
      status: 404,
      instance: '/nowhere',
    })
  })

  it('accepts an absolute-form target, Content-Length: 0 and leading empty lines', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write('GET http://test/healthz HTTP/1.1\r\nHost: test\r\n\r\n')
    client.write(`\r\n${GET('/healthz', 'content-length: 0\r\n')}`)
    expect((await client.responses(2)).map((r) => r.status)).toEqual([200, 200])
  })

  it.each([
    ['garbage', 'garbage\r\n\r\n'],
    ['no Host', 'GET /ids HTTP/1.1\r\n\r\n'],
    ['two Hosts', 'GET /ids HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'],
    ['a body by Content-Length', 'GET /ids HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello'],
    ['a chunked body', 'GET /ids HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a POST with a body', 'POST /ids HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}'],
    ['a bad Content-Length', 'GET /ids HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n'],
    ['obs-fold', 'GET /ids HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n'],
    ['space before the colon', 'GET /ids HTTP/1.1\r\nHost : a\r\n\r\n'],
    ['bare LF', 'GET /ids HTTP/1.1\nHost: a\n\n'],
    ['two spaces', 'GET  /ids HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a trailing space', 'GET /ids HTTP/1.1 \r\nHost: a\r\n\r\n'],
    ['a control character in the target', 'GET /i\x01ds HTTP/1.1\r\nHost: a\r\n\r\n'],
    ['a NUL in a value', 'GET /ids HTTP/1.1\r\nHost: a\r\nX-A: a\x00b\r\n\r\n'],
    ['a bad version', 'GET /ids HTTP/1.x\r\nHost: a\r\n\r\n'],
    ['a lower-case version', 'GET /ids http/1.1\r\nHost: a\r\n\r\n'],
  ])('refuses %s with 400 E_BAD_REQUEST and closes', async (_name, bytes) => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write(GET('/healthz') + bytes + GET('/ids'))
    const { responses } = await client.finish()
    expect(responses.map((r) => r.status)).toEqual([200, 400])
    expect(responses[1]!.headers).toMatchObject({
      connection: 'close',
      'content-type': 'application/problem+json; charset=utf-8',
    })
    expect(JSON.parse(responses[1]!.body)).toMatchObject({ code: 'E_BAD_REQUEST', status: 400 })
  })

  it('answers 505 to other HTTP versions', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.write('GET /ids HTTP/2.0\r\nHost: a\r\n\r\n')
    const { responses } = await client.finish()
    expect(responses).toHaveLength(1)
    expect(JSON.parse(responses[0]!.body)).toMatchObject({ code: 'E_HTTP_VERSION', status: 505 })
  })

  it('answers 431 to a head over maxHeaderSize, complete or not', async () => {
    const { port } = await listen({ maxHeaderSize: 1024 })
    const complete = new Raw(port)
    complete.write(GET('/ids', `X-Big: ${'a'.repeat(2000)}\r\n`))
    const first = await complete.finish()
    expect(first.responses.map((r) => r.status)).toEqual([431])
    expect(JSON.parse(first.responses[0]!.body)).toMatchObject({ code: 'E_HEADERS_TOO_LARGE' })

    const endless = new Raw(port)
    endless.write(`GET /ids HTTP/1.1\r\nX-Big: ${'a'.repeat(600)}`)
    await sleep(5)
    endless.write('a'.repeat(600))
    const [tooLarge] = await endless.responses(1)
    expect(tooLarge?.status).toBe(431)
    expect((await endless.finish()).responses).toHaveLength(1)
  })

  it('answers 408 when a head does not complete in headersTimeoutMs', async () => {
    const { port } = await listen({ headersTimeoutMs: 80 })
    const client = new Raw(port)
    client.write('GET /ids HTTP/1.1\r\nHo')
    const [late] = await client.responses(1)
    expect(late).toMatchObject({ status: 408, headers: { connection: 'close' } })
    expect(JSON.parse(late!.body)).toMatchObject({ code: 'E_REQUEST_TIMEOUT' })
  })

  it('closes a connection idle for keepAliveTimeoutMs', async () => {
    const { port } = await listen({ keepAliveTimeoutMs: 80 })
    const client = new Raw(port)
    client.write(GET('/ids'))
    await client.responses(1)
    const started = Date.now()
    await once(client.socket, 'close')
    expect(Date.now() - started).toBeLessThan(2000)
    expect(parseResponses(client.received).responses).toHaveLength(1)
  })

  it('stops reading while the client does not read its answers (backpressure)', async () => {
    const { port } = await listen()
    const client = new Raw(port)
    client.socket.pause()
    const requests = 300
    client.write(GET('/ids?count=10000').repeat(requests) + GET('/healthz', 'Connection: close\r\n'))
    await sleep(300)
    // 300 answers of 10,000 ids are 60 MB; the server must have stopped after what the socket buffers hold.
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    const issued = Number(/^id_issued_total (\d+)$/m.exec(metrics)?.[1])
    expect(issued).toBeGreaterThan(0)
    expect(issued).toBeLessThan((requests * 10_000) / 4)
    client.socket.resume()
    const { responses } = await client.finish()
    expect(responses).toHaveLength(requests + 1)
    let last = 0n
    for (const answer of responses.slice(0, requests)) {
      const ids = (JSON.parse(answer.body).ids as string[]).map(BigInt)
      expect(ids).toHaveLength(10_000)
      expect(ids[0]! > last).toBe(true)
      last = ids.at(-1)!
    }
    expect(responses.at(-1)).toMatchObject({ status: 200, headers: { connection: 'close' } })
  })

  it('closes gracefully: idle connections at once, a request in progress answered with Connection: close', async () => {
    const { service, port } = await listen()
    const idle = new Raw(port)
    idle.write(GET('/ids'))
    await idle.responses(1)
    const busy = new Raw(port)
    busy.write('GET /ids HTTP/1.1\r\n')
    await sleep(20)
    const closed = service.close()
    await once(idle.socket, 'end')
    busy.write('Host: a\r\n\r\n')
    const [answer] = await busy.responses(1)
    expect(answer).toMatchObject({ status: 200, headers: { connection: 'close' } })
    await busy.finish()
    await closed
    expect(service.server.listening).toBe(false)
  })
})

describe('HTTP/1.1 server under arbitrary input (property)', () => {
  const ROUTES: ReadonlyArray<[string, number]> = [
    ['/ids', 200],
    ['/ids?count=3', 200],
    ['/ids?count=0', 400],
    ['/ids/187535720448028672', 200],
    ['/ids/abc', 400],
    ['/healthz', 200],
    ['/readyz', 200],
    ['/nowhere', 404],
  ]
  const headerLine = fc
    .tuple(
      fc.stringMatching(/^X-[A-Za-z0-9-]{1,12}$/),
      fc.stringMatching(/^[ -~]{0,40}$/).map((value) => value.trim()),
    )
    .map(([name, value]) => `${name}: ${value}\r\n`)
  const wellFormed = fc
    .record({
      head: fc.boolean(),
      route: fc.constantFrom(...ROUTES),
      headers: fc.array(headerLine, { maxLength: 3 }),
      lowerHost: fc.boolean(),
      contentLengthZero: fc.boolean(),
    })
    .map(({ head, route: [target, status], headers, lowerHost, contentLengthZero }) => ({
      malformed: false as const,
      head,
      status,
      bytes:
        `${head ? 'HEAD' : 'GET'} ${target} HTTP/1.1\r\n${lowerHost ? 'host' : 'Host'}: t\r\n` +
        `${headers.join('')}${contentLengthZero ? 'Content-Length: 0\r\n' : ''}\r\n`,
    }))
  const malformed = fc
    .oneof(
      fc.constantFrom(
        'GET /ids HTTP/1.1\r\n\r\n',
        'GET /ids HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc',
        'GET /ids HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n',
        'GET /ids HTTP/1.1\nHost: a\n\n',
        'GET /ids HTTP/3.0\r\nHost: a\r\n\r\n',
        'G@T /ids HTTP/1.1\r\nHost: a\r\n\r\n',
      ),
      // Random bytes closed by a blank line: a head that cannot be well formed.
      fc
        .uint8Array({ minLength: 1, maxLength: 200 })
        // Only CR and LF would make empty lines, which are skipped before a request line.
        .filter((bytes) => bytes.some((byte) => byte !== 13 && byte !== 10))
        .map((bytes) => `${Buffer.from(bytes).toString('latin1')}\r\n\r\n`),
    )
    .map((bytes) => ({ malformed: true as const, head: false, status: 400, bytes }))

  it('answers every well-formed pipelined request once, in order, and a malformed one never with 200', async () => {
    const { port } = await listen()
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ arbitrary: wellFormed, weight: 4 }, { arbitrary: malformed, weight: 1 }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (requests, cuts) => {
          const bytes = requests.map((r) => r.bytes).join('')
          const client = new Raw(port)
          const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b)
          let from = 0
          for (const point of [...points, bytes.length]) {
            client.write(bytes.slice(from, point))
            from = point
            await sleep(0)
          }
          const firstBad = requests.findIndex((r) => r.malformed)
          const answered = firstBad === -1 ? requests : requests.slice(0, firstBad)
          const { responses, rest } = await client.finish(answered.map((r) => r.head))
          expect(rest).toBe('')
          expect(responses.map((r) => r.status).slice(0, answered.length)).toEqual(
            answered.map((r) => r.status),
          )
          if (firstBad === -1) expect(responses).toHaveLength(requests.length)
          else {
            // The refusal is the last answer; the connection closes after it.
            expect(responses).toHaveLength(answered.length + 1)
            expect(responses.at(-1)!.status).toBeGreaterThanOrEqual(400)
            expect(responses.at(-1)!.headers['connection']).toBe('close')
          }
        },
      ),
      { numRuns: 150 },
    )
  })

  it('survives random bytes: no 200 for them, and still serves afterwards', async () => {
    const { port } = await listen({ maxHeaderSize: 512 })
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2000 }), async (bytes) => {
        const client = new Raw(port)
        client.write(Buffer.from(bytes).toString('latin1'))
        const { responses } = await client.finish()
        expect(responses.length).toBeLessThanOrEqual(1)
        for (const response of responses) expect(response.status).toBeGreaterThanOrEqual(400)
      }),
      { numRuns: 200 },
    )
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
  })
})
