import { writeFileSync } from 'node:fs'
import { acquireWorkerLease, Snowflake } from '@hundredfold/id'
import { pgLeaseStore } from '@hundredfold/id/lease-pg'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'

// One of the property run's processes: takes a worker id (a PostgreSQL lease, or a fixed one when there is
// no server), issues COUNT ids in batches, writes them to OUT as raw 8-byte integers and prints its worker id.
async function main(): Promise<void> {
  const count = Number(process.env['COUNT'])
  const out = process.env['OUT']!
  const url = process.env['LEASE_DB_URL']
  let generator: Snowflake
  let done = async (): Promise<void> => {}
  if (url) {
    const cluster = createCluster({ driver: pgDriver({ connectionString: url }), pool: { max: 2 } })
    const lease = await acquireWorkerLease({ store: pgLeaseStore({ cluster }), ttlMs: 10_000 })
    generator = lease.generator()
    done = async () => {
      await lease.release()
      await cluster.end()
    }
  } else {
    generator = new Snowflake({ workerId: Number(process.env['WORKER_ID']) })
  }
  const ids = new BigInt64Array(count)
  for (let at = 0; at < count; at += 10_000) {
    const batch = generator.nextBatch(Math.min(10_000, count - at))
    ids.set(batch, at)
  }
  writeFileSync(out, new Uint8Array(ids.buffer))
  await done()
  process.stdout.write(`${JSON.stringify({ workerId: generator.workerId })}\n`)
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
