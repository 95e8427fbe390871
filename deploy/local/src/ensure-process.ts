import type { UpContext } from './context.js'
import { type Probe, waitHealthy } from './health.js'
import { assertPortsFree } from './ports.js'
import { isRunning, type SpawnSpec, spawnDetached } from './processes.js'
import type { ProcessRecord } from './state.js'

/** How to run one of the stack's own processes. */
export interface ProcessSpec {
  readonly spawn: () => SpawnSpec
  readonly probe: Probe
  /** Ports it listens on beyond `record.port` (NATS's monitor). */
  readonly extraPorts?: readonly number[]
}

/**
 * Reuses the record's process when it runs (after a health check), else checks its ports, starts
 * it detached, records its PID in `stack.json` and waits until it is healthy.
 */
export async function ensureProcess(ctx: UpContext, record: ProcessRecord, spec: ProcessSpec): Promise<void> {
  if (isRunning(record)) {
    await waitHealthy(record, spec.probe, ctx.options.healthTimeoutMs)
    ctx.note(record, 'reused')
    return
  }
  await startProcess(ctx, record, spec)
  ctx.note(record, 'started')
}

/** Starts the record's process (it must not run) and waits until it is healthy. */
export async function startProcess(ctx: UpContext, record: ProcessRecord, spec: ProcessSpec): Promise<void> {
  record.pid = undefined
  record.startTime = undefined
  await assertPortsFree(
    [record.port, ...(spec.extraPorts ?? [])].map((port) => ({ port, component: record.name })),
  )
  const started = spawnDetached(spec.spawn())
  record.pid = started.pid
  record.startTime = started.startTime
  await ctx.save()
  await waitHealthy(record, spec.probe, ctx.options.healthTimeoutMs)
}
