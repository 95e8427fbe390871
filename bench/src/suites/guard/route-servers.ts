import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { BenchError } from '../../errors.js'
import type { RouteServerConfig } from './route-app.js'

/** A route server running in its own process. */
export interface RouteServer extends AsyncDisposable {
  readonly baseUrl: string
  readonly pid: number
  close(): Promise<void>
}

// Built, this file sits beside route-server.js; under vitest, beside route-server.ts (run through tsx,
// with the workspace packages resolved to their sources as vitest resolves them).
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const ENTRY = fileURLToPath(new URL(`./route-server.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url))
const START_TIMEOUT_MS = 30_000

/**
 * Starts the contender's server in a child process and resolves once it listens.
 *
 * @example
 * await using server = await startRouteServer({ contender: 'ours', redisUrl, prefix }, signal)
 */
export async function startRouteServer(config: RouteServerConfig, signal: AbortSignal): Promise<RouteServer> {
  const child = fork(ENTRY, [JSON.stringify(config)], {
    execArgv: FROM_SOURCE ? ['--import', 'tsx', '--conditions=@hundredfold/source'] : [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000)
  })
  const close = () => stop(child)
  try {
    const port = await listening(child, signal, () => stderr)
    return {
      baseUrl: `http://127.0.0.1:${port}`,
      pid: child.pid!,
      close,
      [Symbol.asyncDispose]: close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

async function listening(child: ChildProcess, signal: AbortSignal, stderr: () => string): Promise<number> {
  const settled = new AbortController()
  const either = AbortSignal.any([signal, AbortSignal.timeout(START_TIMEOUT_MS), settled.signal])
  try {
    const [message] = (await Promise.race([
      once(child, 'message', { signal: either }),
      once(child, 'exit', { signal: either }).then(([code]) => {
        throw new BenchError('E_BENCH_TARGET', `a route server exited with ${code}: ${stderr()}`)
      }),
    ])) as [{ port: number }]
    return message.port
  } catch (error) {
    if (error instanceof BenchError) throw error
    throw new BenchError('E_BENCH_TARGET', `a route server did not start: ${stderr()}`, { cause: error })
  } finally {
    settled.abort()
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  if (child.connected) child.disconnect()
  else child.kill()
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000)
  await exited
  clearTimeout(timer)
}
