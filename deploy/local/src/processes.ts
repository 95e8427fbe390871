import { spawn } from 'node:child_process'
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { setPriority } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ProcessRecord } from './state.js'

/** What `/proc/<pid>` says about a process, or undefined when there is none (or only a zombie). */
export interface ProcInfo {
  readonly pid: number
  readonly ppid: number
  /** Clock ticks since boot: a PID reused later has another. */
  readonly startTime: number
  /** argv joined with spaces (the title nginx and Redis set, for them). */
  readonly cmdline: string
}

export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) is in parentheses and may contain spaces: fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
    return { pid, ppid: Number(fields[1]), startTime: Number(fields[19]), cmdline }
  } catch {
    return undefined
  }
}

/** The live children of `pid` (nginx's workers, say). */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((child) => procInfo(child)?.ppid === pid)
}

/**
 * Whether the record's process runs: its PID is alive, started when the stack saw it start, and its
 * command line carries the record's markers. A PID that fails any of these is someone else's.
 */
export function isRunning(record: ProcessRecord): boolean {
  if (record.pid === undefined) return false
  const info = procInfo(record.pid)
  if (!info) return false
  if (record.startTime !== undefined && info.startTime !== record.startTime) return false
  return record.markers.every((marker) => info.cmdline.includes(marker))
}

/**
 * Whether the process the stack started for the record is gone (or a zombie). Unlike `!isRunning`,
 * a live PID whose command line does not carry the markers yet is not gone: between fork and exec,
 * a child just spawned still shows its parent's command line.
 */
export function hasExited(record: ProcessRecord): boolean {
  if (record.pid === undefined) return false
  const info = procInfo(record.pid)
  return !info || (record.startTime !== undefined && info.startTime !== record.startTime)
}

/** How to start one process, detached: it outlives the command that started it. */
export interface SpawnSpec {
  readonly command: string
  readonly args: readonly string[]
  readonly env: NodeJS.ProcessEnv
  /** stdout and stderr are appended here. */
  readonly log: string
  readonly cwd?: string
  /** `nice` value (consumers: 10, so the accepting path wins the cores). */
  readonly niceness?: number
}

/** Starts a detached process writing to its log; returns its PID and start time. */
export function spawnDetached(spec: SpawnSpec): { pid: number; startTime: number | undefined } {
  const fd = openSync(spec.log, 'a')
  try {
    const child = spawn(spec.command, [...spec.args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env,
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
    })
    child.on('error', () => {}) // ENOENT and the like: the health wait reports it, with the log
    child.unref()
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`)
    if (spec.niceness) setPriority(child.pid, spec.niceness)
    return { pid: child.pid, startTime: procInfo(child.pid)?.startTime }
  } finally {
    closeSync(fd)
  }
}

/** Waits until `pid` is gone (or a zombie), up to `timeoutMs`; whether it went. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (procInfo(pid)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

/**
 * Stops the record's process if it is the one the stack started: `signal`, then SIGKILL after
 * `timeoutMs`. Returns what happened; never signals a PID whose identity does not match.
 */
export async function stopProcess(
  record: ProcessRecord,
  options: { signal?: NodeJS.Signals; timeoutMs?: number } = {},
): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isRunning(record)) {
    record.pid = undefined
    record.startTime = undefined
    return 'not-running'
  }
  const pid = record.pid!
  process.kill(pid, options.signal ?? 'SIGTERM')
  let outcome: 'stopped' | 'killed' = 'stopped'
  if (!(await waitForExit(pid, options.timeoutMs ?? 15_000))) {
    if (isRunning(record)) process.kill(pid, 'SIGKILL')
    await waitForExit(pid, 5000)
    outcome = 'killed'
  }
  record.pid = undefined
  record.startTime = undefined
  return outcome
}

/** The last `lines` lines of a log, for error messages. */
export function tail(path: string, lines = 8): string {
  try {
    const text = readFileSync(path, 'utf8').trimEnd().split('\n')
    return text.slice(-lines).join('\n')
  } catch {
    return '(no log yet)'
  }
}
