import { type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import { problem, type ServiceErrorCode } from './problem.js'

/** node:http's codes for what its parser refused → the service's; anything else is `E_BAD_REQUEST`. */
const REFUSALS: Readonly<Record<string, ServiceErrorCode>> = Object.freeze({
  HPE_HEADER_OVERFLOW: 'E_HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'E_REQUEST_TIMEOUT',
})

/**
 * node:http's `clientError` listener: answers what its parser refused (or a request that timed out) with a
 * problem document, as every other refusal of the service is, then closes the connection. node:http's own
 * default answers the same statuses with no body.
 *
 * `latest` is the connection's latest response. While it is not written out, pipelined answers may wait
 * in node:http's queue behind it, and an answer written to the socket now would overtake them: the
 * refusal waits for it, so the client gets every answer in order, then the refusal.
 *
 * @example
 * server.on('clientError', (error, socket) => refuseClientError(error, socket, undefined))
 */
export function refuseClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
  latest: ServerResponse | undefined,
): void {
  if (latest !== undefined && !latest.writableFinished) {
    latest.once('finish', () => refuseClientError(error, socket, undefined))
    return
  }
  // A reset, or a connection this side already ended: there is no one to answer.
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy()
    return
  }
  const code = REFUSALS[error.code ?? ''] ?? 'E_BAD_REQUEST'
  const { status, contentType, body } = problem(code, '/', error.message)
  const head = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`
  // Destroyed once written, as node:http does after every `Connection: close` answer.
  socket.end(head + body, () => socket.destroy())
}
