import type { AddressInfo } from 'node:net'
import { createServer, type Server, type Socket } from 'node:net'
import { IdError } from '../errors.js'
import { checkInteger } from '../validate.js'
import { hasBareLineFeed, parseHead } from './http1-parser.js'
import { problem, type ServiceErrorCode } from './problem.js'
import type { RequestHandler, ServiceResponse } from './service-response.js'

/** Options of {@link Http1Server}. */
export interface Http1ServerOptions {
  /** Answers every well-formed request head. Required. */
  handler: RequestHandler
  /**
   * Largest request head in bytes (request line, fields, blank line); a larger one is answered 431.
   * @default 16_384 (node:http's default)
   */
  maxHeaderSize?: number
  /**
   * A request head must be complete this long after its first byte, else 408 and close (slowloris).
   * @default 10_000
   */
  headersTimeoutMs?: number
  /**
   * An idle keep-alive connection is closed after this long (fastify's default, above common load
   * balancers' 60 s so that they close first).
   * @default 72_000
   */
  keepAliveTimeoutMs?: number
  /**
   * {@link Http1Server.close} destroys connections still open this long after it was called.
   * @default 5_000
   */
  closeTimeoutMs?: number
  /** Told about a handler that threw (answered 500 `E_INTERNAL`). @default ignores it */
  onHandlerError?: (error: unknown) => void
}

const DEFAULTS = Object.freeze({
  maxHeaderSize: 16_384,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 72_000,
  closeTimeoutMs: 5_000,
})

const REASONS: Readonly<Record<number, string>> = Object.freeze({
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
})

/** Responses are gathered per incoming chunk (pipelining) and written in one call up to this many chars. */
const FLUSH_AT = 65_536

class Connection {
  /** Bytes received (as latin1) and not yet parsed: the start of the next head. */
  pending = ''
  /** How much of `pending` was already checked for bare line feeds. */
  scanned = 0
  /** When the head now in `pending` began (ms), or -1. */
  headSince = -1
  lastActive: number
  /** Waiting for 'drain': reading is paused and `pending` may hold complete heads. */
  paused = false
  /** The peer sent FIN: finish what is pending, then end. */
  peerEnded = false
  /** This side ended (after `Connection: close`, an error, idle close or shutdown): input is ignored. */
  done = false

  constructor(
    readonly socket: Socket,
    now: number,
  ) {
    this.lastActive = now
  }
}

/**
 * A minimal HTTP/1.1 server on `node:net` for small, bodiless GET routes: it parses request heads itself
 * and frames each {@link ServiceResponse} as one string. node:http (llhttp, IncomingMessage, ServerResponse,
 * header objects) costs more per request than issuing an id does; see the package README for the figures.
 *
 * What it does: keep-alive, pipelining (answers in order, written in one call per incoming chunk),
 * `Connection: close`, HTTP/1.0 (keep-alive only on request), 400 for malformed heads and for any request
 * with a body, 431 for heads over `maxHeaderSize`, 505 for other HTTP versions, 408 after
 * `headersTimeoutMs`, idle close after `keepAliveTimeoutMs`, backpressure (stops reading while the socket's
 * write buffer is full), and a graceful {@link Http1Server.close}. Every error answer closes the connection.
 *
 * @example
 * const server = new Http1Server({ handler: (method, target) => ({ status: 200, contentType: 'text/plain', body: 'hi' }) })
 * const { port } = await server.listen(0, '127.0.0.1')
 * await server.close()
 */
export class Http1Server {
  /** The listening socket server. */
  readonly server: Server
  readonly #handler: RequestHandler
  readonly #onHandlerError: (error: unknown) => void
  readonly #maxHeaderSize: number
  readonly #headersTimeoutMs: number
  readonly #keepAliveTimeoutMs: number
  readonly #closeTimeoutMs: number
  readonly #keepAliveHeaders: string
  readonly #connections = new Set<Connection>()
  #closing = false
  #sweep: NodeJS.Timeout | undefined
  #date = ''
  #dateUntil = 0

  constructor(options: Http1ServerOptions) {
    if (typeof options?.handler !== 'function') {
      throw new IdError('E_INVALID_OPTION', 'options.handler must be a function', {
        option: 'options.handler',
        value: options?.handler,
      })
    }
    this.#handler = options.handler
    this.#onHandlerError = options.onHandlerError ?? (() => {})
    const limit = (name: keyof typeof DEFAULTS, min: number): number =>
      checkInteger(options[name] ?? DEFAULTS[name], `options.${name}`, min, 86_400_000)
    this.#maxHeaderSize = limit('maxHeaderSize', 64)
    this.#headersTimeoutMs = limit('headersTimeoutMs', 1)
    this.#keepAliveTimeoutMs = limit('keepAliveTimeoutMs', 1)
    this.#closeTimeoutMs = limit('closeTimeoutMs', 0)
    this.#keepAliveHeaders = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.ceil(this.#keepAliveTimeoutMs / 1000)}\r\n`
    // allowHalfOpen: a client may send its requests and FIN at once; it still gets every answer.
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket))
  }

  /**
   * Starts listening; resolves with the bound address (port 0 picks a free port).
   *
   * @example
   * const { port } = await server.listen(8790, '0.0.0.0')
   */
  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
    const sweepMs = Math.max(10, Math.min(1000, this.#headersTimeoutMs / 4, this.#keepAliveTimeoutMs / 4))
    this.#sweep = setInterval(() => this.#expire(), sweepMs).unref()
    return this.server.address() as AddressInfo
  }

  /**
   * Stops accepting connections, closes idle ones at once, answers requests still arriving with
   * `Connection: close`, and destroys whatever is left after `closeTimeoutMs`. Resolves once every
   * connection is closed.
   */
  async close(): Promise<void> {
    this.#closing = true
    const closed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve()
      else this.server.close(() => resolve())
    })
    for (const connection of this.#connections) {
      if (connection.pending === '' && !connection.paused) this.#end(connection)
    }
    const force = setTimeout(() => {
      for (const connection of this.#connections) connection.socket.destroy()
    }, this.#closeTimeoutMs)
    try {
      await closed
    } finally {
      clearTimeout(force)
      clearInterval(this.#sweep)
    }
  }

  #accept(socket: Socket): void {
    const connection = new Connection(socket, Date.now())
    if (this.#closing) {
      socket.destroy()
      return
    }
    this.#connections.add(connection)
    socket.on('data', (chunk: Buffer) => {
      if (connection.done) return
      this.#receive(connection, connection.pending + chunk.toString('latin1'))
    })
    socket.on('drain', () => {
      if (!connection.paused || connection.done) return
      connection.paused = false
      connection.lastActive = Date.now()
      const pending = connection.pending
      connection.scanned = 0
      this.#receive(connection, pending)
      if (!connection.paused && !connection.done) socket.resume()
    })
    socket.on('end', () => {
      connection.peerEnded = true
      if (!connection.paused) this.#end(connection)
    })
    // Resets and write errors end in 'close'; there is nothing to answer.
    socket.on('error', () => {})
    socket.on('close', () => {
      connection.done = true
      this.#connections.delete(connection)
    })
  }

  /** Answers every complete head in `text` (pending bytes plus the new chunk), in order. */
  #receive(connection: Connection, text: string): void {
    const now = this.#tick()
    connection.lastActive = now
    let offset = 0
    let out = ''
    for (;;) {
      const head = parseHead(text, offset, this.#maxHeaderSize)
      if (head === undefined) break
      if (head.kind === 'error') {
        this.#refuse(connection, out, head.code, head.detail)
        return
      }
      offset = head.end
      let response: ServiceResponse
      try {
        response = this.#handler(head.method, head.target)
      } catch (error) {
        this.#onHandlerError(error)
        response = problem('E_INTERNAL', head.target.split('?')[0] ?? '/')
      }
      const keepAlive = head.keepAlive && !this.#closing
      out += this.#frame(response, keepAlive, head.method === 'HEAD')
      if (!keepAlive) {
        this.#end(connection, out)
        return
      }
      if (out.length >= FLUSH_AT) {
        const more = connection.socket.write(out)
        out = ''
        if (!more) {
          this.#pause(connection, text.slice(offset))
          return
        }
      }
    }
    if (out !== '' && !connection.socket.write(out)) {
      this.#pause(connection, text.slice(offset))
      return
    }
    const rest = offset === 0 ? text : text.slice(offset)
    if (rest === '') {
      connection.pending = ''
      connection.scanned = 0
      connection.headSince = -1
    } else {
      if (hasBareLineFeed(rest, offset === 0 ? Math.max(0, connection.scanned - 1) : 0)) {
        this.#refuse(connection, '', 'E_BAD_REQUEST', 'lines must end with CRLF')
        return
      }
      if (offset > 0 || connection.headSince < 0) connection.headSince = now
      connection.pending = rest
      connection.scanned = rest.length
    }
    if (connection.peerEnded) this.#end(connection)
  }

  #pause(connection: Connection, rest: string): void {
    connection.paused = true
    connection.pending = rest
    connection.socket.pause()
  }

  /** Answers a refused head (after `out`, the answers before it) and closes. */
  #refuse(connection: Connection, out: string, code: ServiceErrorCode, detail: string): void {
    this.#end(connection, out + this.#frame(problem(code, '/', detail), false, false))
  }

  #end(connection: Connection, out?: string): void {
    if (connection.done) return
    connection.done = true
    connection.pending = ''
    if (out) connection.socket.end(out)
    else connection.socket.end()
  }

  #frame(response: ServiceResponse, keepAlive: boolean, head: boolean): string {
    const { status, body } = response
    let text = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Unknown'}\r\nContent-Type: ${response.contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nDate: ${this.#date}\r\n`
    if (response.headers !== undefined) {
      for (const name in response.headers) text += `${name}: ${response.headers[name]}\r\n`
    }
    text += keepAlive ? this.#keepAliveHeaders : 'Connection: close\r\n'
    return head ? `${text}\r\n` : `${text}\r\n${body}`
  }

  /** Date.now(), refreshing the cached `Date` header value once a second. */
  #tick(): number {
    const now = Date.now()
    if (now >= this.#dateUntil) {
      this.#date = new Date(now).toUTCString()
      this.#dateUntil = now - (now % 1000) + 1000
    }
    return now
  }

  /** Runs every sweep: 408 for heads that take too long, close for connections idle too long. */
  #expire(): void {
    const now = this.#tick()
    for (const connection of this.#connections) {
      if (connection.done) {
        // Ended by us; the peer has not closed its side.
        if (now - connection.lastActive >= this.#keepAliveTimeoutMs) connection.socket.destroy()
      } else if (connection.headSince >= 0 && now - connection.headSince >= this.#headersTimeoutMs) {
        this.#refuse(
          connection,
          '',
          'E_REQUEST_TIMEOUT',
          `no complete request head in ${this.#headersTimeoutMs} ms`,
        )
      } else if (now - connection.lastActive >= this.#keepAliveTimeoutMs) {
        connection.socket.destroy()
      }
    }
  }
}
