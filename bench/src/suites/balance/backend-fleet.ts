import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BenchError } from '../../errors.js'
import type { BackendConfig, FleetCommand, FleetReady, FleetReply } from './backend-protocol.js'

/** Backends in a child process, steered over IPC. */
export interface BackendFleet extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of each backend, in index order. */
  readonly origins: readonly string[]
  readonly pid: number
  /** Backend `index` answers after exactly `ms` from now on (null: its base service time again). */
  setLatency(index: number, ms: number | null): Promise<number[]>
  /** Closes backend `index` and destroys its sockets: requests in flight fail, new connections are refused. */
  kill(index: number): Promise<number[]>
  /** Requests each backend has received so far. */
  counts(): Promise<number[]>
  close(): Promise<void>
}

/** A command without its id (distributed over the union, so each keeps its own fields). */
type CommandBody = FleetCommand extends infer C ? (C extends FleetCommand ? Omit<C, 'id'> : never) : never

/** @default values of {@link BackendConfig} but `backends`. */
export const backendDefaults = Object.freeze({
  serviceMedianMs: 2,
  serviceSigma: 0.5,
  serviceCapMs: 50,
  seed: 1,
})

// Built, this file sits beside backend-process.js; under vitest, beside backend-process.ts (run through tsx).
const FROM_SOURCE = import.meta.url.endsWith('.ts')
const ENTRY = fileURLToPath(new URL(`./backend-process.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url))

/**
 * Starts `backends` node:http servers on 127.0.0.1 port 0 in one child process and resolves once all listen.
 *
 * @example
 * await using fleet = await startBackendFleet({ backends: 10 }, signal)
 * await fleet.setLatency(0, 2000)
 */
export async function startBackendFleet(
  options: Partial<BackendConfig> & Pick<BackendConfig, 'backends'>,
  signal: AbortSignal,
): Promise<BackendFleet> {
  if (!(Number.isInteger(options.backends) && options.backends >= 1)) {
    throw new BenchError('E_BENCH_OPTION', 'options.backends must be a positive integer')
  }
  const config: BackendConfig = { ...backendDefaults, ...options }
  const child = fork(ENTRY, [JSON.stringify(config)], {
    execArgv: FROM_SOURCE ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000)
  })
  const ports = await waitReady(child, signal, () => stderr)
  const waiting = new Map<number, { resolve: (counts: number[]) => void; reject: (error: Error) => void }>()
  let nextId = 1
  child.on('message', (reply: FleetReply) => {
    const pending = waiting.get(reply.id)
    if (!pending) return
    waiting.delete(reply.id)
    if ('error' in reply) pending.reject(new BenchError('E_BENCH_TARGET', reply.error))
    else pending.resolve(reply.counts)
  })
  child.once('exit', (code) => {
    for (const pending of waiting.values()) {
      pending.reject(new BenchError('E_BENCH_TARGET', `backends exited with ${code}: ${stderr}`))
    }
    waiting.clear()
  })
  const command = (body: CommandBody): Promise<number[]> =>
    new Promise((resolve, reject) => {
      const id = nextId++
      waiting.set(id, { resolve, reject })
      child.send({ ...body, id } as FleetCommand, (error) => {
        if (!error) return
        waiting.delete(id)
        reject(new BenchError('E_BENCH_TARGET', 'backends unreachable over IPC', { cause: error }))
      })
    })
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.disconnect()
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
  return {
    origins: ports.map((port) => `http://127.0.0.1:${port}`),
    pid: child.pid ?? 0,
    setLatency: (index, ms) => command({ op: 'latency', index, ms }),
    kill: (index) => command({ op: 'kill', index }),
    counts: () => command({ op: 'counts' }),
    close,
    [Symbol.asyncDispose]: close,
  }
}

function waitReady(child: ChildProcess, signal: AbortSignal, stderr: () => string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail('backends did not start within 30 s'), 30_000)
    const onMessage = (message: FleetReady): void => {
      if (!message.ready) return
      cleanup()
      resolve(message.ports)
    }
    const onExit = (code: number | null): void => fail(`backends exited with ${code} before listening`)
    const onAbort = (): void => fail('bench run aborted', 'E_BENCH_ABORTED')
    const fail = (message: string, code: 'E_BENCH_TARGET' | 'E_BENCH_ABORTED' = 'E_BENCH_TARGET'): void => {
      cleanup()
      child.kill('SIGKILL')
      reject(new BenchError(code, `${message}: ${stderr()}`))
    }
    const cleanup = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
      signal.removeEventListener('abort', onAbort)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) onAbort()
  })
}
