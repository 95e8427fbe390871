import { open } from 'node:fs/promises'
import type { PoolFigures } from './judge.js'

/** The two sides of the split, as nginx's `$hf_pool` names their upstream groups. */
export const poolNames = Object.freeze({ baseline: 'microblog', canary: 'microblog_canary' })

/** Which side served a request. */
export type Pool = keyof typeof poolNames

/**
 * The split log's line format (`log_format hf_split`): when the request ended (`$msec`, seconds with ms),
 * which group the split chose, the status the client got, `$request_time`, then the upstream's time and
 * address (several, comma-separated, when nginx tried more than one).
 */
export const splitLogFormat =
  '\'$msec $hf_pool $status $request_time $upstream_response_time "$upstream_addr"\''

/** One request of the split log. */
export interface SplitLogLine {
  /** When it ended, ms since the epoch. */
  readonly atMs: number
  readonly pool: Pool
  readonly status: number
  /** `$request_time` in ms: what the client waited, as nginx saw it. */
  readonly requestMs: number
}

/**
 * Parses one line of the split log; undefined for anything else (a partial or foreign line).
 *
 * @example
 * parseSplitLine('1733300000.123 microblog_canary 500 0.004 0.004 "127.0.0.1:18150"')
 * // { atMs: 1733300000123, pool: 'canary', status: 500, requestMs: 4 }
 */
export function parseSplitLine(line: string): SplitLogLine | undefined {
  const [msec, group, status, requestTime] = line.split(' ', 4)
  const pool = group === poolNames.canary ? 'canary' : group === poolNames.baseline ? 'baseline' : undefined
  const atMs = Number(msec) * 1000
  const code = Number(status)
  const requestMs = Number(requestTime) * 1000
  if (!pool || !Number.isFinite(atMs) || !Number.isInteger(code) || !Number.isFinite(requestMs))
    return undefined
  return { atMs: Math.round(atMs), pool, status: code, requestMs }
}

/** Reads what nginx appended to the split log since the last read (whole lines only). */
export interface SplitLogReader {
  /** Lines appended since the last call (or since the reader was made). */
  readNew(): Promise<SplitLogLine[]>
}

/**
 * A reader of `path` from its current end: what was logged before is not this rollout's. nginx opens
 * the log with `O_APPEND` and writes it unbuffered, so every request is in it when its answer is sent.
 */
export async function openSplitLog(path: string): Promise<SplitLogReader> {
  let offset = await size(path)
  let partial = ''
  return {
    async readNew() {
      const end = await size(path)
      if (end < offset) offset = 0 // truncated by someone: start over
      if (end === offset) return []
      const handle = await open(path, 'r')
      try {
        const buffer = Buffer.alloc(end - offset)
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset)
        offset += bytesRead
        const text = partial + buffer.subarray(0, bytesRead).toString('utf8')
        const lines = text.split('\n')
        partial = lines.pop() ?? ''
        return lines.flatMap((line) => parseSplitLine(line) ?? [])
      } finally {
        await handle.close()
      }
    },
  }
}

async function size(path: string): Promise<number> {
  try {
    const handle = await open(path, 'r')
    try {
      return (await handle.stat()).size
    } finally {
      await handle.close()
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
}

/** Requests, 5xx and latencies of each side, counted as lines come in. */
export class PoolTally {
  readonly #latencies = { baseline: [] as number[], canary: [] as number[] }
  readonly #errors = { baseline: 0, canary: 0 }

  /** Counts `line`. */
  add(line: SplitLogLine): void {
    this.#latencies[line.pool].push(line.requestMs)
    if (line.status >= 500) this.#errors[line.pool]++
  }

  /** Counts every line of `other` too. */
  merge(other: PoolTally): void {
    for (const pool of ['baseline', 'canary'] as const) {
      this.#latencies[pool].push(...other.#latencies[pool])
      this.#errors[pool] += other.#errors[pool]
    }
  }

  /** What `pool` served so far. */
  figures(pool: Pool): PoolFigures {
    const latencies = this.#latencies[pool]
    return { requests: latencies.length, errors: this.#errors[pool], p99Ms: p99(latencies) }
  }
}

/** The nearest-rank 99th percentile, or null of nothing. */
export function p99(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!
}
