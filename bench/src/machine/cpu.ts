import { readFileSync } from 'node:fs'

/** CPU seconds (user + system) used so far by this process, all its threads included. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

/** Linux clock ticks per second; 100 on every mainstream kernel configuration. */
export const CLOCK_TICKS = 100

/** The fields of `/proc/<pid>/stat` the kit uses. */
export interface ProcStat {
  pid: number
  /** The parent's pid. */
  ppid: number
  /** The command name (`/proc/<pid>/comm`, at most 15 characters), e.g. `postgres`. */
  comm: string
  /** User + system CPU seconds so far, all threads. */
  cpuSeconds: number
}

/**
 * Parses one `/proc/<pid>/stat` line; undefined when it is not one.
 *
 * @example
 * parseProcStat('42 (redis-server) S 1 42 42 0 -1 0 0 0 0 0 150 50 …') // { pid: 42, ppid: 1, comm: 'redis-server', cpuSeconds: 2 }
 */
export function parseProcStat(text: string): ProcStat | undefined {
  // The command name may contain spaces and parentheses: it runs from the first '(' to the last ')'.
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return undefined
  const fields = text.slice(close + 2).split(' ')
  const pid = Number(text.slice(0, open).trim())
  const ppid = Number(fields[1])
  const ticks = Number(fields[11]) + Number(fields[12])
  if (!Number.isInteger(pid) || !Number.isInteger(ppid) || !Number.isFinite(ticks)) return undefined
  return { pid, ppid, comm: text.slice(open + 1, close), cpuSeconds: ticks / CLOCK_TICKS }
}

/** CPU seconds used so far by another process, from /proc; undefined where /proc is unavailable. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.cpuSeconds
  } catch {
    return undefined
  }
}

/** Busy CPU seconds in the first line of `/proc/stat` (all cores: every column but idle and iowait). */
export function parseMachineBusySeconds(text: string): number | undefined {
  const fields = (text.split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  if (fields.length < 5 || fields.some((v) => !Number.isFinite(v))) return undefined
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return (total - idle) / CLOCK_TICKS
}

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat minus idle and iowait). */
export function machineCpuSeconds(): number | undefined {
  try {
    return parseMachineBusySeconds(readFileSync('/proc/stat', 'utf8'))
  } catch {
    return undefined
  }
}
