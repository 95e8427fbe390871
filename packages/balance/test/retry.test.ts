import { Readable } from 'node:stream'
import { BalanceError, Balancer, type BalancerOptions, roundRobin } from '@hundredfold/balance'
import { afterEach, describe, expect, it } from 'vitest'
import { hang, ok, refusedOrigin, reset, startServer, type TestServer } from './servers.js'

let servers: TestServer[] = []
let balancer: Balancer | undefined

afterEach(async () => {
  await balancer?.destroy()
  balancer = undefined
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

/** A balancer whose round robin starts at the first origin. */
function balance(endpoints: string[], options: Partial<BalancerOptions> = {}): Balancer {
  balancer = new Balancer({ endpoints, picker: roundRobin(), outlierEjection: false, ...options })
  return balancer
}

const failure = async (promise: Promise<unknown>) => {
  try {
    await promise
  } catch (error) {
    return error as Error & { code?: string; cause?: unknown; attempts?: number }
  }
  throw new Error('expected a failure')
}

describe('retries', () => {
  it('retries an idempotent request refused by one endpoint on another', async () => {
    const good = await startServer('good')
    servers = [good]
    const b = balance([await refusedOrigin(), good.origin])
    const { statusCode, body } = await b.request({ path: '/a', method: 'GET' })
    expect(statusCode).toBe(200)
    expect(await body.text()).toBe('good')
    expect(good.received).toEqual(['GET /a'])
  })

  it('retries a POST whose connection was refused (nothing was sent), with its body', async () => {
    const good = await startServer('good')
    servers = [good]
    const b = balance([await refusedOrigin(), good.origin])
    const { statusCode, body } = await b.request({ path: '/p', method: 'POST', body: 'hello' })
    expect(statusCode).toBe(200)
    await body.text()
    expect(good.bodies).toEqual(['hello'])
  })

  it('never retries a POST after its bytes may have been sent (connection reset)', async () => {
    const [bad, good] = [await startServer('bad', reset), await startServer('good')]
    servers = [bad, good]
    const b = balance([bad.origin, good.origin])
    const error = await failure(b.request({ path: '/p', method: 'POST', body: 'once' }))
    expect(error.code).not.toBe(undefined)
    expect(bad.received).toEqual(['POST /p'])
    expect(good.received).toEqual([])
  })

  it('retries an idempotent request after a reset, to a different endpoint', async () => {
    const [bad, good] = [await startServer('bad', reset), await startServer('good')]
    servers = [bad, good]
    const b = balance([bad.origin, good.origin])
    const { statusCode, body } = await b.request({ path: '/g', method: 'PUT', body: Buffer.from('x') })
    expect(statusCode).toBe(200)
    expect(await body.text()).toBe('good')
    expect(bad.received).toEqual(['PUT /g'])
  })

  it('does not retry a request whose body is a stream', async () => {
    const [bad, good] = [await startServer('bad', reset), await startServer('good')]
    servers = [bad, good]
    const b = balance([bad.origin, good.origin])
    await failure(b.request({ path: '/s', method: 'PUT', body: Readable.from(['a', 'b']) }))
    expect(good.received).toEqual([])
  })

  it('retries 503 for idempotent requests and passes the last response on when no retry is left', async () => {
    const [bad, good] = [await startServer('bad', ok('busy', 503)), await startServer('good')]
    servers = [bad, good]
    const b = balance([bad.origin, good.origin])
    const retried = await b.request({ path: '/r', method: 'GET' })
    expect(retried.statusCode).toBe(200)
    await retried.body.text()
    good.behave(ok('busy too', 503))
    const last = await b.request({ path: '/r', method: 'GET' })
    expect(last.statusCode).toBe(503)
    await last.body.text()
    const post = await b.request({ path: '/r', method: 'POST', body: 'x' })
    expect(post.statusCode).toBe(503)
    await post.body.text()
  })

  it('respects the retry budget: with none left the error is E_RETRY_BUDGET, the try error its cause', async () => {
    const good = await startServer('good')
    servers = [good]
    const b = balance([await refusedOrigin(), good.origin], {
      retry: { budgetPercent: 0, budgetMinPerSecond: 0 },
    })
    const error = await failure(b.request({ path: '/b', method: 'GET' }))
    expect(error).toBeInstanceOf(BalanceError)
    expect(error).toMatchObject({ code: 'E_RETRY_BUDGET', attempts: 1 })
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED')
  })

  it('allows retries up to the budget share of requests plus the minimum', async () => {
    const good = await startServer('good')
    servers = [good]
    const refused = await refusedOrigin()
    // 50% of requests, no minimum: every other request to the dead endpoint may be retried.
    const b = balance([refused, good.origin], { retry: { budgetPercent: 0.5, budgetMinPerSecond: 0 } })
    const results: string[] = []
    for (let i = 0; i < 8; i++) {
      try {
        const { body } = await b.request({ path: '/', method: 'GET' })
        await body.text()
        results.push('ok')
      } catch (error) {
        results.push((error as BalanceError).code)
      }
    }
    // Round robin sends the odd requests to the refused endpoint first; the budget pays for half of them.
    const budgetErrors = results.filter((r) => r === 'E_RETRY_BUDGET').length
    expect(budgetErrors).toBeGreaterThan(0)
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(6)
  })
})

describe('timeouts and aborts', () => {
  it('abandons a try after perTryTimeoutMs and retries it on another endpoint', async () => {
    const [stuck, good] = [await startServer('stuck', hang), await startServer('good')]
    servers = [stuck, good]
    const b = balance([stuck.origin, good.origin], { perTryTimeoutMs: 100 })
    const { statusCode, body } = await b.request({ path: '/t', method: 'GET' })
    expect(statusCode).toBe(200)
    expect(await body.text()).toBe('good')
  })

  it('fails with E_TRY_TIMEOUT when the timed-out try cannot be retried', async () => {
    const stuck = await startServer('stuck', hang)
    servers = [stuck]
    const b = balance([stuck.origin], { perTryTimeoutMs: 100 })
    const error = await failure(b.request({ path: '/t', method: 'GET' }))
    expect(error).toMatchObject({ code: 'E_TRY_TIMEOUT', endpoint: stuck.origin, timeoutMs: 100 })
  })

  it("stops at the caller's abort and aborts the try in flight", async () => {
    const stuck = await startServer('stuck', hang)
    servers = [stuck]
    const b = balance([stuck.origin])
    const controller = new AbortController()
    const pending = b.request({ path: '/slow', method: 'GET', signal: controller.signal })
    await waitFor(() => stuck.received.length === 1)
    controller.abort(new Error('caller gave up'))
    const error = await failure(pending)
    expect(error).toMatchObject({ code: 'E_ABORTED' })
    expect((error.cause as Error).message).toBe('caller gave up')
    await waitFor(() => b.endpoints()[0]!.outstanding === 0)
  })

  it('reports a deadline (AbortSignal.timeout) as E_DEADLINE and never retries after it', async () => {
    const stuck = await startServer('stuck', hang)
    const other = await startServer('other', hang)
    servers = [stuck, other]
    const b = balance([stuck.origin, other.origin], { perTryTimeoutMs: 10_000 })
    const error = await failure(b.request({ path: '/d', method: 'GET', signal: AbortSignal.timeout(100) }))
    expect(error).toMatchObject({ code: 'E_DEADLINE' })
    expect(stuck.received.length + other.received.length).toBe(1)
  })
})

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(condition()).toBe(true)
}
