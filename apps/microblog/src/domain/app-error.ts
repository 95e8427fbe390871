/**
 * The microblog's error catalogue: one stable code, one HTTP status, one title. Services throw
 * `AppError`; the HTTP edge turns it into `application/problem+json`.
 */
export const errorCatalogue = {
  E_BAD_REQUEST: { status: 400, title: 'The request is not valid HTTP' },
  E_VALIDATION: { status: 400, title: 'The request is not valid' },
  E_MALFORMED_BODY: { status: 400, title: 'The request body cannot be parsed' },
  E_INCOMPLETE_ARGUMENTS: { status: 400, title: 'Incomplete arguments' },
  E_INVALID_ID: { status: 400, title: 'An id is not a 64-bit decimal number' },
  E_INVALID_RANGE: { status: 400, title: 'The requested range is not valid' },
  E_INVALID_TOKEN: { status: 400, title: 'The consistency token is not valid' },
  E_UNAUTHENTICATED: { status: 401, title: 'A valid bearer token is required' },
  E_BAD_CREDENTIALS: { status: 401, title: 'Unknown username or wrong password' },
  E_FORBIDDEN: { status: 403, title: 'Not allowed' },
  E_NOT_FOUND: { status: 404, title: 'No such resource' },
  E_USER_NOT_FOUND: { status: 404, title: 'No such user' },
  E_METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  E_REQUEST_TIMEOUT: { status: 408, title: 'The request did not arrive in time' },
  E_USERNAME_TAKEN: { status: 409, title: 'The username is taken' },
  E_USER_ID_TAKEN: { status: 409, title: 'The user id is taken' },
  E_SELF_FOLLOW: { status: 422, title: 'A user cannot follow themselves' },
  E_SPAM: { status: 422, title: 'The post reads as spam' },
  E_BODY_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  E_URI_TOO_LONG: { status: 414, title: 'The request URI is too long' },
  E_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  E_HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  E_UNAVAILABLE: { status: 503, title: 'The service is not ready' },
  E_TIMEOUT: { status: 503, title: 'The request took too long' },
  E_BACKLOG: { status: 503, title: 'Too many writes are waiting to be stored; retry later' },
  E_QUEUE_UNAVAILABLE: { status: 503, title: 'The write queue did not store the request; retry it' },
  E_MAP_CHANGED: { status: 503, title: 'The data moved to other shards while the request ran; retry it' },
  E_INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>

export type AppErrorCode = keyof typeof errorCatalogue

/** A failure a client can act on: a stable `code`, a human `detail`, and context fields. */
export class AppError extends Error {
  override readonly name = 'AppError'
  readonly code: AppErrorCode
  readonly status: number
  readonly context: Readonly<Record<string, unknown>>
  /** For a 503: when to retry, in seconds (the `Retry-After` header). */
  readonly retryAfterS: number | undefined

  constructor(
    code: AppErrorCode,
    detail?: string,
    options: { cause?: unknown; context?: Record<string, unknown>; retryAfterS?: number } = {},
  ) {
    super(
      detail ?? errorCatalogue[code].title,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    this.code = code
    this.status = errorCatalogue[code].status
    this.context = Object.freeze({ ...options.context })
    this.retryAfterS = options.retryAfterS
  }
}
