import { connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { ownCpuSeconds } from '../machine/cpu.js'
import { createRandom } from '../random.js'
import { type ArrivalProcess, interArrival } from './arrivals.js'
import {
  createLatencyHistogram,
  type LatencySummary,
  recordLatencyMs,
  summarizeLatency,
} from './histogram.js'

/** Options of {@link runRawLoad}. */
export interface RawLoadOptions {
  host: string
  port: number
  /** One GET request-target for every request, e.g. `/ids`. */
  path: string
  /** `open`: a fixed schedule of send times; `closed`: each connection sends again on each response. */
  mode: 'open' | 'closed'
  connections: number
  /** Open loop only. */
  ratePerSecond?: number
  /** Open loop only. @default 'constant' */
  arrival?: ArrivalProcess
  warmupMs: number
  durationMs: number
  /** Open loop: how long after the window to wait for measured requests still in flight. */
  drainMs: number
  seed: number
}

/** What one {@link runRawLoad} measured. */
export interface RawLoadResult {
  mode: 'open' | 'closed'
  offered_rps: number | null
  /** Requests whose intended send time fell in the window (open loop). */
  scheduled: number
  /** 2xx responses in the window, per second. */
  achieved_rps: number
  errors: number
  /** Open loop: from the intended send time; closed loop: from the actual send. */
  latency: LatencySummary
  /** Open loop: how late requests were written against their intended time (sender lag and queueing). */
  send_lag: LatencySummary
  /** From the actual send to the response: the server's share of `latency` (plus loopback). */
  service_time: LatencySummary
  /** Most requests waiting for a free connection at once (open loop). */
  backlog_max: number
  /** Sender CPU over the window, in cores. */
  sender_cpu: number
}

interface Connection {
  socket: Socket
  intended: number
  sentAt: number
  /** Part of a response that arrived split over reads; usually empty. */
  partial: Buffer | undefined
}

const HEAD_END = Buffer.from('\r\n\r\n')
const CONTENT_LENGTH = Buffer.from('ontent-Length:')
const CONTENT_LENGTH_LOWER = Buffer.from('ontent-length:')
const READ_BUFFER_BYTES = 64 * 1024

/**
 * A lean HTTP/1.1 load sender on raw `node:net` sockets, for one small GET repeated (the ID service's one-id
 * requests, a hello-world): a shared load generator for servers that answer in tens of microseconds.
 *
 * Why not the kit's undici sender (`loadgen/open-loop.ts`): it schedules with setTimeout, which wakes at 1 ms
 * granularity at best — more than a sub-millisecond p99 — and it runs inside the suite process, unpinned,
 * allocating a request object, a promise and response parsing per request, so its own CPU use and GC pauses
 * land in the latencies of a server that answers in 50 µs. Here a request is one pre-built buffer written to
 * an idle connection, a response is found by its `Content-Length` without building strings, the schedule is
 * polled with `setImmediate` (sub-millisecond dispatch) and each latency is taken from the request's
 * *intended* send time, so queueing in the sender or the server is counted, never omitted. One request is
 * outstanding per connection; a request due while every connection is busy waits in a FIFO (and that wait
 * counts). Run it in its own process on its own core (`taskset`), away from the server's.
 *
 * @example
 * const result = await runRawLoad({ host: '127.0.0.1', port, path: '/ids', mode: 'open', connections: 64,
 *   ratePerSecond: 15_000, warmupMs: 2000, durationMs: 8000, drainMs: 2000, seed: 1 })
 */
export async function runRawLoad(options: RawLoadOptions): Promise<RawLoadResult> {
  const request = Buffer.from(`GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\n\r\n`)
  // One read buffer for every connection (`onread`): reads are handled one at a time, and a buffer per read
  // would be garbage the sender's own GC pauses on, in the middle of the latencies it measures.
  const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES)
  const onRead = (connection: Connection, chunk: Buffer): void => {
    let data = chunk
    if (connection.partial) {
      data = Buffer.concat([connection.partial, chunk])
      connection.partial = undefined
    }
    const status = complete(data)
    // `chunk` is a view of the shared buffer, overwritten by the next read: keep a copy.
    if (status === 0) connection.partial = data === chunk ? Buffer.from(chunk) : data
    else settle(connection, status)
  }
  const connections = await Promise.all(
    Array.from({ length: options.connections }, () =>
      connectTo(options.host, options.port, readBuffer, onRead),
    ),
  )
  const histogram = createLatencyHistogram()
  const lag = createLatencyHistogram()
  const service = createLatencyHistogram()
  const isOpen = options.mode === 'open'
  const start = performance.now() + 20
  const windowStart = start + options.warmupMs
  const windowEnd = windowStart + options.durationMs
  const idle: Connection[] = []
  const backlog: number[] = []
  let backlogHead = 0
  let backlogMax = 0
  let scheduled = 0
  let completed = 0
  let errors = 0
  let inFlightMeasured = 0
  let cpuAtWindow = 0
  let windowOpened = false
  let sending = true
  let finish: (() => void) | undefined

  const send = (connection: Connection, intended: number): void => {
    const now = performance.now()
    connection.intended = intended
    connection.sentAt = now
    if (isOpen && intended >= windowStart) {
      inFlightMeasured++
      recordLatencyMs(lag, now - intended)
    }
    connection.socket.write(request)
  }

  const settle = (connection: Connection, status: number): void => {
    const now = performance.now()
    const measured = isOpen
      ? connection.intended >= windowStart && connection.intended < windowEnd
      : connection.sentAt >= windowStart && now < windowEnd
    if (measured) {
      if (status >= 200 && status < 300) {
        completed++
        recordLatencyMs(histogram, now - (isOpen ? connection.intended : connection.sentAt))
        recordLatencyMs(service, now - connection.sentAt)
      } else errors++
    }
    if (isOpen) {
      if (connection.intended >= windowStart) inFlightMeasured--
      if (backlogHead < backlog.length) {
        send(connection, backlog[backlogHead++] as number)
        if (backlogHead === backlog.length) {
          backlog.length = 0
          backlogHead = 0
        }
      } else idle.push(connection)
      if (!sending && inFlightMeasured === 0 && backlogHead >= backlog.length) finish?.()
    } else if (now < windowEnd) send(connection, now)
    else if (--closedLeft === 0) finish?.()
  }
  let closedLeft = connections.length

  const done = new Promise<void>((resolve) => {
    finish = resolve
  })
  if (isOpen) {
    const gap = interArrival(
      options.arrival ?? 'constant',
      options.ratePerSecond ?? 1,
      createRandom(options.seed),
    )
    idle.push(...connections)
    let next = start
    // Polled with setImmediate rather than setTimeout: a timer fires at 1 ms granularity at best, and at
    // 15 k req/s a millisecond of lateness is all of the budget.
    const poll = (): void => {
      const now = performance.now()
      if (!windowOpened && now >= windowStart) {
        windowOpened = true
        cpuAtWindow = ownCpuSeconds()
      }
      while (next <= now && next < windowEnd) {
        if (next >= windowStart) scheduled++
        const connection = idle.pop()
        if (connection) send(connection, next)
        else {
          backlog.push(next)
          backlogMax = Math.max(backlogMax, backlog.length - backlogHead)
        }
        next += gap()
      }
      if (next < windowEnd) setImmediate(poll)
      else {
        sending = false
        if (inFlightMeasured === 0 && backlogHead >= backlog.length) finish?.()
      }
    }
    setImmediate(poll)
  } else {
    setTimeout(() => {
      cpuAtWindow = ownCpuSeconds()
      windowOpened = true
    }, options.warmupMs + 20)
    for (const connection of connections) send(connection, performance.now())
  }

  const drain = setTimeout(() => finish?.(), windowEnd - performance.now() + options.drainMs)
  await done
  clearTimeout(drain)
  const elapsedS = (Math.min(performance.now(), windowEnd) - windowStart) / 1000
  const senderCpu = windowOpened ? (ownCpuSeconds() - cpuAtWindow) / Math.max(elapsedS, 0.001) : 0
  const unfinished = isOpen ? inFlightMeasured + (backlog.length - backlogHead) : 0
  for (const connection of connections) connection.socket.destroy()
  const windowS = options.durationMs / 1000
  return {
    mode: options.mode,
    offered_rps: isOpen ? (options.ratePerSecond ?? null) : null,
    scheduled,
    achieved_rps: Math.round(completed / windowS),
    errors: errors + unfinished,
    latency: summarizeLatency(histogram),
    send_lag: summarizeLatency(lag),
    service_time: summarizeLatency(service),
    backlog_max: backlogMax,
    sender_cpu: Math.round(senderCpu * 1000) / 1000,
  }
}

function connectTo(
  host: string,
  port: number,
  buffer: Buffer,
  onRead: (connection: Connection, chunk: Buffer) => void,
): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer,
        callback: (bytes: number, into: Uint8Array): boolean => {
          onRead(connection, (into as Buffer).subarray(0, bytes))
          return true
        },
      },
    })
    const connection: Connection = { socket, intended: 0, sentAt: 0, partial: undefined }
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      resolve(connection)
    })
  })
}

/**
 * The status of the one response in `data` when it is complete (head and `Content-Length` bytes of body),
 * else 0. One request is outstanding per connection, so a read never holds the start of a second response.
 */
function complete(data: Buffer): number {
  const headEnd = data.indexOf(HEAD_END)
  if (headEnd === -1) return 0
  let at = data.indexOf(CONTENT_LENGTH)
  if (at === -1 || at > headEnd) at = data.indexOf(CONTENT_LENGTH_LOWER)
  let length = 0
  if (at !== -1 && at < headEnd) {
    let i = at + 14
    while (data[i] === 32) i++
    for (let c = data[i] as number; c >= 48 && c <= 57; c = data[++i] as number) length = length * 10 + c - 48
  }
  if (data.length < headEnd + 4 + length) return 0
  return (data[9]! - 48) * 100 + (data[10]! - 48) * 10 + (data[11]! - 48)
}
