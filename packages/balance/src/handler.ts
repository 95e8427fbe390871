import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'

type Controller = Dispatcher.DispatchController
type Headers = Record<string, string | string[] | undefined>

/** A dispatch handler in undici v7's form (`onRequestStart`, `onResponseStart`, …). @internal */
export interface Handler {
  onRequestStart?(controller: Controller, context: unknown): void
  onRequestUpgrade?(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void
  onResponseStart?(controller: Controller, statusCode: number, headers: Headers, statusMessage?: string): void
  onResponseData?(controller: Controller, chunk: Buffer): void
  onResponseEnd?(controller: Controller, trailers: Headers): void
  onResponseError?(controller: Controller, error: Error): void
}

/**
 * The handler in v7 form: as is if it has `onRequestStart`, else the legacy `onConnect`/`onHeaders`/… handler
 * (what undici's `request` and `fetch` still pass) wrapped, as undici's own `WrapHandler` does. @internal
 */
export function toHandler(handler: Dispatcher.DispatchHandler): Handler {
  return typeof handler.onRequestStart === 'function' ? (handler as Handler) : new LegacyHandler(handler)
}

class LegacyHandler implements Handler {
  readonly #h: Dispatcher.DispatchHandler

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#h = handler
  }

  onRequestStart(controller: Controller): void {
    this.#h.onConnect?.((reason) => controller.abort(reason as Error))
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#h.onUpgrade?.(statusCode, raw(controller.rawHeaders, headers) as Buffer[], socket)
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    const rawHeaders = raw(controller.rawHeaders, headers)
    const resume = () => controller.resume()
    if (this.#h.onHeaders?.(statusCode, rawHeaders, resume, statusMessage ?? '') === false) controller.pause()
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#h.onData?.(chunk) === false) controller.pause()
  }

  onResponseEnd(controller: Controller, trailers: Headers): void {
    this.#h.onComplete?.(raw(controller.rawTrailers, trailers) as unknown as string[])
  }

  onResponseError(_controller: Controller, error: Error): void {
    if (typeof this.#h.onError !== 'function') throw error
    this.#h.onError(error)
  }
}

/** The raw `[name, value, …]` buffers: the controller's own when the pool kept them, else built. */
function raw(given: unknown, headers: Headers): Buffer[] {
  if (Array.isArray(given) && given.every((item) => Buffer.isBuffer(item) || Array.isArray(item))) {
    return given as Buffer[]
  }
  const out: Buffer[] = []
  for (const [key, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [value]) {
      out.push(Buffer.from(key, 'latin1'), Buffer.from(String(item), 'latin1'))
    }
  }
  return out
}
