#!/usr/bin/env node
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { acquireWorkerLease, type WorkerLease } from '../lease/worker-lease.js'
import { pgLeaseStore } from '../lease-pg/pg-lease-store.js'
import { Snowflake } from '../snowflake.js'
import { loadIdServiceConfig } from './config.js'
import { createIdService } from './id-service.js'

/**
 * `hundredfold-id-service`: the ID service in one process. With `HF_DATABASE_URL` it leases its worker id
 * from PostgreSQL (and exits when the lease is lost, so a supervisor restarts it with a fresh one); without,
 * it serves the fixed `HF_WORKER_ID`.
 */
async function main(): Promise<void> {
  const config = loadIdServiceConfig()
  let lease: WorkerLease | undefined
  let closeStore = async (): Promise<void> => {}
  if (config.databaseUrl) {
    const cluster = createCluster({
      driver: pgDriver({ connectionString: config.databaseUrl }),
      pool: { max: 2 },
    })
    const store = pgLeaseStore({ cluster, ownsCluster: true })
    closeStore = () => store.close()
    lease = await acquireWorkerLease({
      store,
      ttlMs: config.leaseTtlMs,
      quarantineMs: config.quarantineMs,
      maxBackwardsMs: config.maxBackwardsMs,
      ...(config.hint === undefined ? {} : { hint: config.hint }),
    })
  }
  const generator =
    lease?.generator() ?? new Snowflake({ workerId: config.workerId, maxBackwardsMs: config.maxBackwardsMs })
  const app = createIdService({
    generator,
    ...(lease ? { lease } : {}),
    maxCount: config.maxCount,
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
  })
  await app.listen({ host: config.host, port: config.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : config.port
  const where = lease
    ? `leased worker id ${lease.workerId}, fencing token ${lease.fencingToken}`
    : `fixed worker id ${generator.workerId}`
  process.stdout.write(`id service listening on http://${config.host}:${port} (${where})\n`)

  let stopping = false
  const stop = (why: string, code: number): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`${why}, shutting down\n`)
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    app
      .close()
      .then(() => lease?.release())
      .then(closeStore)
      .then(
        () => process.exit(code),
        (error: unknown) => {
          process.stderr.write(`error while shutting down: ${String(error)}\n`)
          process.exit(1)
        },
      )
  }
  lease?.lost.addEventListener('abort', () => {
    if (!stopping) stop(`lease lost (${(lease.lost.reason as Error).message})`, 1)
  })
  process.once('SIGINT', () => stop('received SIGINT', 0))
  process.once('SIGTERM', () => stop('received SIGTERM', 0))
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code
  process.stderr.write(
    `id service failed to start${code ? ` (${code})` : ''}: ${(error as Error).message ?? error}\n`,
  )
  process.exit(1)
})
