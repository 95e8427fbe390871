import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Behaviour = (req: IncomingMessage, res: ServerResponse, body: string) => void

/** A real HTTP server on port 0 whose behaviour a test can change while it runs. */
export interface TestServer {
  origin: string
  /** Requests received, in order: `${method} ${url}`. */
  received: string[]
  /** Bodies received. */
  bodies: string[]
  behave(behaviour: Behaviour): void
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export const ok =
  (text = 'ok', status = 200): Behaviour =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' }).end(text)
  }

/** Answers after `ms` (real time). */
export const slow =
  (ms: number, text = 'slow'): Behaviour =>
  (_req, res) => {
    setTimeout(() => res.writeHead(200).end(text), ms).unref()
  }

/** Never answers (until the server closes). */
export const hang: Behaviour = () => {}

/** Resets the connection after reading the request. */
export const reset: Behaviour = (req) => {
  req.socket.destroy()
}

export async function startServer(name: string, behaviour: Behaviour = ok(name)): Promise<TestServer> {
  let current = behaviour
  const received: string[] = []
  const bodies: string[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => {
      body += chunk
    })
    req.on('end', () => {
      received.push(`${req.method} ${req.url}`)
      bodies.push(body)
      current(req, res, body)
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const close = async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    bodies,
    behave: (b) => {
      current = b
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

/** An origin nothing listens on (connection refused): a port of a server that was started and closed. */
export async function refusedOrigin(): Promise<string> {
  const server = await startServer('gone')
  await server.close()
  return server.origin
}

export async function startServers(n: number, behaviour?: (i: number) => Behaviour): Promise<TestServer[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startServer(`s${i}`, behaviour?.(i))))
}
