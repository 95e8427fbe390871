import type { Dispatcher } from 'undici'
import type { RequestSpec } from './request.js'

/** Called once per request: an error, or the status and (when asked for) the body text. */
export type SendCallback = (error: Error | null, status: number, body: string | undefined) => void

/**
 * Sends one request through undici's lowest-level `dispatch`, skipping the response stream and promise that
 * `request()` allocates: about a third less sender CPU per request, which matters on a 2-core machine where
 * the sender shares the box with the server. Destroying the dispatcher fails whatever is still in flight.
 *
 * @example
 * send(pool, { endpoint: 'ceiling', method: 'GET', path: '/ceiling' }, (error, status) => { … })
 */
export function send(dispatcher: Dispatcher, spec: RequestSpec, callback: SendCallback): void {
  let status = 0
  let chunks: Buffer[] | undefined
  dispatcher.dispatch(
    { method: spec.method, path: spec.path, headers: spec.headers ?? null, body: spec.body ?? null },
    {
      onConnect() {},
      onHeaders(statusCode) {
        status = statusCode
        if (spec.page && statusCode >= 200 && statusCode < 300) chunks = []
        return true
      },
      onData(chunk) {
        chunks?.push(chunk)
        return true
      },
      onComplete() {
        callback(null, status, chunks ? Buffer.concat(chunks).toString('utf8') : undefined)
      },
      onError(error) {
        callback(error, 0, undefined)
      },
    },
  )
}
