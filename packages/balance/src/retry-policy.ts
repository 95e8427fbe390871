import type { Dispatcher } from 'undici'
import type { ResolvedBalancerOptions } from './options.js'

/** Errors raised before a byte of the request left: retrying cannot duplicate it. */
const UNSENT = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
])

/** Connection errors after which an idempotent request may be sent again. */
const CONNECTION = new Set([...UNSENT, 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED'])

/** How a try failed, for the retry decision. @internal */
export type TryFailure =
  | { kind: 'error'; error: unknown }
  | { kind: 'status'; status: number }
  | { kind: 'timeout' }

/** Whether an error is a connection failure (counts against the endpoint). @internal */
export function isConnectionError(error: unknown): boolean {
  return CONNECTION.has(codeOf(error))
}

/** Whether the request may be sent again at all: the method and body allow it. @internal */
export function replayable(opts: Dispatcher.DispatchOptions): boolean {
  const body = opts.body
  return (
    body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array // Buffer too
  )
}

/** Whether the request is idempotent: its method, or `idempotent: true`. @internal */
export function isIdempotent(opts: Dispatcher.DispatchOptions, methods: readonly string[]): boolean {
  if (opts.idempotent === true) return true
  if (opts.idempotent === false && opts.method !== 'GET' && opts.method !== 'HEAD') return false
  return methods.includes(String(opts.method).toUpperCase())
}

/**
 * Whether this failure may be retried (apart from the budget and the endpoints left): the retry options,
 * idempotency, and whether the request's bytes may have been sent. @internal
 */
export function retryable(
  failure: TryFailure,
  opts: Dispatcher.DispatchOptions,
  retry: ResolvedBalancerOptions['retry'],
): boolean {
  if (retry === false || opts.upgrade || !replayable(opts)) return false
  const idempotent = isIdempotent(opts, retry.methods)
  switch (failure.kind) {
    case 'status':
      return idempotent && retry.statusCodes.includes(failure.status)
    case 'timeout':
      return idempotent && retry.onTryTimeout
    case 'error': {
      const code = codeOf(failure.error)
      if (UNSENT.has(code)) return idempotent || retry.retryUnsent
      return idempotent && CONNECTION.has(code)
    }
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}
