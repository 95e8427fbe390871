import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BenchError } from '../errors.js'
import { processCpuSeconds } from '../machine/cpu.js'
import type { RawLoadOptions, RawLoadResult } from './raw-load.js'
import { parseWrkOutput, type WrkResult } from './wrk.js'

const WORKER = fileURLToPath(new URL('./raw-load-worker.js', import.meta.url))

/** What `wrk` measured, with the server's CPU use over the run (cores) when its pid is known. */
export interface PinnedWrkResult extends WrkResult {
  server_cpu: number | null
}

/**
 * `wrk -t1 -c<connections> -d<seconds>s --latency <url>` on `cpus` (the sender's core, not the server's).
 *
 * @example
 * const { rps } = await runPinnedWrk({ url, connections: 50, durationS: 10, cpus: '0', serverPid }, signal)
 */
export async function runPinnedWrk(
  options: {
    url: string
    connections: number
    durationS: number
    cpus: string | undefined
    serverPid?: number
  },
  signal: AbortSignal,
): Promise<PinnedWrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationS}s`, '--latency', options.url]
  const [command, argv] = pinned(options.cpus, 'wrk', args)
  const cpuBefore = options.serverPid === undefined ? undefined : processCpuSeconds(options.serverPid)
  const started = Date.now()
  const stdout = await runToCompletion(command, argv, (options.durationS + 30) * 1000, signal)
  const seconds = (Date.now() - started) / 1000
  const cpuAfter = options.serverPid === undefined ? undefined : processCpuSeconds(options.serverPid)
  const serverCpu =
    cpuBefore === undefined || cpuAfter === undefined
      ? null
      : Math.round(((cpuAfter - cpuBefore) / seconds) * 1000) / 1000
  try {
    return { ...parseWrkOutput(stdout), server_cpu: serverCpu }
  } catch (cause) {
    throw new BenchError('E_BENCH_PEER', 'could not parse wrk output', { context: { stdout }, cause })
  }
}

/**
 * `runRawLoad` in a child process on `cpus`, so that the sender neither shares the server's core nor
 * the suite process's heap and GC.
 *
 * @example
 * const result = await runPinnedRawLoad({ host, port, path: '/ids', mode: 'closed', connections: 50, ... }, '0', signal)
 */
export async function runPinnedRawLoad(
  options: RawLoadOptions,
  cpus: string | undefined,
  signal: AbortSignal,
): Promise<RawLoadResult> {
  // A large young generation: reads go into one shared buffer, but the setImmediate poll and split responses
  // still allocate, and fewer scavenges mean fewer pauses in the sender's own timing. (The server under test
  // runs with Node's defaults.)
  const node = ['--max-semi-space-size=64', WORKER, JSON.stringify(options)]
  const [command, argv] = pinned(cpus, process.execPath, node)
  const timeoutMs = options.warmupMs + options.durationMs + options.drainMs + 30_000
  const stdout = await runToCompletion(command, argv, timeoutMs, signal)
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as RawLoadResult
}

/** `taskset -c <cpus>` in front of a command, or nothing when `cpus` is undefined. */
function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]]
}

/** Runs a command to completion and resolves with its stdout; a failure rejects with `E_BENCH_PEER`, carrying stderr. */
function runToCompletion(
  command: string,
  args: string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { signal, timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new BenchError('E_BENCH_PEER', `${command} failed: ${error.message}\n${stderr}`, {
            context: { args },
            cause: error,
          }),
        )
      } else resolve(stdout)
    })
  })
}
