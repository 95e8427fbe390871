import { performance } from 'node:perf_hooks'
import { abortedError, IdError } from '../errors.js'
import { checkInteger } from '../validate.js'

/**
 * The subset of an undici `Dispatcher` the client uses: `request()` with a path. A
 * `@hundredfold/balance` `Balancer` (or any undici `Pool`, `Agent`, `BalancedPool`) fits, so the
 * client needs no dependency of its own.
 */
export interface IdDispatcher {
  request(options: {
    origin?: string
    path: string
    method: 'GET'
    signal?: AbortSignal
  }): Promise<{ statusCode: number; body: { text(): Promise<string> } }>
}

/** Options of {@link IdClient}. */
export interface IdClientOptions {
  /**
   * Base URL of the ID service, or several tried in turn when one fails. Required without `dispatcher`;
   * with one, the origin its requests name (the balancer picks the instance).
   */
  baseUrl?: string | readonly string[]
  /**
   * Send the refills through this dispatcher instead of `fetch`: a `@hundredfold/balance` `Balancer`
   * over the service's instances, which picks one per refill, retries another when one fails and ejects
   * the dead. `baseUrl` may then be left out. @default none (`fetch` over `baseUrl`)
   */
  dispatcher?: IdDispatcher
  /**
   * Ids fetched per request.
   * @default 1000
   */
  batchSize?: number
  /**
   * Refill in the background when the buffer falls to this many ids, so callers rarely wait.
   * @default batchSize / 4
   */
  lowWater?: number
  /**
   * Drop buffered ids older than this (ms since fetched): buffered ids are unique forever, but stale ones
   * make "id order ≈ creation order" looser.
   * @default 2_000
   */
  maxAgeMs?: number
  /**
   * Per-request timeout, in ms.
   * @default 2_000
   */
  timeoutMs?: number
  /** `fetch` to use; inject one in tests. @default globalThis.fetch */
  fetch?: typeof fetch
}

/**
 * A client of the ID service that keeps a local buffer: `next()` takes from it without a round trip, a
 * refill of `batchSize` ids starts when it falls to `lowWater`, and concurrent callers share one refill.
 *
 * @example
 * const ids = new IdClient({ baseUrl: 'http://ids:8790' })
 * const id = await ids.next(signal)          // '187535720448028672'
 * const some = await ids.nextBatch(50, signal)
 *
 * // or through a balancer over the service's instances:
 * const balanced = new IdClient({ dispatcher: new Balancer({ endpoints: ['http://ids-0:8790', 'http://ids-1:8790'] }) })
 */
export class IdClient {
  readonly #baseUrls: readonly string[]
  readonly #dispatcher: IdDispatcher | undefined
  readonly #batchSize: number
  readonly #lowWater: number
  readonly #maxAgeMs: number
  readonly #timeoutMs: number
  readonly #fetch: typeof fetch
  #buffer: string[] = []
  #head = 0
  #fetchedAt = 0
  #refill: Promise<void> | undefined
  #preferred = 0

  constructor(options: IdClientOptions) {
    const dispatcher = options?.dispatcher
    if (dispatcher !== undefined && typeof dispatcher?.request !== 'function') {
      throw new IdError(
        'E_INVALID_OPTION',
        'options.dispatcher must have a request() method (an undici Dispatcher)',
        {
          option: 'options.dispatcher',
        },
      )
    }
    const given = typeof options?.baseUrl === 'string' ? [options.baseUrl] : options?.baseUrl
    const urls = given === undefined && dispatcher ? ['http://id-service'] : given
    if (!Array.isArray(urls) || urls.length === 0 || urls.some((url) => !URL.canParse(url))) {
      throw new IdError('E_INVALID_OPTION', 'options.baseUrl must be a URL or a non-empty list of URLs', {
        option: 'options.baseUrl',
        value: options?.baseUrl,
      })
    }
    this.#dispatcher = dispatcher
    this.#baseUrls = Object.freeze(urls.map((url) => url.replace(/\/+$/, '')))
    this.#batchSize = checkInteger(options.batchSize ?? 1000, 'options.batchSize', 1, 10_000)
    this.#lowWater = checkInteger(
      options.lowWater ?? Math.floor(this.#batchSize / 4),
      'options.lowWater',
      0,
      this.#batchSize,
    )
    this.#maxAgeMs = checkInteger(options.maxAgeMs ?? 2_000, 'options.maxAgeMs', 1, Number.MAX_SAFE_INTEGER)
    this.#timeoutMs = checkInteger(
      options.timeoutMs ?? 2_000,
      'options.timeoutMs',
      1,
      Number.MAX_SAFE_INTEGER,
    )
    this.#fetch = options.fetch ?? globalThis.fetch
  }

  /** Ids in the buffer now (fresh ones only). */
  get buffered(): number {
    return this.#fresh() ? this.#buffer.length - this.#head : 0
  }

  /**
   * One id, from the buffer when it holds one.
   *
   * @throws {IdError} `E_ID_SERVICE` when no service answered; `E_ABORTED`.
   * @example
   * const id = await ids.next(AbortSignal.timeout(100))
   */
  async next(signal?: AbortSignal): Promise<string> {
    const [id] = await this.nextBatch(1, signal)
    return id!
  }

  /**
   * `count` ids (at most `batchSize`), increasing within one refill.
   *
   * @throws {IdError} `E_INVALID_OPTION`, `E_ID_SERVICE`, `E_ABORTED`.
   */
  async nextBatch(count: number, signal?: AbortSignal): Promise<string[]> {
    checkInteger(count, 'count', 1, this.#batchSize)
    for (;;) {
      if (signal?.aborted) throw abortedError(signal)
      const available = this.buffered
      if (available >= count) {
        const ids = this.#buffer.slice(this.#head, this.#head + count)
        this.#head += count
        if (available - count <= this.#lowWater) this.#startRefill()
        return ids
      }
      await this.#waitForRefill(signal)
    }
  }

  #fresh(): boolean {
    return performance.now() - this.#fetchedAt <= this.#maxAgeMs
  }

  #startRefill(): Promise<void> {
    this.#refill ??= this.#fetchBatch().finally(() => {
      this.#refill = undefined
    })
    // A background refill's failure surfaces to the caller that waits for it, not here.
    this.#refill.catch(() => {})
    return this.#refill
  }

  async #waitForRefill(signal?: AbortSignal): Promise<void> {
    const refill = this.#startRefill()
    if (!signal) return refill
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(abortedError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      refill.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }

  /** One refill request: through the dispatcher when there is one (it balances and retries), else `fetch`. */
  async #get(url: string): Promise<{ ok: boolean; status: number; text: string }> {
    const signal = AbortSignal.timeout(this.#timeoutMs)
    if (this.#dispatcher) {
      const parsed = new URL(url)
      const response = await this.#dispatcher.request({
        origin: parsed.origin,
        path: `${parsed.pathname}${parsed.search}`,
        method: 'GET',
        signal,
      })
      const text = await response.body.text()
      const status = response.statusCode
      return { ok: status >= 200 && status < 300, status, text }
    }
    const response = await this.#fetch(url, { signal })
    return { ok: response.ok, status: response.status, text: await response.text() }
  }

  async #fetchBatch(): Promise<void> {
    let lastError: unknown
    for (let attempt = 0; attempt < this.#baseUrls.length; attempt++) {
      const index = (this.#preferred + attempt) % this.#baseUrls.length
      const url = `${this.#baseUrls[index]}/ids?count=${this.#batchSize}`
      try {
        const response = await this.#get(url)
        const text = response.text
        if (!response.ok) {
          lastError = new IdError(
            'E_ID_SERVICE',
            `${url} answered ${response.status}: ${text.slice(0, 200)}`,
            {
              status: response.status,
            },
          )
          continue
        }
        const { ids } = JSON.parse(text) as { ids: string[] }
        if (!Array.isArray(ids) || ids.length !== this.#batchSize) {
          throw new Error(`expected ${this.#batchSize} ids`)
        }
        this.#preferred = index
        const rest = this.#fresh() ? this.#buffer.slice(this.#head) : []
        this.#buffer = rest.length === 0 ? ids : rest.concat(ids)
        this.#head = 0
        this.#fetchedAt = performance.now()
        return
      } catch (error) {
        lastError = error
      }
    }
    if (lastError instanceof IdError) throw lastError
    throw new IdError(
      'E_ID_SERVICE',
      `no ID service answered (${this.#baseUrls.join(', ')})`,
      {},
      {
        cause: lastError,
      },
    )
  }
}
