import { createServer } from 'node:http'
import { Snowflake } from '@hundredfold/id'
import { createIdService } from '@hundredfold/id/service'

/**
 * The peers of the ID service's one-id benchmark, each a `node:http` server (`HF_PEER`):
 *
 * - `node-http`: a bare hello-world answering every request with a fixed body of an id's size, the ceiling
 *   of any framework built on node:http on this machine;
 * - `node-http-routes`: the service's own routes (`createIdService(...).handle`) under node:http instead of
 *   the hand-written server, so the difference between the two is the HTTP layer alone.
 *
 * Prints `listening on http://host:port` like the service does.
 */
const peer = process.env['HF_PEER'] ?? 'node-http'
const FIXED = '{"ids":["382802355646636069"]}'
const JSON_TYPE = 'application/json; charset=utf-8'
const handle = createIdService({ generator: new Snowflake({ workerId: 3 }) }).handle

const server = createServer({ keepAliveTimeout: 72_000 }, (request, response) => {
  if (peer === 'node-http') {
    response.writeHead(200, { 'content-type': JSON_TYPE }).end(FIXED)
    return
  }
  const { status, contentType, body, headers } = handle(request.method ?? 'GET', request.url ?? '/')
  response.writeHead(status, { 'content-type': contentType, ...headers })
  response.end(request.method === 'HEAD' ? undefined : body)
})
server.listen(Number(process.env['HF_PORT'] ?? 0), '127.0.0.1', () => {
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  process.stdout.write(`${peer} peer listening on http://127.0.0.1:${port}\n`)
})
process.once('SIGTERM', () => server.close(() => process.exit(0)))
