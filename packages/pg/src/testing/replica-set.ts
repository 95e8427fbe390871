import { execFile } from 'node:child_process'
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** One PostgreSQL server of a replica set started by `startReplicaSet`. */
export interface ServerHandle {
  readonly name: string
  readonly port: number
  readonly dataDir: string
  /** Connection string for the `postgres` database as user `postgres`. */
  readonly url: string
}

/** A primary and its streaming replicas, each its own server on its own port, for tests and benches. */
export interface ReplicaSet {
  readonly primary: ServerHandle
  readonly replicas: readonly ServerHandle[]
  /** Every server, primary first. */
  readonly servers: readonly ServerHandle[]
  /** `pg_ctl stop` (`immediate` is a crash). */
  stop(server: ServerHandle, mode?: 'fast' | 'immediate'): Promise<void>
  start(server: ServerHandle): Promise<void>
  /** `pg_ctl promote`: the replica becomes read-write. */
  promote(server: ServerHandle): Promise<void>
  /** Sets `recovery_min_apply_delay` on a replica and reloads: a deterministic replay lag. */
  setApplyDelay(server: ServerHandle, ms: number): Promise<void>
  /** Runs SQL on a server (autocommit). */
  sql<Row = Record<string, unknown>>(server: ServerHandle, text: string, params?: unknown[]): Promise<Row[]>
  /** Stops every server and removes the data directories. */
  destroy(): Promise<void>
}

export interface ReplicaSetOptions {
  /** Number of streaming replicas. @default 2 */
  replicas?: number
  /** Port of the primary; replicas take the next ones. @default a free run of ports in 20000-31999 */
  basePort?: number
  /** PostgreSQL binaries. @default '/usr/lib/postgresql/15/bin' */
  binDir?: string
  /** OS user the servers run as (initdb and postgres refuse root). @default 'postgres' */
  osUser?: string
  /** `logical` lets the servers publish to logical-replication subscribers (resharding). @default 'replica' */
  walLevel?: 'replica' | 'logical'
  /** More `postgresql.conf` settings, e.g. `{ max_replication_slots: '40' }`. @default {} */
  settings?: Readonly<Record<string, string>>
}

/**
 * Starts a primary with `initdb`, then `pg_basebackup -R` for each replica, all on loopback ports,
 * running as the `postgres` OS user. For integration tests of replication, lag and failover.
 *
 * @example
 * const set = await startReplicaSet({ replicas: 2 })
 * try { await set.setApplyDelay(set.replicas[0]!, 500) } finally { await set.destroy() }
 */
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const binDir = options.binDir ?? '/usr/lib/postgresql/15/bin'
  const osUser = options.osUser ?? 'postgres'
  const count = options.replicas ?? 2
  for (const [name, value] of Object.entries(options.settings ?? {})) {
    if (!/^[a-z_.]+$/.test(name) || value.includes("'")) throw new Error(`invalid setting ${name} = ${value}`)
  }
  const basePort = options.basePort ?? (await freeBasePort(count + 1))
  const root = await mkdtemp(join(tmpdir(), 'hf-replicaset-'))
  await chmod(root, 0o755)
  const { stdout } = await run('id', ['-u', osUser])
  const { stdout: gid } = await run('id', ['-g', osUser])
  await chown(root, Number(stdout.trim()), Number(gid.trim()))

  const as = (bin: string, args: string[]) =>
    process.getuid?.() === 0
      ? run('runuser', ['-u', osUser, '--', join(binDir, bin), ...args])
      : run(join(binDir, bin), args)

  const handle = (name: string, port: number): ServerHandle => ({
    name,
    port,
    dataDir: join(root, name),
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
  })
  const primary = handle('primary', basePort)
  const replicas = Array.from({ length: count }, (_, i) => handle(`replica${i + 1}`, basePort + i + 1))
  const started = new Set<ServerHandle>()

  const pgCtl = async (server: ServerHandle, action: string, extra: string[] = []) => {
    await as('pg_ctl', [action, '-D', server.dataDir, '-w', '-t', '60', ...extra])
  }
  const start = async (server: ServerHandle) => {
    const log = join(root, `${server.name}.log`)
    try {
      await pgCtl(server, 'start', ['-l', log, '-o', `-p ${server.port} -k ${root}`])
    } catch (err) {
      // pg_ctl only says "could not start server": the reason is in the server's log.
      const tail = await readFile(log, 'utf8').then(
        (text) => text.trim().split('\n').slice(-5).join('\n'),
        () => '(no log)',
      )
      throw new Error(`${server.name} on port ${server.port} did not start:\n${tail}`, { cause: err })
    }
    started.add(server)
  }

  try {
    await as('initdb', ['-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
    await writeFile(
      join(primary.dataDir, 'postgresql.auto.conf'),
      [
        "listen_addresses = '127.0.0.1'",
        `wal_level = ${options.walLevel ?? 'replica'}`,
        'max_wal_senders = 10',
        'hot_standby = on',
        'hot_standby_feedback = on',
        'fsync = off',
        'full_page_writes = off',
        'max_connections = 200',
        "shared_buffers = '64MB'",
        ...Object.entries(options.settings ?? {}).map(([name, value]) => `${name} = '${value}'`),
        '',
      ].join('\n'),
    )
    await writeFile(
      join(primary.dataDir, 'pg_hba.conf'),
      'local all all trust\nhost all all 127.0.0.1/32 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n',
    )
    await start(primary)
    for (const replica of replicas) {
      await as('pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        replica.dataDir,
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
      ])
      await start(replica)
    }
  } catch (err) {
    for (const server of started) await pgCtl(server, 'stop', ['-m', 'immediate']).catch(() => {})
    await rm(root, { recursive: true, force: true })
    throw err
  }

  const sql = async <Row>(server: ServerHandle, text: string, params: unknown[] = []): Promise<Row[]> => {
    const client = new pg.Client({ connectionString: server.url })
    client.on('error', () => {})
    await client.connect()
    try {
      return (await client.query(text, params)).rows as Row[]
    } finally {
      await client.end()
    }
  }

  return {
    primary,
    replicas,
    servers: [primary, ...replicas],
    async stop(server, mode = 'fast') {
      await pgCtl(server, 'stop', ['-m', mode])
      started.delete(server)
    },
    start,
    async promote(server) {
      await pgCtl(server, 'promote')
    },
    async setApplyDelay(server, ms) {
      await sql(server, `ALTER SYSTEM SET recovery_min_apply_delay = '${Math.max(0, Math.floor(ms))}ms'`)
      await sql(server, 'SELECT pg_reload_conf()')
    },
    sql,
    async destroy() {
      for (const server of [...started]) await pgCtl(server, 'stop', ['-m', 'immediate']).catch(() => {})
      await rm(root, { recursive: true, force: true })
    },
  }
}

/**
 * A run of `count` consecutive free loopback ports below Linux's ephemeral range (32768+), where no
 * outgoing connection of a busy test run can be holding one.
 */
async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 1200) * 10
    const ports = Array.from({ length: count }, (_, i) => base + i)
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base
  }
  throw new Error(`no run of ${count} free ports found in 20000-31999`)
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
