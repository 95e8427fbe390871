import { execFile } from 'node:child_process'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { StackError } from './errors.js'
import { binaries } from './paths.js'

const exec = promisify(execFile)

/** Runs a command to completion; a failure is `E_COMMAND_FAILED` with its output. */
export async function run(
  command: string,
  args: readonly string[],
  options: { timeoutMs?: number; log?: string } = {},
): Promise<string> {
  try {
    const { stdout } = await exec(command, [...args], { timeout: options.timeoutMs ?? 120_000 })
    return stdout
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string }
    const output = `${stderr ?? ''}${stdout ?? ''}`.trim().split('\n').slice(-10).join('\n')
    const line = [command, ...args].join(' ')
    throw new StackError(
      'E_COMMAND_FAILED',
      `${line} failed: ${output || (err as Error).message}${options.log ? `\n(see ${options.log})` : ''}`,
      { command: line, ...(options.log ? { log: options.log } : {}) },
      { cause: err },
    )
  }
}

/** The OS user PostgreSQL runs as: initdb and postgres refuse root. */
export const postgresUser = 'postgres'

/** Runs a PostgreSQL binary as the `postgres` OS user (through `runuser` when this process is root). */
export function runAsPostgres(
  bin: string,
  args: readonly string[],
  options: { timeoutMs?: number; log?: string } = {},
): Promise<string> {
  const path = join(binaries.pgBin, bin)
  if (process.getuid?.() === 0) return run('runuser', ['-u', postgresUser, '--', path, ...args], options)
  if (userInfo().username === postgresUser) return run(path, args, options)
  throw new StackError(
    'E_PERMISSION',
    `PostgreSQL runs as the '${postgresUser}' OS user: run the stack as root (it uses runuser) or as '${postgresUser}'`,
    { command: bin },
  )
}

/** The `postgres` OS user's uid and gid (for chown), or undefined when this process cannot chown. */
export async function postgresIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined
  const uid = Number((await run('id', ['-u', postgresUser])).trim())
  const gid = Number((await run('id', ['-g', postgresUser])).trim())
  return { uid, gid }
}
