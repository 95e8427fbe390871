import { existsSync } from 'node:fs'
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { postgresIds, postgresUser, runAsPostgres } from './commands.js'
import type { UpContext } from './context.js'
import { StackError } from './errors.js'
import { postgresProbe, waitHealthy } from './health.js'
import { databaseName, stackPaths } from './layout.js'
import { assertPortsFree } from './ports.js'
import { isRunning, procInfo } from './processes.js'
import type { ProcessRecord } from './state.js'

/** The primary's settings, in `stack.conf` (included by postgresql.conf; replicas copy it). */
const serverSettings = [
  "listen_addresses = '127.0.0.1'",
  'max_connections = 500',
  "shared_buffers = '256MB'",
  "effective_cache_size = '1GB'",
  'wal_level = replica',
  'max_wal_senders = 10',
  "wal_keep_size = '1GB'",
  'hot_standby = on',
  'hot_standby_feedback = on',
  "log_min_duration_statement = '1s'",
  "log_line_prefix = '%m [%p] %q%u@%d '",
]

const hba = [
  'local all all trust',
  'host all all 127.0.0.1/32 trust',
  'local replication all trust',
  'host replication all 127.0.0.1/32 trust',
  '',
].join('\n')

/** The same server's `postgres` database (the probe's: `microblog` may not exist yet). */
function adminUrl(record: ProcessRecord): string {
  return `postgres://postgres@127.0.0.1:${record.port}/postgres`
}

/**
 * The primary (initdb on first run), the `microblog` database with PostGIS, then each replica
 * (`pg_basebackup -R` on first run), each health-gated. Runs as the `postgres` OS user.
 */
export async function ensurePostgres(ctx: UpContext): Promise<void> {
  const { state } = ctx
  if (!state.postgres) return
  const paths = stackPaths(state.dir)
  const ids = await postgresIds()
  await mkdir(paths.postgres, { recursive: true, mode: 0o755 })
  if (ids) await chown(paths.postgres, ids.uid, ids.gid)
  for (const record of [state.postgres.primary, ...state.postgres.replicas]) {
    await writeFile(record.log, '', { flag: 'a' })
    if (ids) await chown(record.log, ids.uid, ids.gid)
  }

  const primary = state.postgres.primary
  if (!existsSync(join(primary.dataDir!, 'PG_VERSION'))) {
    ctx.options.log(`initdb ${primary.dataDir}`)
    await runAsPostgres('initdb', ['-D', primary.dataDir!, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], {
      log: primary.log,
    })
    await writeFile(join(primary.dataDir!, 'stack.conf'), `${serverSettings.join('\n')}\n`)
    const conf = join(primary.dataDir!, 'postgresql.conf')
    await writeFile(conf, `${await readFile(conf, 'utf8')}\ninclude 'stack.conf'\n`)
    await writeFile(join(primary.dataDir!, 'pg_hba.conf'), hba)
    if (ids) {
      for (const file of ['stack.conf', 'postgresql.conf', 'pg_hba.conf']) {
        await chown(join(primary.dataDir!, file), ids.uid, ids.gid)
      }
    }
  }
  await startServer(ctx, primary, false)
  await ensureDatabase(adminUrl(primary), primary.url, primary.name)

  for (const replica of state.postgres.replicas) {
    if (!existsSync(join(replica.dataDir!, 'PG_VERSION'))) {
      ctx.options.log(`pg_basebackup ${replica.name} from ${primary.name}`)
      await runAsPostgres(
        'pg_basebackup',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(primary.port),
          '-U',
          'postgres',
          '-D',
          replica.dataDir!,
          '-R',
          '-X',
          'stream',
          '-c',
          'fast',
        ],
        { log: replica.log },
      )
    }
    await startServer(ctx, replica, true)
  }
}

/** Adopts a postmaster already running on the record's data directory (its `postmaster.pid`). */
export async function adoptPostgres(record: ProcessRecord): Promise<boolean> {
  if (isRunning(record)) return true
  const pid = await postmasterPid(record)
  if (pid === undefined) return false
  record.pid = pid
  record.startTime = procInfo(pid)?.startTime
  return isRunning(record)
}

async function postmasterPid(record: ProcessRecord): Promise<number | undefined> {
  try {
    const first = (await readFile(join(record.dataDir!, 'postmaster.pid'), 'utf8')).split('\n')[0]
    const pid = Number(first)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

async function startServer(ctx: UpContext, record: ProcessRecord, standby: boolean): Promise<void> {
  const timeout = ctx.options.healthTimeoutMs
  if (await adoptPostgres(record)) {
    await waitHealthy(record, postgresProbe(adminUrl(record), standby), timeout)
    ctx.note(record, 'reused')
    return
  }
  record.pid = undefined
  await assertPortsFree([{ port: record.port, component: record.name }])
  const socketDir = stackPaths(ctx.state.dir).postgres
  try {
    await runAsPostgres(
      'pg_ctl',
      [
        'start',
        '-D',
        record.dataDir!,
        '-w',
        '-t',
        String(Math.ceil(timeout / 1000)),
        '-l',
        record.log,
        '-o',
        `-p ${record.port} -k ${socketDir}`,
      ],
      { log: record.log, timeoutMs: timeout + 5000 },
    )
  } catch (err) {
    throw new StackError(
      'E_NOT_HEALTHY',
      `${record.name} on port ${record.port} did not start (see ${record.log})`,
      {
        component: record.name,
        log: record.log,
      },
      { cause: err },
    )
  }
  const pid = await postmasterPid(record)
  record.pid = pid
  record.startTime = pid === undefined ? undefined : procInfo(pid)?.startTime
  await waitHealthy(record, postgresProbe(adminUrl(record), standby), timeout)
  ctx.note(record, 'started')
  await ctx.save()
}

/** Creates the apps' database and PostGIS in it, once: `admin` is the same server's `postgres` database. */
export async function ensureDatabase(admin: string, database: string, component: string): Promise<void> {
  const client = new pg.Client({ connectionString: admin })
  client.on('error', () => {})
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName])
    if (!rowCount) await client.query(`CREATE DATABASE ${databaseName}`)
  } finally {
    await client.end()
  }
  const db = new pg.Client({ connectionString: database })
  db.on('error', () => {})
  await db.connect()
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS postgis')
  } catch (err) {
    throw new StackError(
      'E_MISSING_BINARY',
      `PostGIS is not installed for PostgreSQL 15: apt-get install postgresql-15-postgis-3 (${(err as Error).message})`,
      { command: 'CREATE EXTENSION postgis', component },
      { cause: err },
    )
  } finally {
    await db.end()
  }
}

/** `pg_ctl stop -m fast` as `postgres`, only when the record's postmaster is the one running. */
export async function stopPostgres(record: ProcessRecord): Promise<'stopped' | 'not-running'> {
  if (!isRunning(record)) {
    record.pid = undefined
    record.startTime = undefined
    return 'not-running'
  }
  try {
    await runAsPostgres('pg_ctl', ['stop', '-D', record.dataDir!, '-m', 'fast', '-w', '-t', '60'], {
      log: record.log,
    })
  } catch {
    await runAsPostgres('pg_ctl', ['stop', '-D', record.dataDir!, '-m', 'immediate', '-w', '-t', '30'], {
      log: record.log,
    })
  }
  record.pid = undefined
  record.startTime = undefined
  return 'stopped'
}

/**
 * Makes sure the `postgres` OS user can reach `dir`: the directory itself is opened up (0755), and
 * every ancestor must be searchable by others, or `E_PERMISSION` says which one is not.
 */
export async function ensureTraversable(dir: string): Promise<void> {
  if (process.getuid?.() === 0) await chmod(dir, 0o755)
  for (let path = dirname(dir); ; path = dirname(path)) {
    const { mode } = await stat(path)
    if ((mode & 0o001) === 0) {
      throw new StackError(
        'E_PERMISSION',
        `${path} is not searchable by the '${postgresUser}' OS user (mode ${(mode & 0o777).toString(8)}): chmod o+x ${path}, or put the stack elsewhere (--dir, HF_STACK_DIR)`,
        { dir },
      )
    }
    if (path === dirname(path)) return
  }
}
