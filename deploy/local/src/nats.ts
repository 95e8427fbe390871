import { mkdir } from 'node:fs/promises'
import type { UpContext } from './context.js'
import { ensureProcess } from './ensure-process.js'
import { httpProbe } from './health.js'
import { binaries } from './paths.js'

/** NATS with JetStream on its own store; healthy when its monitor's `/healthz` (JetStream included) says so. */
export async function ensureNats(ctx: UpContext): Promise<void> {
  const record = ctx.state.nats
  const monitor = record.monitorPort!
  await mkdir(record.dataDir!, { recursive: true })
  await ensureProcess(ctx, record, {
    spawn: () => ({
      command: binaries.nats,
      args: [
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(record.port),
        '-m',
        String(monitor),
        '-sd',
        record.dataDir!,
        '-n',
        `hf-stack-${record.port}`,
      ],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      log: record.log,
    }),
    probe: httpProbe(`http://127.0.0.1:${monitor}/healthz`),
    extraPorts: [monitor],
  })
}
