/**
 * What a route answers, before it is framed as HTTP: the server adds `Content-Length`, `Date` and
 * `Connection`, and leaves the body out for `HEAD`.
 *
 * @example
 * const ok: ServiceResponse = { status: 200, contentType: 'application/json; charset=utf-8', body: '{"status":"ok"}' }
 */
export interface ServiceResponse {
  status: number
  contentType: string
  /** The whole body; ids and problem documents are small enough to build as one string. */
  body: string
  /** Further headers, e.g. `Retry-After` or `Allow`. */
  headers?: Readonly<Record<string, string>>
}

/** Answers one request: `method` as sent, `target` the request-target (path and query). */
export type RequestHandler = (method: string, target: string) => ServiceResponse
