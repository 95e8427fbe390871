import { Agent, request } from 'node:http'

/** One registered `/wrk2-api` user: its client-side numeric id and username. */
export interface LoadUser {
  readonly externalId: string
  readonly username: string
}

/** A compose the server answered 2xx: its text is unique, so it names the post. */
export interface AckedPost {
  readonly author: string
  readonly text: string
  readonly at: number
}

/** A follow the server answered 2xx (external ids). */
export interface AckedFollow {
  readonly follower: string
  readonly followee: string
  readonly at: number
}

/** What an open-loop write load did. */
export interface WriteLoadFigures {
  /** Requests sent, and over how long (ms) they were sent. */
  readonly offered: number
  readonly offeredMs: number
  /** The furthest the sender fell behind its schedule, in requests. */
  readonly maxBehind: number
  readonly acked: number
  /** Answered with a status other than 2xx, by status. */
  readonly failedByStatus: Readonly<Record<string, number>>
  /** No answer (connection error, timeout). */
  readonly unanswered: number
}

/** A write answered with an error, or not at all (status 0): it may or may not be stored. */
export interface FailedWrite {
  readonly kind: 'compose' | 'follow'
  readonly status: number
  readonly at: number
  /** A compose's text. */
  readonly text?: string
}

export interface WriteLoad {
  readonly posts: readonly AckedPost[]
  readonly follows: readonly AckedFollow[]
  /** Writes answered with an error (status 0: not answered), with when they were sent. */
  readonly failures: readonly FailedWrite[]
  /** Acknowledged writes between two instants (performance.now()). */
  ackedBetween(from: number, to: number): number
  /** Stops sending and waits for the answers (up to `timeoutMs`; those still missing then are unanswered). */
  stop(): Promise<WriteLoadFigures>
}

export interface WriteLoadOptions {
  readonly url: string
  readonly users: readonly LoadUser[]
  /** Writes per second offered, whatever the answers do (open loop). */
  readonly rate: number
  /** Share of composes; the rest are follows. @default 0.5 */
  readonly composeShare?: number
  /**
   * Sockets to the server; requests beyond wait here, on schedule, their wait counted. (1024 made a
   * storm of new connections whenever answers slowed, shed by the server with 503.) @default 256
   */
  readonly connections?: number
  /** A request not answered within this is counted unanswered. @default 10000 */
  readonly timeoutMs?: number
}

/**
 * Composes and follows through `/wrk2-api` at a fixed offered rate: requests leave on schedule whether
 * or not earlier ones were answered (an open loop, as wrk2 does), so a pause in the server shows as
 * waiting requests, never as a slower sender. Each follow is a pair not used before.
 */
export function startWriteLoad(options: WriteLoadOptions): WriteLoad {
  const { users, rate } = options
  const composeShare = options.composeShare ?? 0.5
  const timeoutMs = options.timeoutMs ?? 10_000
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections ?? 256 })
  const target = new URL(options.url)
  const posts: AckedPost[] = []
  const follows: AckedFollow[] = []
  const failures: FailedWrite[] = []
  const failedByStatus: Record<string, number> = {}
  const ackTimes: number[] = []
  const inFlight = new Set<Promise<void>>()
  const requests = new Set<ReturnType<typeof request>>()
  let unanswered = 0
  let sent = 0
  let composes = 0
  let pairs = 0
  let maxBehind = 0
  const started = performance.now()
  let stoppedAt = 0

  const send = (
    path: string,
    form: Record<string, string>,
    onAck: (at: number) => void,
    kind: FailedWrite['kind'],
    text?: string,
  ) => {
    const body = new URLSearchParams(form).toString()
    const at = performance.now()
    let settled = false
    const fail = (status: number) => {
      if (settled) return
      settled = true
      if (status === 0) unanswered++
      else failedByStatus[status] = (failedByStatus[status] ?? 0) + 1
      failures.push({ kind, status, at, ...(text === undefined ? {} : { text }) })
    }
    const done = new Promise<void>((resolve) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path,
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'content-length': Buffer.byteLength(body),
          },
          timeout: timeoutMs,
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            const status = res.statusCode ?? 0
            if (settled) return resolve()
            if (status >= 200 && status < 300) {
              settled = true
              const now = performance.now()
              ackTimes.push(now)
              onAck(now)
            } else fail(status)
            resolve()
          })
          res.on('error', () => {
            fail(0)
            resolve()
          })
        },
      )
      requests.add(req)
      req.on('close', () => requests.delete(req))
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', () => {
        fail(0)
        resolve()
      })
      req.end(body)
    })
    inFlight.add(done)
    void done.then(() => inFlight.delete(done))
  }

  const one = () => {
    const n = sent++
    // Composes and follows interleaved by share, deterministically.
    if (Math.floor((n + 1) * composeShare) > Math.floor(n * composeShare)) {
      const author = users[composes % users.length]!
      const text = `reshard load post ${composes++}`
      send(
        '/wrk2-api/post/compose',
        { username: author.username, user_id: author.externalId, text, post_type: '0' },
        (at) => posts.push({ author: author.externalId, text, at }),
        'compose',
        text,
      )
    } else {
      // Pair k: follower k mod n follows the one 1 + floor(k / n) places after it: never the same pair twice.
      const k = pairs++
      const follower = users[k % users.length]!
      const followee = users[(k + 1 + Math.floor(k / users.length)) % users.length]!
      send(
        '/wrk2-api/user/follow',
        { user_id: follower.externalId, followee_id: followee.externalId },
        (at) => follows.push({ follower: follower.externalId, followee: followee.externalId, at }),
        'follow',
      )
    }
  }

  const tick = setInterval(() => {
    const due = Math.floor(((performance.now() - started) * rate) / 1000)
    maxBehind = Math.max(maxBehind, due - sent)
    while (sent < due) one()
  }, 2)

  return {
    posts,
    follows,
    failures,
    ackedBetween(from, to) {
      let n = 0
      for (const t of ackTimes) if (t >= from && t < to) n++
      return n
    },
    async stop() {
      if (stoppedAt === 0) {
        clearInterval(tick)
        stoppedAt = performance.now()
      }
      const grace = setTimeout(() => {
        for (const req of requests) req.destroy(new Error('stopped'))
      }, timeoutMs)
      while (inFlight.size > 0) await Promise.all([...inFlight])
      clearTimeout(grace)
      agent.destroy()
      return {
        offered: sent,
        offeredMs: stoppedAt - started,
        maxBehind,
        acked: ackTimes.length,
        failedByStatus: { ...failedByStatus },
        unanswered,
      }
    },
  }
}
