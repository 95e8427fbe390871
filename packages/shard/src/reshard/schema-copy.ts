import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { abortedError, ShardError } from '../errors.js'

/** Where `pg_dump` and `psql` are: `HF_PG_BIN`, else Debian's PostgreSQL 15. */
export function pgBinDir(): string {
  return process.env['HF_PG_BIN'] || '/usr/lib/postgresql/15/bin'
}

/**
 * Copies a database's schema into another: `pg_dump --schema-only` piped into `psql`, stopping at the
 * first error. Logical replication copies rows, not DDL, so the new database needs the tables first.
 * Publications and subscriptions are left out; so are the control tables (`hf_reshard`, `hf_shard_map`,
 * `hf_shard_router`, `hf_shard_switch`).
 *
 * @example
 * await copySchema('postgres://…/app_03', 'postgres://…/app_19', signal)
 */
export async function copySchema(sourceUrl: string, targetUrl: string, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortedError(signal)
  const bin = pgBinDir()
  const dump = spawn(
    join(bin, 'pg_dump'),
    [
      '--schema-only',
      '--no-owner',
      '--no-privileges',
      '--no-publications',
      '--no-subscriptions',
      '--exclude-table=hf_reshard',
      '--exclude-table=hf_shard_map',
      '--exclude-table=hf_shard_router',
      '--exclude-table=hf_shard_switch',
      '-d',
      sourceUrl,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) },
  )
  const restore = spawn(join(bin, 'psql'), ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-d', targetUrl], {
    stdio: ['pipe', 'ignore', 'pipe'],
    ...(signal ? { signal } : {}),
  })
  dump.stdout.pipe(restore.stdin)
  const errors: string[] = []
  dump.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()))
  restore.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()))
  const exit = (child: ReturnType<typeof spawn>) =>
    new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(-1))
      child.on('close', (code) => resolve(code))
    })
  const [dumped, restored] = await Promise.all([exit(dump), exit(restore)])
  if (signal?.aborted) throw abortedError(signal)
  if (dumped !== 0 || restored !== 0) {
    throw new ShardError(
      'E_SHARD_QUERY',
      `copying the schema failed (pg_dump ${dumped}, psql ${restored}): ${errors.join('').trim().slice(0, 500)}`,
      {},
    )
  }
}
