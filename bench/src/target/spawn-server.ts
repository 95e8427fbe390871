import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { BenchError } from '../errors.js'

/** A server child process that printed `listening on http://host:port`. */
export interface SpawnedServer extends AsyncDisposable {
  baseUrl: string
  pid: number
  /** The last lines it wrote to stderr/stdout, for error messages. */
  tail(): string
}

/** Options of a server child process. */
export interface SpawnOptions {
  entry: string
  env: Record<string, string>
  /** How long to wait for the `listening on` line. @default 90_000 */
  startTimeoutMs?: number
  /** Prefix the command with `taskset -c <cpus>` to keep the server off the sender's core. */
  cpus?: string
  /** Run it at this niceness (`nice -n`), e.g. 10 for work that should yield to the front. */
  nice?: number
}

const LISTENING = /listening on (http:\/\/[^\s]+)/

/**
 * Starts `node <entry>` and resolves once it prints `listening on http://…`; SIGTERM on dispose (SIGKILL after
 * 10 s). Output is drained continuously so a chatty server never blocks on a full pipe.
 *
 * @example
 * await using server = await spawnServer({ entry: APP_ENTRY, env: { HF_PORT: '0' } }, signal)
 */
export async function spawnServer(options: SpawnOptions, signal: AbortSignal): Promise<SpawnedServer> {
  // `nice` and `taskset` exec what follows them, so the child's pid is the server's own.
  const argv = [
    ...(options.nice === undefined ? [] : ['nice', '-n', String(options.nice)]),
    ...(options.cpus ? ['taskset', '-c', options.cpus] : []),
    process.execPath,
    options.entry,
  ]
  const child = spawn(argv[0]!, argv.slice(1), {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const remember = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(line)
    if (lines.length > 40) lines.splice(0, lines.length - 40)
  }
  child.stderr?.on('data', remember)
  const tail = (): string => lines.join('\n')

  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup()
      reject(new BenchError('E_BENCH_TARGET', `server did not print "listening on" in time:\n${tail()}`))
    }, options.startTimeoutMs ?? 90_000)
    const onData = (chunk: Buffer): void => {
      remember(chunk)
      const match = LISTENING.exec(chunk.toString('utf8'))
      if (match?.[1]) {
        cleanup()
        resolve(new URL(match[1]).origin)
      }
    }
    const onExit = (code: number | null): void => {
      cleanup()
      reject(new BenchError('E_BENCH_TARGET', `server exited with ${code} before listening:\n${tail()}`))
    }
    const onAbort = (): void => {
      cleanup()
      reject(new BenchError('E_BENCH_ABORTED', 'bench run aborted'))
    }
    const cleanup = (): void => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
      signal.removeEventListener('abort', onAbort)
      child.stdout?.on('data', remember)
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
    signal.addEventListener('abort', onAbort, { once: true })
  }).catch(async (error: unknown) => {
    await stopChild(child)
    throw error
  })

  return {
    baseUrl,
    pid: child.pid ?? -1,
    tail,
    async [Symbol.asyncDispose]() {
      await stopChild(child)
    },
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}
