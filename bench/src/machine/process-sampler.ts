import { performance } from 'node:perf_hooks'
import { linuxProcReader, type ProcReader } from './proc-reader.js'
import {
  groupProcesses,
  PROCESS_GROUPS,
  type ProcessClass,
  type ProcessGroup,
  type ProcessRoles,
} from './process-groups.js'
import {
  type MetricsScraper,
  NO_SERVER_METRICS,
  parseServerMetrics,
  scrapeMetrics,
} from './server-metrics.js'

/** A figure per process group and for the whole machine (`total`); null where it is unknown. */
export type GroupFigures = Record<ProcessGroup | 'total', number | null>

/** The CPU of every grouped process and of the machine at one instant. */
export interface CpuSnapshot {
  /** `performance.now()` when it was taken. */
  at: number
  /** CPU seconds so far of each process in a group, by pid. */
  pids: ReadonlyMap<number, { group: ProcessClass; seconds: number }>
  /** Busy CPU seconds of the whole machine so far; undefined without /proc/stat. */
  machine: number | undefined
}

/** Where a step's cores went, and the server's memory and event loop at its end. */
export interface StepUsage {
  /** CPU µs per response received in the window, per process group and for the whole machine (`total`). */
  cpu_us_per_request: GroupFigures
  /** The same CPU as cores busy over the window (1 = one core). */
  cpu_cores: GroupFigures
  /** The responses (any HTTP status) received between the window's two snapshots. */
  cpu_requests: number
  /** Resident memory of the server's processes (summed) at the step's end. */
  server_rss_mb: number | null
  /** V8 heap in use, from the server's `/metrics` at the window's end. */
  server_heap_used_mb: number | null
  /** p99 event-loop delay over the window, from the server's `/metrics` (reset by a scrape at the window's start). */
  server_loop_delay_p99_ms: number | null
}

/**
 * Reads every process once and keeps the CPU seconds of those in a group. This process's own figure comes
 * from `process.cpuUsage()` (all threads, µs resolution) rather than /proc's 10 ms ticks.
 */
export async function takeCpuSnapshot(
  reader: ProcReader,
  roles: ProcessRoles,
  signal: AbortSignal,
  at: number = performance.now(),
): Promise<CpuSnapshot> {
  const own = reader.ownCpuSeconds()
  const [stats, machine] = await Promise.all([reader.processes(signal), reader.machineBusySeconds(signal)])
  const pids = new Map<number, { group: ProcessClass; seconds: number }>()
  const seconds = new Map(stats.map((stat) => [stat.pid, stat.cpuSeconds]))
  for (const [pid, group] of groupProcesses(stats, roles)) {
    const value = pid === reader.ownPid ? own : seconds.get(pid)
    if (value !== undefined) pids.set(pid, { group, seconds: value })
  }
  return { at, pids, machine }
}

/**
 * CPU seconds each group used between two snapshots: per process, end minus start (a process born in
 * between counts from zero; one that exited in between is lost to `other`). `other` is the machine's busy
 * time minus every group; `total` is the machine's busy time (the groups' sum without /proc/stat). A group
 * with no process in either snapshot is null.
 */
export function cpuSecondsBetween(start: CpuSnapshot, end: CpuSnapshot): GroupFigures {
  const figures = emptyFigures()
  for (const snapshot of [start, end]) for (const { group } of snapshot.pids.values()) figures[group] = 0
  for (const [pid, { group, seconds }] of end.pids) {
    const before = start.pids.get(pid)
    const used = seconds - (before?.group === group ? before.seconds : 0)
    figures[group] = (figures[group] ?? 0) + Math.max(0, used)
  }
  const grouped = PROCESS_GROUPS.reduce((sum, group) => sum + (figures[group] ?? 0), 0)
  if (start.machine !== undefined && end.machine !== undefined) {
    const machine = Math.max(0, end.machine - start.machine)
    figures.other = Math.max(0, machine - grouped)
    figures.total = machine
  } else {
    figures.total = grouped
  }
  return figures
}

/** Each known figure ÷ `divisor` × `scale`, rounded to `digits` decimals; all null unless `divisor` > 0. */
export function scaleFigures(
  figures: GroupFigures,
  divisor: number,
  scale: number,
  digits: number,
): GroupFigures {
  const out = emptyFigures()
  if (!(divisor > 0)) return out
  for (const key of Object.keys(out) as (keyof GroupFigures)[]) {
    const value = figures[key]
    out[key] = value === null ? null : round((value / divisor) * scale, digits)
  }
  return out
}

/** The hooks a step's sender calls when its measurement window opens and when its sending ends. */
export interface WindowHooks {
  opened(): void
  closed(): void
}

/** One step's instrument: `opened`/`closed` start the snapshots, `finish` turns them into figures. */
export interface StepInstrument extends WindowHooks {
  finish(responses: number, signal: AbortSignal): Promise<StepUsage>
}

/** Samples the machine's processes at every step of a search. */
export interface ProcessSampler {
  step(signal: AbortSignal): StepInstrument
}

/** What to sample: the server's pids and `/metrics`; the reader and scraper are injectable for tests. */
export interface ProcessSamplerOptions {
  /** Pids of the server processes the kit started; empty for a server it did not start. */
  serverPids: readonly number[]
  /** Pids of the app's consumer processes, when they run apart from the server. @default [] */
  consumerPids?: readonly number[]
  /** The server's `/metrics` URL; undefined = heap and loop delay are null. */
  metricsUrl?: string
  /** @default linuxProcReader */
  reader?: ProcReader
  /** @default scrapeMetrics (fetch with a 2 s deadline) */
  scrape?: MetricsScraper
  /** @default performance.now */
  now?: () => number
}

/**
 * A sampler whose instruments snapshot the CPU of the server, PostgreSQL, Redis, nats-server and the
 * sender at each window's edges, scrape the server's `/metrics` there, and read its RSS at the end.
 *
 * @example
 * const sampler = processSampler({ serverPids: [target.pid], metricsUrl: `${target.baseUrl}/metrics` })
 * const step = sampler.step(signal)
 * const outcome = await runOpenLoop({ ...options, window: step }, signal)
 * const usage = await step.finish(outcome.window_responses, signal)
 */
export function processSampler(options: ProcessSamplerOptions): ProcessSampler {
  const reader = options.reader ?? linuxProcReader
  const scrape = options.scrape ?? scrapeMetrics
  const now = options.now ?? (() => performance.now())
  const roles: ProcessRoles = {
    serverPids: options.serverPids,
    consumerPids: options.consumerPids ?? [],
    senderPid: reader.ownPid,
  }
  const scrapeOnce = (signal: AbortSignal): Promise<string | undefined> =>
    options.metricsUrl === undefined ? Promise.resolve(undefined) : scrape(options.metricsUrl, signal)
  const snapshot = (signal: AbortSignal): Promise<CpuSnapshot | undefined> =>
    takeCpuSnapshot(reader, roles, signal, now()).catch(() => undefined)
  return {
    step(signal) {
      let start: Promise<[CpuSnapshot | undefined, unknown]> | undefined
      let end: Promise<[CpuSnapshot | undefined, string | undefined]> | undefined
      return {
        // The scrape at the window's start resets the server's loop-delay histogram to the window.
        opened: () => {
          start ??= Promise.all([snapshot(signal), scrapeOnce(signal)])
        },
        closed: () => {
          end ??= Promise.all([snapshot(signal), scrapeOnce(signal)])
        },
        async finish(responses, finishSignal) {
          const [[first], [last, text]] = await Promise.all([
            start ?? Promise.resolve([undefined, undefined] as const),
            end ?? Promise.resolve([undefined, undefined] as const),
          ])
          finishSignal.throwIfAborted()
          const cpu = first && last ? cpuSecondsBetween(first, last) : emptyFigures()
          const seconds = first && last ? (last.at - first.at) / 1000 : 0
          const server = text === undefined ? NO_SERVER_METRICS : parseServerMetrics(text)
          const rss = await serverRssBytes(reader, last, finishSignal)
          return {
            cpu_us_per_request: scaleFigures(cpu, responses, 1e6, 1),
            cpu_cores: scaleFigures(cpu, seconds, 1, 3),
            cpu_requests: responses,
            server_rss_mb: mb(rss ?? server.resident_bytes),
            server_heap_used_mb: mb(server.heap_used_bytes),
            server_loop_delay_p99_ms:
              server.loop_delay_p99_seconds === null ? null : round(server.loop_delay_p99_seconds * 1000, 3),
          }
        },
      }
    },
  }
}

/** The summed RSS of the server group's processes in `snapshot`; undefined when it has none. */
async function serverRssBytes(
  reader: ProcReader,
  snapshot: CpuSnapshot | undefined,
  signal: AbortSignal,
): Promise<number | undefined> {
  const pids = [...(snapshot?.pids ?? [])].filter(([, { group }]) => group === 'server').map(([pid]) => pid)
  const sizes = await Promise.all(pids.map((pid) => reader.rssBytes(pid, signal)))
  const known = sizes.filter((size): size is number => size !== undefined)
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0)
}

function emptyFigures(): GroupFigures {
  const figures = { total: null } as GroupFigures
  for (const group of PROCESS_GROUPS) figures[group] = null
  return figures
}

const mb = (bytes: number | null | undefined): number | null =>
  bytes === null || bytes === undefined ? null : round(bytes / 2 ** 20, 1)

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits
