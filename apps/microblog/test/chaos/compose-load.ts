import { setTimeout as sleep } from 'node:timers/promises'

/** An author the load composes as. */
export interface Author {
  id: string
  token: string
}

export interface ComposeLoadOptions {
  /** The API process. */
  baseUrl: string
  authors: readonly Author[]
  /** Compose requests to have acknowledged (each picks a random author). */
  composes: number
  /** Requests in flight at most. */
  concurrency: number
  random: () => number
  /** Called after each acknowledgement with the number so far. */
  onAck?: (acknowledged: number) => void
  /** A request unanswered for this long is abandoned and retried. @default 30_000 */
  requestTimeoutMs?: number
}

export interface ComposeLoadResult {
  /** Every post answered `202`: post id → author id. */
  acked: Map<string, string>
  /** Retries by reason: `503 E_BACKLOG`, `503 E_QUEUE_UNAVAILABLE`, `network`, `timeout`, or another status. */
  retries: Record<string, number>
  durationMs: number
}

/**
 * Sends `composes` posts (`POST /api/v1/posts`) with bounded concurrency, as a client that wants each
 * one stored: a `503` (back-pressure, queue unavailable), a connection error or a timeout is retried
 * with the same text — as a new request, so a new post. Only `202`s count as acknowledged. Compose `i`
 * has the text `chaos <i>`, so a post stored without a `202` can be traced to its request.
 */
export async function runComposeLoad(options: ComposeLoadOptions): Promise<ComposeLoadResult> {
  const { authors, composes, random } = options
  const timeoutMs = options.requestTimeoutMs ?? 30_000
  const url = new URL('/api/v1/posts', options.baseUrl)
  const acked = new Map<string, string>()
  const retries: Record<string, number> = {}
  const retry = (reason: string) => {
    retries[reason] = (retries[reason] ?? 0) + 1
  }
  const started = Date.now()
  let next = 0

  const composeOne = async (i: number) => {
    const author = authors[Math.floor(random() * authors.length)]!
    const body = JSON.stringify({ text: `chaos ${i}` })
    for (;;) {
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${author.token}` },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        })
      } catch (err) {
        retry((err as Error).name === 'TimeoutError' ? 'timeout' : 'network')
        await sleep(50 + random() * 200)
        continue
      }
      const text = await res.text().catch(() => '')
      if (res.status === 202) {
        const post = JSON.parse(text) as { post_id: string; author?: { user_id?: string } }
        if (post.author?.user_id !== author.id) throw new Error(`compose ${i}: another author in ${text}`)
        if (acked.has(post.post_id))
          throw new Error(`compose ${i}: post id ${post.post_id} acknowledged twice`)
        acked.set(post.post_id, author.id)
        options.onAck?.(acked.size)
        return
      }
      if (res.status >= 400 && res.status < 500) {
        throw new Error(`compose ${i}: ${res.status} ${text.slice(0, 300)}`)
      }
      // A 5xx: the client tries again. 503 names its reason; Retry-After (back-pressure) is honoured, capped.
      let code = ''
      try {
        code = (JSON.parse(text) as { code?: string }).code ?? ''
      } catch {}
      retry(`${res.status}${code ? ` ${code}` : ''}`)
      const retryAfterMs = Number(res.headers.get('retry-after') ?? 0) * 1000
      await sleep(Math.min(retryAfterMs, 2000) * (0.5 + random() / 2) + 50 + random() * 200)
    }
  }

  const lane = async () => {
    while (next < composes) await composeOne(next++)
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, composes) }, lane))
  return { acked, retries, durationMs: Date.now() - started }
}
