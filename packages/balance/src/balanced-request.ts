import type { Duplex } from 'node:stream'
import type { Dispatcher } from 'undici'
import { Attempt, type AttemptOwner } from './attempt.js'
import type { Endpoint } from './endpoint.js'
import { BalanceError } from './errors.js'
import type { Handler } from './handler.js'
import type { ResolvedBalancerOptions } from './options.js'
import type { PickerOutcome } from './pickers/picker.js'
import { RequestController } from './request-controller.js'
import { retryable, type TryFailure } from './retry-policy.js'

type Headers = Record<string, string | string[] | undefined>

/** What a request needs of its balancer. @internal */
export interface RequestHost {
  readonly retry: ResolvedBalancerOptions['retry']
  readonly perTryTimeoutMs: number | false
  readonly closed: boolean
  now(): number
  /** An endpoint not in `tried`, or `undefined` if there is none. */
  choose(tried: ReadonlySet<Endpoint>): Endpoint | undefined
  /** Whether there is any endpoint at all. */
  hasEndpoints(): boolean
  /** Whether `choose(tried)` would find an endpoint (without picking one). */
  hasCandidate(tried: ReadonlySet<Endpoint>): boolean
  /** Counts a request (not a try) towards the retry budget. */
  deposit(): void
  /** Takes a retry from the budget; `false` if it is spent. */
  withdrawRetry(): boolean
  /** The picker's timeout for the try about to be sent to `endpoint` (a probe's), if any. */
  pickerTimeoutMs(endpoint: Endpoint): number | undefined
  /** Counting and diagnostics. */
  tryStarted(attempt: Attempt): void
  tryEnded(attempt: Attempt, outcome: PickerOutcome): void
  retrying(attempt: Attempt, reason: string): void
  budgetExhausted(attempt: Attempt): void
}

/**
 * One request through the balancer: picks an endpoint, sends a try, and on a retryable failure before
 * anything reached the caller sends the next try to another endpoint, within the retry budget and the
 * caller's deadline. The caller's handler sees one `onRequestStart` and one response (or one error). @internal
 */
export class BalancedRequest implements AttemptOwner {
  readonly #host: RequestHost
  readonly #opts: Dispatcher.DispatchOptions & { signal?: unknown }
  readonly #handler: Handler
  readonly #controller: RequestController
  readonly #tried = new Set<Endpoint>()
  #current: Attempt | undefined
  #committed: Attempt | undefined
  #done = false
  #attempts = 0
  #budgetSpent = false

  constructor(host: RequestHost, opts: Dispatcher.DispatchOptions, handler: Handler) {
    this.#host = host
    this.#opts = opts
    this.#handler = handler
    this.#controller = new RequestController((reason) => this.#abort(reason))
  }

  /** Hands the caller its controller; `false` if the caller aborted at once. */
  begin(): boolean {
    this.#host.deposit()
    this.#handler.onRequestStart?.(this.#controller, {})
    return !this.#done
  }

  /** Sends the first try (once endpoints are known). */
  send(): void {
    if (this.#done) return
    if (this.#host.closed) {
      this.#fail(new BalanceError('E_CLOSED', 'the balancer is closed'))
      return
    }
    this.#send(undefined)
  }

  /** Fails the request before any try (discovery failed, the balancer closed). */
  fail(error: Error): void {
    this.#fail(error)
  }

  now(): number {
    return this.#host.now()
  }

  onStarted(attempt: Attempt, controller: Dispatcher.DispatchController): void {
    if (attempt === this.#current) this.#controller.target = controller
  }

  onHead(attempt: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
    if (this.#committed === undefined && statusCode >= 200) {
      if (this.#mayRetry({ kind: 'status', status: statusCode }, attempt)) {
        // Let the pool read the failed response to its end, so the connection is kept.
        attempt.abandon()
        this.#host.retrying(attempt, `status ${statusCode}`)
        this.#send(undefined)
        return
      }
      this.#committed = attempt
      this.#controller.target = attempt.controller
    }
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage)
  }

  onData(_attempt: Attempt, chunk: Buffer): void {
    this.#handler.onResponseData?.(this.#controller, chunk)
  }

  onEnd(_attempt: Attempt, trailers: Headers): void {
    this.#done = true
    this.#handler.onResponseEnd?.(this.#controller, trailers)
  }

  onUpgrade(attempt: Attempt, statusCode: number, headers: Headers, socket: Duplex): void {
    this.#committed = attempt
    this.#done = true
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket)
  }

  onError(attempt: Attempt, error: Error): void {
    if (this.#done) return
    if (this.#committed === undefined && this.#mayRetry({ kind: 'error', error }, attempt)) {
      attempt.abandon()
      this.#host.retrying(attempt, String((error as { code?: unknown }).code ?? error.name))
      this.#send(error)
      return
    }
    this.#fail(this.#budgetSpent ? this.#budgetError(attempt, error) : error)
  }

  release(attempt: Attempt, outcome: PickerOutcome): void {
    this.#host.tryEnded(attempt, outcome)
  }

  #send(lastError: Error | undefined): void {
    const endpoint = this.#host.choose(this.#tried)
    if (endpoint === undefined) {
      this.#fail(
        lastError ??
          new BalanceError(
            this.#host.hasEndpoints() ? 'E_ALL_EJECTED' : 'E_NO_ENDPOINTS',
            this.#host.hasEndpoints() ? 'no endpoint left to try' : 'the balancer has no endpoints',
            { attempts: this.#attempts },
          ),
      )
      return
    }
    const attempt = new Attempt(this, endpoint, this.#host.now())
    const perTry = this.#host.perTryTimeoutMs
    let timeoutMs = perTry === false ? Number.POSITIVE_INFINITY : perTry
    const pickerMs = this.#host.pickerTimeoutMs(endpoint)
    if (
      pickerMs !== undefined &&
      pickerMs < timeoutMs &&
      retryable({ kind: 'timeout' }, this.#opts, this.#host.retry)
    ) {
      timeoutMs = pickerMs
      attempt.soft = true
    }
    this.#current = attempt
    this.#tried.add(endpoint)
    this.#attempts++
    this.#host.tryStarted(attempt)
    if (timeoutMs !== Number.POSITIVE_INFINITY) {
      attempt.timer = setTimeout(() => this.#timedOut(attempt, timeoutMs), timeoutMs)
    }
    endpoint.pool.dispatch({ ...this.#opts, origin: endpoint.origin }, attempt)
  }

  #timedOut(attempt: Attempt, timeoutMs: number): void {
    attempt.timer = undefined
    if (this.#done || attempt !== this.#current || this.#committed !== undefined) return
    if (attempt.soft) {
      // The picker's own timeout (a probe's): retry elsewhere if we may, else let the try run on.
      if (!this.#mayRetry({ kind: 'timeout' }, attempt)) return
      attempt.decide('failure')
      attempt.abandon(this.#timeoutError(attempt, timeoutMs))
      this.#host.retrying(attempt, 'probe timeout')
      this.#send(undefined)
      return
    }
    attempt.decide('failure')
    const error = new BalanceError(
      'E_TRY_TIMEOUT',
      `no response from ${attempt.endpoint.origin} in ${timeoutMs} ms`,
      {
        endpoint: attempt.endpoint.origin,
        attempts: this.#attempts,
        timeoutMs,
      },
    )
    attempt.abandon(error)
    if (this.#mayRetry({ kind: 'timeout' }, attempt)) {
      this.#host.retrying(attempt, 'try timeout')
      this.#send(error)
      return
    }
    this.#fail(this.#budgetSpent ? this.#budgetError(attempt, error) : error)
  }

  #timeoutError(attempt: Attempt, timeoutMs: number): BalanceError {
    const endpoint = attempt.endpoint.origin
    return new BalanceError('E_TRY_TIMEOUT', `no response from ${endpoint} in ${timeoutMs} ms`, {
      endpoint,
      attempts: this.#attempts,
      timeoutMs,
    })
  }

  #mayRetry(failure: TryFailure, attempt: Attempt): boolean {
    const retry = this.#host.retry
    if (retry === false || this.#done || this.#host.closed) return false
    if (this.#attempts > retry.maxRetries) return false
    if (!retryable(failure, this.#opts, retry)) return false
    const signal = this.#opts.signal as { aborted?: boolean } | undefined
    if (signal?.aborted === true || this.#controller.aborted) return false
    if (!this.#host.hasCandidate(this.#tried)) return false
    if (!this.#host.withdrawRetry()) {
      this.#budgetSpent = true
      this.#host.budgetExhausted(attempt)
      return false
    }
    return true
  }

  #budgetError(attempt: Attempt, cause: Error): BalanceError {
    return new BalanceError(
      'E_RETRY_BUDGET',
      `the retry budget is spent; the try on ${attempt.endpoint.origin} failed`,
      { endpoint: attempt.endpoint.origin, attempts: this.#attempts },
      { cause },
    )
  }

  #abort(reason: Error): void {
    if (this.#done) return
    if (this.#committed !== undefined) {
      // The response is under way: abort it on the wire; its error reaches the caller from there.
      this.#committed.controller?.abort(reason)
      return
    }
    this.#current?.abandon(reason)
    const timeout = (reason as { name?: unknown } | null)?.name === 'TimeoutError'
    const endpoint = this.#current?.endpoint.origin
    this.#fail(
      new BalanceError(
        timeout ? 'E_DEADLINE' : 'E_ABORTED',
        timeout ? 'the deadline passed' : 'the request was aborted',
        { endpoint, attempts: this.#attempts },
        { cause: reason },
      ),
    )
  }

  #fail(error: Error): void {
    if (this.#done) return
    this.#done = true
    this.#current?.clearTimer()
    this.#handler.onResponseError?.(this.#controller, error)
  }
}
