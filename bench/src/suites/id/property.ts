import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const WORKER = fileURLToPath(new URL('./property-worker.js', import.meta.url))

/** The outcome of the cross-process property run. */
export interface PropertyOutcome {
  processes: number
  ids: number
  duplicates: number
  distinctWorkerIds: number
}

/**
 * Starts `processes` processes at once, each taking a worker id (from a PostgreSQL lease when `leaseDbUrl`
 * is given) and issuing `total / processes` ids, then checks the union for duplicates.
 */
export async function runProperty(
  options: { processes: number; total: number; leaseDbUrl?: string },
  signal: AbortSignal,
): Promise<PropertyOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'hf-bench-id-'))
  try {
    const per = Math.ceil(options.total / options.processes)
    const files = Array.from({ length: options.processes }, (_, i) => join(dir, `p${i}.bin`))
    const outputs = await Promise.all(
      files.map((out, i) =>
        run(process.execPath, [WORKER], {
          signal,
          env: {
            ...process.env,
            COUNT: String(per),
            OUT: out,
            ...(options.leaseDbUrl ? { LEASE_DB_URL: options.leaseDbUrl } : { WORKER_ID: String(i) }),
          },
        }),
      ),
    )
    const workerIds = outputs.map(({ stdout }) => (JSON.parse(stdout) as { workerId: number }).workerId)
    const all = new BigInt64Array(per * options.processes)
    for (const [i, file] of files.entries()) {
      const bytes = await readFile(file)
      all.set(
        new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)),
        i * per,
      )
    }
    all.sort()
    let duplicates = 0
    for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) duplicates++
    return {
      processes: options.processes,
      ids: all.length,
      duplicates,
      distinctWorkerIds: new Set(workerIds).size,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
