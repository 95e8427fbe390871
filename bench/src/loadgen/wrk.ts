import { execFile } from 'node:child_process'
import { BenchError } from '../errors.js'

/** Options of one `wrk` run (closed loop, from Debian's package). */
export interface WrkOptions {
  url: string
  threads: number
  connections: number
  durationS: number
}

/** What `wrk` printed, parsed. */
export interface WrkResult {
  rps: number
  p50_ms: number
  p99_ms: number
  errors: number
}

/**
 * Runs `wrk --latency` and parses its summary.
 *
 * @example
 * const { rps } = await runWrk({ url: `${baseUrl}/ceiling`, threads: 1, connections: 50, durationS: 5 }, signal)
 */
export function runWrk(options: WrkOptions, signal: AbortSignal): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--latency',
    options.url,
  ]
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { signal, timeout: (options.durationS + 30) * 1000 }, (error, stdout) => {
      if (error) {
        reject(
          new BenchError('E_BENCH_PEER', `wrk failed: ${error.message}`, { context: { args }, cause: error }),
        )
        return
      }
      try {
        resolve(parseWrkOutput(stdout))
      } catch (cause) {
        reject(new BenchError('E_BENCH_PEER', 'could not parse wrk output', { context: { stdout }, cause }))
      }
    })
  })
}

/** Parses `wrk --latency` output: Requests/sec, the 50% and 99% latency lines, and error counts. */
export function parseWrkOutput(stdout: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout)
  if (!rps?.[1]) throw new Error('no Requests/sec line')
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)
  const errors =
    (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) +
    Number(non2xx?.[1] ?? 0)
  return {
    rps: Number(rps[1]),
    p50_ms: percentileLine(stdout, '50%'),
    p99_ms: percentileLine(stdout, '99%'),
    errors,
  }
}

function percentileLine(stdout: string, label: string): number {
  const match = new RegExp(`^\\s*${label}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(stdout)
  if (!match?.[1]) return Number.NaN
  const value = Number(match[1])
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value
}
