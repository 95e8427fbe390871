import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import type { Endpoint } from './endpoint.js'
import type { Handler } from './handler.js'
import type { PickerAttempt, PickerOutcome } from './pickers/picker.js'

type Controller = Dispatcher.DispatchController
type Headers = Record<string, string | string[] | undefined>

/** What an {@link Attempt} reports to the request it belongs to. @internal */
export interface AttemptOwner {
  now(): number
  /** The attempt got its response head; the owner commits to it or retries. */
  onHead(attempt: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void
  onData(attempt: Attempt, chunk: Buffer): void
  onEnd(attempt: Attempt, trailers: Headers): void
  onError(attempt: Attempt, error: Error): void
  onUpgrade(attempt: Attempt, statusCode: number, headers: Headers, socket: Duplex): void
  onStarted(attempt: Attempt, controller: Controller): void
  /** The try is over for the endpoint (response ended or failed): release it with its outcome. */
  release(attempt: Attempt, outcome: PickerOutcome): void
}

/**
 * One try of a request on one endpoint: the v7 handler given to the endpoint's pool. Once abandoned (the
 * request moved on: a retry, a timeout, the caller's abort), its events are dropped, but the endpoint is
 * released only when the pool is done with it, so `outstanding` stays true. @internal
 */
export class Attempt implements Handler, PickerAttempt<Endpoint> {
  readonly endpoint: Endpoint
  readonly startedAt: number
  controller: Controller | undefined
  abandoned = false
  /** The timer is the picker's (a probe's): on expiry, retry if allowed, else let the try run on. */
  soft = false
  timer: NodeJS.Timeout | undefined
  #abandonReason: Error | undefined
  #outcome: PickerOutcome | undefined
  #released = false
  readonly #owner: AttemptOwner

  constructor(owner: AttemptOwner, endpoint: Endpoint, startedAt: number) {
    this.#owner = owner
    this.endpoint = endpoint
    this.startedAt = startedAt
  }

  /** Fixes how the try went, once; later events do not change it. */
  decide(kind: PickerOutcome['kind']): void {
    if (this.#outcome !== undefined) return
    this.#outcome = { kind, latencyMs: Math.max(0, this.#owner.now() - this.startedAt) }
  }

  /** Stops delivering this try; aborts it on the wire with `reason` if given (now, or when it starts). */
  abandon(reason?: Error): void {
    this.abandoned = true
    this.clearTimer()
    if (reason === undefined) return
    this.#abandonReason = reason
    this.controller?.abort(reason)
  }

  clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller
    if (this.#abandonReason !== undefined) controller.abort(this.#abandonReason)
    else if (!this.abandoned) this.#owner.onStarted(this, controller)
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: Headers, socket: Duplex): void {
    this.clearTimer()
    this.decide('success')
    this.#release()
    if (!this.abandoned) this.#owner.onUpgrade(this, statusCode, headers, socket)
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    if (this.abandoned) return
    if (statusCode >= 200) {
      this.clearTimer()
      this.decide(statusCode >= 500 ? 'failure' : 'success')
    }
    this.#owner.onHead(this, statusCode, headers, statusMessage)
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    if (!this.abandoned) this.#owner.onData(this, chunk)
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    this.#release()
    if (!this.abandoned) this.#owner.onEnd(this, trailers)
  }

  onResponseError(_controller: Controller | undefined, error: Error): void {
    this.clearTimer()
    this.decide(this.abandoned && this.#outcome === undefined ? 'cancelled' : 'failure')
    this.#release()
    if (!this.abandoned) this.#owner.onError(this, error)
  }

  #release(): void {
    if (this.#released) return
    this.#released = true
    this.decide('success')
    this.#owner.release(this, this.#outcome!)
  }
}
