import { mkdir } from 'node:fs/promises'
import type { UpContext } from './context.js'
import { ensureProcess, type ProcessSpec } from './ensure-process.js'
import { httpProbe } from './health.js'
import { binaries } from './paths.js'
import { natsNodes, type ProcessRecord, type StackState } from './state.js'

/**
 * NATS with JetStream, each server on its own store; healthy when its monitor's `/healthz` (JetStream
 * included) says so. With `--ha` the three nodes start together: a JetStream cluster is healthy only
 * once a majority has elected a meta leader, so waiting on one node before starting the next would
 * never end. What runs is reused, so a second `up` starts a dead node and it rejoins the cluster.
 */
export async function ensureNats(ctx: UpContext): Promise<void> {
  const nodes = natsNodes(ctx.state)
  await Promise.all(nodes.map((node) => mkdir(node.dataDir!, { recursive: true })))
  const results = await Promise.allSettled(
    nodes.map((node) => ensureProcess(ctx, node, natsSpec(ctx.state, node))),
  )
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}

/** How to run (and probe) one NATS server of the stack. */
export function natsSpec(state: StackState, record: ProcessRecord): ProcessSpec {
  const monitor = record.monitorPort!
  return {
    spawn: () => ({
      command: binaries.nats,
      args: natsArgs(state, record),
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      log: record.log,
    }),
    probe: httpProbe(`http://127.0.0.1:${monitor}/healthz`),
    extraPorts: [monitor, ...(record.routePort ? [record.routePort] : [])],
  }
}

/**
 * `nats-server`'s arguments for `record`: JetStream on its store; with `--ha` also its route port,
 * the cluster's name and routes to the other nodes, and its process name as the server name.
 */
export function natsArgs(state: StackState, record: ProcessRecord): string[] {
  const base = ['-js', '-a', '127.0.0.1', '-p', String(record.port), '-m', String(record.monitorPort)]
  if (record.routePort === undefined) {
    return [...base, '-sd', record.dataDir!, '-n', `hf-stack-${record.port}`]
  }
  const routes = natsNodes(state)
    .filter((node) => node.name !== record.name)
    .map((node) => `nats://127.0.0.1:${node.routePort}`)
  return [
    ...base,
    '-sd',
    record.dataDir!,
    '-n',
    record.name,
    '--cluster',
    `nats://127.0.0.1:${record.routePort}`,
    '--cluster_name',
    `hf-stack-${state.nats.port}`,
    '--routes',
    routes.join(','),
  ]
}
