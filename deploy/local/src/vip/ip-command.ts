import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { StackError } from '../errors.js'

const exec = promisify(execFile)

/** iproute2's `ip` (Debian: /usr/sbin/ip, /sbin/ip). */
export const ipBin = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find(existsSync) ?? 'ip'

/** One `ip` invocation's bound and the caller's signal. */
export interface IpCall {
  readonly timeoutMs: number
  readonly signal?: AbortSignal | undefined
}

/**
 * Runs `ip …args` to completion and resolves with its stdout. Like `run` in `commands.ts`, a failure
 * is `E_COMMAND_FAILED` with its output; unlike it, an aborted `signal` kills the command and
 * rejects with the signal's reason.
 */
export async function ip(args: readonly string[], call: IpCall): Promise<string> {
  call.signal?.throwIfAborted()
  try {
    const { stdout } = await exec(ipBin, [...args], {
      timeout: call.timeoutMs,
      ...(call.signal ? { signal: call.signal } : {}),
    })
    return stdout
  } catch (err) {
    call.signal?.throwIfAborted()
    const { stderr } = err as { stderr?: string }
    const line = ['ip', ...args].join(' ')
    const output = (stderr ?? '').trim().split('\n').slice(-5).join('\n')
    throw new StackError(
      'E_COMMAND_FAILED',
      `${line} failed: ${output || (err as Error).message}`,
      { command: line },
      { cause: err },
    )
  }
}

/** `ip -j …args`, parsed. */
export async function ipJson<T>(args: readonly string[], call: IpCall): Promise<T> {
  const text = await ip(['-j', ...args], call)
  return JSON.parse(text.trim() || '[]') as T
}

/** Whether the network namespace `name` exists (`ip netns add` binds it under /run/netns). */
export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`)
}

/** Whether the root namespace has a link `name` (this process runs in the root namespace). */
export function rootLinkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`)
}
