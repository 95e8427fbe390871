import { performance } from 'node:perf_hooks'
import { machineCpuSeconds, ownCpuSeconds, processCpuSeconds } from '../../machine/cpu.js'

/** CPU over a window, in cores: this process (the client and its balancer), the backends, the machine. */
export interface WindowCpu {
  client: number
  backends: number | null
  machine: number | null
}

/** CPU seconds at one moment: this process, the backends' process, the whole machine. */
export interface CpuReading {
  at: number
  own: number
  backends: number | undefined
  machine: number | undefined
}

/** Reads the CPU counters now (the backends' and the machine's from /proc; undefined off Linux). */
export function readCpu(pid: number | undefined): CpuReading {
  return {
    at: performance.now(),
    own: ownCpuSeconds(),
    backends: pid === undefined ? undefined : processCpuSeconds(pid),
    machine: machineCpuSeconds(),
  }
}

/** Cores used between two readings (1 = one core busy throughout). */
export function cpuOver(from: CpuReading | undefined, to: CpuReading): WindowCpu {
  if (!from || to.at <= from.at) return { client: 0, backends: null, machine: null }
  const seconds = (to.at - from.at) / 1000
  const cores = (a: number | undefined, b: number | undefined): number | null =>
    a === undefined || b === undefined ? null : Math.round(((b - a) / seconds) * 1000) / 1000
  return {
    client: cores(from.own, to.own) ?? 0,
    backends: cores(from.backends, to.backends),
    machine: cores(from.machine, to.machine),
  }
}
