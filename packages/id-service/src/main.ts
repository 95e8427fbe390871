#!/usr/bin/env node
import { acquireWorkerLease, Snowflake, type WorkerLease } from '@hundredfold/id'
import { pgLeaseStore } from '@hundredfold/id/pg'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { loadIdServiceConfig } from './config.js'
import { createIdService } from './id-service.js'

/**
 * `hundredfold-id-service`: the ID service in one process. With `HF_DATABASE_URL` (or `HF_DATABASE_HOSTS`) it leases its worker id
 * from PostgreSQL (and exits when the lease is lost, so a supervisor restarts it with a fresh one); without,
 * it serves the fixed `HF_WORKER_ID`.
 */
async function main(): Promise<void> {
  const config = loadIdServiceConfig()
  let lease: WorkerLease | undefined
  let closeStore = async (): Promise<void> => {}
  if (config.databaseUrl || config.databaseHosts.length > 0) {
    const pool = { max: 2 }
    const cluster = config.databaseUrl
      ? createCluster({ driver: pgDriver({ connectionString: config.databaseUrl }), pool })
      : createCluster({ hosts: config.databaseHosts.map((url) => pgDriver({ connectionString: url })), pool })
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
  const service = createIdService({
    generator,
    ...(lease ? { lease } : {}),
    maxCount: config.maxCount,
    ...(config.logLevel === 'silent' ? {} : { logger: stderrLogger }),
  })
  const baseUrl = await service.listen({ host: config.host, port: config.port })
  const where = lease
    ? `leased worker id ${lease.workerId}, fencing token ${lease.fencingToken}`
    : `fixed worker id ${generator.workerId}`

  let stopping = false
  const stop = (why: string, code: number): void => {
    if (stopping) return
    stopping = true
    process.stdout.write(`${why}, shutting down\n`)
    const force = setTimeout(() => process.exit(1), 10_000)
    force.unref()
    service
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
  // Only now say where it listens: a supervisor (or a test) may signal the moment it reads this line.
  process.stdout.write(`id service listening on ${baseUrl} (${where})\n`)
}

/** Unexpected errors as one JSON line each on stderr (pino's shape: level 50 is error). */
const stderrLogger = {
  error(object: object, message?: string): void {
    const { err, ...rest } = object as { err?: unknown }
    const error = err instanceof Error ? { type: err.name, message: err.message, stack: err.stack } : err
    process.stderr.write(
      `${JSON.stringify({ level: 50, time: Date.now(), pid: process.pid, ...rest, err: error, msg: message })}\n`,
    )
  },
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code
  process.stderr.write(
    `id service failed to start${code ? ` (${code})` : ''}: ${(error as Error).message ?? error}\n`,
  )
  process.exit(1)
})
