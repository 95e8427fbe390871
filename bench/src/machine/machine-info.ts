import { cpus, platform, release, totalmem } from 'node:os'

/** The machine a result was measured on. */
export interface MachineInfo {
  cores: number
  cpu_model: string
  node: string
  platform: string
  memory_gb: number
}

/** Cores, CPU model, Node version, platform and memory of this machine. */
export function machineInfo(): MachineInfo {
  const list = cpus()
  return {
    cores: list.length,
    cpu_model: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${platform()} ${release()}`,
    memory_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  }
}
