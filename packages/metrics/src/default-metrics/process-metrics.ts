import { readdirSync, readFileSync } from 'node:fs'
import type { Metric } from '../registry.js'
import { type MetricGroup, prefixed } from './metric-group.js'

// /proc is a view of kernel data: reading it never blocks, which is why a scrape may read it synchronously
// (libuv does the same for process.memoryUsage()).
const STATUS_LINE = /^(VmSize|VmData):\s+(\d+) kB$/gm

/**
 * `process_*` under prom-client's names: CPU seconds, start time, resident memory and, where there is a
 * Linux `/proc`, virtual memory, data segment and file descriptors.
 */
export function processMetrics(prefix: string): MetricGroup {
  // The counters follow process.cpuUsage(), which counts from the process's start, by adding what it
  // grew by since the previous scrape.
  const { counter, gauge } = prefixed(prefix)
  let cpu = { user: 0, system: 0 }
  const user = counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.')
  const system = counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.')
  const total = counter(
    'process_cpu_seconds_total',
    'Total user and system CPU time spent in seconds.',
    (all) => {
      const now = process.cpuUsage()
      const userDelta = Math.max(now.user - cpu.user, 0) / 1e6
      const systemDelta = Math.max(now.system - cpu.system, 0) / 1e6
      cpu = now
      user.inc(userDelta)
      system.inc(systemDelta)
      all.inc(userDelta + systemDelta)
    },
  )
  const start = gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.')
  start.set(Math.round(Date.now() / 1000 - process.uptime()))

  const metrics: Metric[] = [user, system, total, start]
  const linux = process.platform === 'linux' && readStatus() !== undefined
  const virtual = gauge('process_virtual_memory_bytes', 'Virtual memory size in bytes.')
  const heap = gauge('process_heap_bytes', 'Process heap size in bytes.')
  metrics.push(
    gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', {
      collect: (rss) => {
        rss.set(process.memoryUsage.rss())
        if (!linux) return
        const status = readStatus()
        if (status?.VmSize !== undefined) virtual.set(status.VmSize)
        if (status?.VmData !== undefined) heap.set(status.VmData)
      },
    }),
  )
  if (linux) metrics.push(virtual, heap)

  if (linux && openFds() !== undefined) {
    metrics.push(
      gauge('process_open_fds', 'Number of open file descriptors.', {
        collect: (open) => {
          const fds = openFds()
          if (fds !== undefined) open.set(fds)
        },
      }),
    )
  }
  const maxFds = linux ? readMaxFds() : undefined
  if (maxFds !== undefined) {
    const max = gauge('process_max_fds', 'Maximum number of open file descriptors.')
    max.set(maxFds)
    metrics.push(max)
  }
  return { metrics }
}

function readStatus(): { VmSize?: number; VmData?: number } | undefined {
  let text: string
  try {
    text = readFileSync('/proc/self/status', 'utf8')
  } catch {
    return undefined
  }
  const fields: { VmSize?: number; VmData?: number } = {}
  for (const [, key, kb] of text.matchAll(STATUS_LINE)) fields[key as 'VmSize' | 'VmData'] = Number(kb) * 1024
  return fields
}

function openFds(): number | undefined {
  try {
    // Minus the descriptor readdirSync itself had open while listing.
    return readdirSync('/proc/self/fd').length - 1
  } catch {
    return undefined
  }
}

/** The soft limit on open files, read once: it only changes through setrlimit, which Node does not expose. */
function readMaxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s{2,}/)[1]) // "unlimited" is NaN: no metric
    return Number.isFinite(soft) ? soft : undefined
  } catch {
    return undefined
  }
}
