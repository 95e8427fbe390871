import { mkdir } from 'node:fs/promises'
import type { UpContext } from './context.js'
import { ensureProcess } from './ensure-process.js'
import { redisProbe } from './health.js'
import { binaries } from './paths.js'

/**
 * Redis as a tracked child: no persistence (`--save ''`, no AOF): it holds the cache and the home
 * timelines, which the apps rebuild from PostgreSQL.
 */
export async function ensureRedis(ctx: UpContext): Promise<void> {
  const record = ctx.state.redis
  await mkdir(record.dataDir!, { recursive: true })
  await ensureProcess(ctx, record, {
    spawn: () => ({
      command: binaries.redis,
      args: [
        '--bind',
        '127.0.0.1',
        '--port',
        String(record.port),
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        record.dataDir!,
        '--logfile',
        '',
        '--maxclients',
        '10000',
      ],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      log: record.log,
    }),
    probe: redisProbe(record.port),
  })
}
