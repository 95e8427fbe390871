import { readdir, readFile } from 'node:fs/promises'
import { ownCpuSeconds, type ProcStat, parseMachineBusySeconds, parseProcStat } from './cpu.js'

/**
 * The subset of Linux's /proc the process sampler reads, as an interface so tests can hand it a fake
 * machine. Every method answers undefined (or nothing) where /proc is unavailable; only an abort throws.
 */
export interface ProcReader {
  /** This process's pid. */
  readonly ownPid: number
  /** Every process now running: pid, parent, command name, CPU seconds so far. */
  processes(signal: AbortSignal): Promise<ProcStat[]>
  /** Busy CPU seconds of the whole machine so far (all cores). */
  machineBusySeconds(signal: AbortSignal): Promise<number | undefined>
  /** A process's resident set size in bytes (`VmRSS`). */
  rssBytes(pid: number, signal: AbortSignal): Promise<number | undefined>
  /** This process's CPU seconds so far, all its threads (worker threads included). */
  ownCpuSeconds(): number
}

/**
 * The real /proc. Reads are asynchronous so a snapshot taken at a window's edge never stalls the sender's
 * schedule; a process that exits mid-scan is skipped.
 *
 * @example
 * const stats = await linuxProcReader.processes(signal)
 */
export const linuxProcReader: ProcReader = Object.freeze({
  ownPid: process.pid,
  async processes(signal: AbortSignal): Promise<ProcStat[]> {
    let names: string[]
    try {
      names = await readdir('/proc')
    } catch {
      return []
    }
    const pids = names.filter((name) => /^\d+$/.test(name))
    const stats = await Promise.all(
      pids.map((pid) =>
        readFile(`/proc/${pid}/stat`, { encoding: 'utf8', signal }).then(parseProcStat, () => undefined),
      ),
    )
    signal.throwIfAborted()
    return stats.filter((stat): stat is ProcStat => stat !== undefined)
  },
  async machineBusySeconds(signal: AbortSignal): Promise<number | undefined> {
    try {
      return parseMachineBusySeconds(await readFile('/proc/stat', { encoding: 'utf8', signal }))
    } catch {
      return undefined
    }
  },
  async rssBytes(pid: number, signal: AbortSignal): Promise<number | undefined> {
    try {
      return parseRssBytes(await readFile(`/proc/${pid}/status`, { encoding: 'utf8', signal }))
    } catch {
      return undefined
    }
  },
  ownCpuSeconds,
})

/** `VmRSS` of a `/proc/<pid>/status` text, in bytes; undefined when absent (a kernel thread, a zombie). */
export function parseRssBytes(status: string): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024
}
