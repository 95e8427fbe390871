import { createServer } from 'node:http'

/**
 * The peer of the ID service's one-id figures: a bare `node:http` hello-world answering every request with a
 * fixed body of an id's size and the same headers, run on the service's core in the same run. It is the
 * ceiling of any server built on node:http on this machine at that moment, so the service's figures over
 * its figures say what the routes and the id cost beyond node:http itself.
 *
 * Prints `listening on http://host:port` like the service does.
 */
const FIXED = '{"ids":["382802355646636069"]}'
const HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'content-length': FIXED.length,
})

// The service's own settings, so that both differ only in what happens between the request and the answer.
const server = createServer(
  { keepAliveTimeout: 72_000, headersTimeout: 10_000, requestTimeout: 30_000 },
  (_, response) => {
    response.writeHead(200, HEADERS).end(FIXED)
  },
)
server.listen(Number(process.env['HF_PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.stdout.write(`node:http hello-world listening on http://127.0.0.1:${port}\n`)
})
process.once('SIGTERM', () => server.close(() => process.exit(0)))
