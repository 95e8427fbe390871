import { readFileSync } from 'node:fs'

/** CPU seconds (user + system) used so far by this process. */
export function ownCpuSeconds(): number {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1e6
}

/** Linux clock ticks per second; 100 on every mainstream kernel configuration. */
const CLOCK_TICKS = 100

/** CPU seconds used so far by another process, from /proc; undefined where /proc is unavailable. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const utime = Number(fields[11])
    const stime = Number(fields[12])
    return Number.isFinite(utime + stime) ? (utime + stime) / CLOCK_TICKS : undefined
  } catch {
    return undefined
  }
}

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat minus idle and iowait). */
export function machineCpuSeconds(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
    return (total - idle) / CLOCK_TICKS
  } catch {
    return undefined
  }
}
