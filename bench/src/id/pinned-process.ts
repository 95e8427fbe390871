import { execFile } from 'node:child_process'
import { BenchError, type BenchErrorCode } from '../errors.js'

/** `taskset -c <cpus>` in front of a command, or nothing when `cpus` is undefined. */
export function pinned(cpus: string | undefined, command: string, args: string[]): [string, string[]] {
  return cpus === undefined ? [command, args] : ['taskset', ['-c', cpus, command, ...args]]
}

/**
 * Runs a command to completion and resolves with its stdout; a failure (exit status, timeout, abort) rejects
 * with a {@link BenchError} of `code`, carrying stderr.
 */
export function runToCompletion(
  command: string,
  args: string[],
  timeoutMs: number,
  signal: AbortSignal,
  code: BenchErrorCode = 'E_BENCH_PEER',
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { signal, timeout: timeoutMs, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(
          new BenchError(code, `${command} failed: ${error.message}\n${stderr}`, {
            context: { args },
            cause: error,
          }),
        )
      } else resolve(stdout)
    })
  })
}
