import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** The built server, as a user runs it (`node dist/main.js`). */
export const mainEntry = fileURLToPath(new URL('../dist/main.js', import.meta.url))

export interface StartedProcess {
  child: ChildProcess
  /** Where it listens, from its "listening on" line. */
  url: string
  output: () => string
  exited: Promise<number | null>
}

/**
 * Runs the built server on port 0 with `env` over this process's environment, and waits (up to 20 s)
 * for its "listening on" line; rejects with its output if it exits first.
 */
export async function startProcess(env: Record<string, string>): Promise<StartedProcess> {
  const child = spawn(process.execPath, [mainEntry], {
    env: { ...process.env, HF_PORT: '0', HF_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening after 20 s:\n${output}`)), 20_000)
    child.stdout!.on('data', () => {
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening:\n${output}`))
    })
  })
  return { child, url, output: () => output, exited }
}
