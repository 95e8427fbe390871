import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const DIST_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url))
const SRC_MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url))

/**
 * The command line of a microblog process: the build (`npm run build`), as a deployment runs it, or
 * the sources through tsx when `HF_CHAOS_FROM_SOURCE=on` (slower to start: every restart compiles).
 */
export function microblogArgs(): string[] {
  if (process.env['HF_CHAOS_FROM_SOURCE'] === 'on') {
    return ['--conditions=@hundredfold/source', '--import', 'tsx', SRC_MAIN]
  }
  if (!existsSync(DIST_MAIN)) {
    throw new Error(`${DIST_MAIN} is missing: run \`npm run build\` first (or set HF_CHAOS_FROM_SOURCE=on)`)
  }
  return [DIST_MAIN]
}

/** How a child process ended. */
export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A microblog child process (`node dist/main.js`). */
export interface MicroblogProcess {
  readonly name: string
  readonly pid: number
  /** Its URL once it printed `listening on`; rejects when it exits before. */
  readonly listening: Promise<string>
  readonly exited: Promise<Exit>
  readonly running: boolean
  /** The last lines it printed, for failure messages. */
  tail(): string
  /** Sends `signal` (SIGKILL: no shutdown at all) and resolves once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<Exit>
}

const LISTENING = /listening on (http:\/\/\S+)/

/** Starts a microblog process with `env` on top of this process's environment. */
export function spawnMicroblog(name: string, env: Record<string, string>): MicroblogProcess {
  const child: ChildProcess = spawn(process.execPath, microblogArgs(), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  const remember = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8')
    const parts = text.split('\n')
    partial = parts.pop() ?? ''
    for (const line of parts) if (line.trim()) lines.push(line.slice(0, 500))
    if (lines.length > 40) lines.splice(0, lines.length - 40)
  }
  // Both pipes are read all the time, so a chatty process never blocks on a full pipe.
  child.stdout!.on('data', remember)
  child.stderr!.on('data', remember)
  let running = true
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false
      resolve({ code, signal })
    }),
  )
  const tail = () => [...lines, partial].join('\n')
  const listening = new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = LISTENING.exec(lines.join('\n') + partial)
      if (match) {
        child.stdout!.off('data', check)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', check)
    exited.then((exit) =>
      reject(new Error(`${name} exited (${exit.signal ?? exit.code}) before listening:\n${tail()}`)),
    )
  })
  listening.catch(() => {}) // a process killed while starting is expected; callers that wait see it
  return {
    name,
    pid: child.pid ?? -1,
    listening,
    exited,
    get running() {
      return running
    },
    tail,
    async stop(signal: NodeJS.Signals = 'SIGKILL') {
      if (running) child.kill(signal)
      return exited
    },
  }
}
