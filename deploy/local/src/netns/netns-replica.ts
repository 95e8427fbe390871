import { execFile, spawn } from 'node:child_process'
import { chown, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import pg from 'pg'
import { StackError } from '../errors.js'
import { ipBin } from '../vip/ip-command.js'
import type { ReplicaNetwork } from './replica-network.js'
import { startTcpRelay, type TcpRelay } from './tcp-relay.js'

const exec = promisify(execFile)

/** Temporary data directories of these replicas start with it (leftovers are found by it). */
export const netnsReplicaDirPrefix = 'hf-netns-replica-'

/** Options of {@link startNetnsReplica}. */
export interface NetnsReplicaOptions {
  /** Where it lives: the namespace and its link (`createReplicaNetwork`). */
  network: ReplicaNetwork
  /** The primary to copy and stream from, as this (root-namespace) process reaches it. */
  primary: { host: string; port: number }
  /** The role `pg_basebackup` and the WAL receiver connect as. @default 'postgres' */
  replicationUser?: string
  /** The port it listens on inside its namespace. @default 5432 */
  port?: number
  /** PostgreSQL's binaries. @default '/usr/lib/postgresql/15/bin' */
  pgBin?: string
  /** Where its temporary data directory is made. @default '/var/tmp' */
  parentDir?: string
  /** Bound on the copy and the start. @default 120000 */
  timeoutMs?: number
  signal?: AbortSignal
}

/** A streaming replica running in a network namespace of its own. */
export interface NetnsReplica extends AsyncDisposable {
  /** `postgres://postgres@<replica address>:<port>/<database>`. */
  url(database: string): string
  readonly address: string
  readonly port: number
  readonly dataDir: string
  /** The postmaster's PID. */
  readonly pid: number
  /** Fast shutdown (SIGINT to the postmaster, SIGKILL after 15 s), then the relay and the data directory go. */
  stop(): Promise<void>
}

/**
 * A replica on another "machine": `pg_basebackup` of the primary (through a TCP relay on the link's
 * host address, which is also how its WAL receiver streams), then `postgres` started inside the
 * namespace as the `postgres` OS user, listening on the namespace's address only, with a `pg_hba.conf`
 * of its own (trust from the link's host address). Resolves once it answers as a replica.
 *
 * @example
 * await using replica = await startNetnsReplica({ network, primary: { host: '127.0.0.1', port: 18200 } })
 * replica.url('microblog') // postgres://postgres@10.232.7.2:5432/microblog
 */
export async function startNetnsReplica(options: NetnsReplicaOptions): Promise<NetnsReplica> {
  const { network, signal } = options
  const port = options.port ?? 5432
  const pgBin = options.pgBin ?? '/usr/lib/postgresql/15/bin'
  const user = options.replicationUser ?? 'postgres'
  const timeoutMs = options.timeoutMs ?? 120_000
  const dataRoot = await mkdtemp(join(options.parentDir ?? '/var/tmp', netnsReplicaDirPrefix))
  const dataDir = join(dataRoot, 'data')
  let relay: TcpRelay | undefined
  let pid: number | undefined
  const stop = async () => {
    if (pid !== undefined) await stopPostmaster(pid)
    pid = undefined
    await relay?.close()
    await rm(dataRoot, { recursive: true, force: true })
  }
  try {
    const ids = await postgresIds()
    await chown(dataRoot, ids.uid, ids.gid)
    relay = await startTcpRelay(network.hostAddress, options.primary.host, options.primary.port, { signal })
    const conninfo = `host=${network.hostAddress} port=${relay.port} user=${user} application_name=netns-replica`
    await exec(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        join(pgBin, 'pg_basebackup'),
        '-d',
        conninfo,
        '-D',
        dataDir,
        '-X',
        'stream',
        '-c',
        'fast',
        '-R',
      ],
      { timeout: timeoutMs, ...(signal ? { signal } : {}) },
    ).catch((err: unknown) => {
      throw commandFailed('pg_basebackup', err)
    })
    await writeFile(
      join(dataRoot, 'pg_hba.conf'),
      `local all all trust\nhost all all ${network.hostAddress}/32 trust\nhost all all ${network.replicaAddress}/32 trust\n`,
    )
    const log = await open(join(dataRoot, 'postgres.log'), 'a')
    const settings = {
      listen_addresses: network.replicaAddress,
      port: String(port),
      unix_socket_directories: dataRoot,
      hba_file: join(dataRoot, 'pg_hba.conf'),
      ident_file: join(dataDir, 'pg_ident.conf'),
      primary_conninfo: conninfo,
      primary_slot_name: '',
      restore_command: '',
      archive_mode: 'off',
      hot_standby: 'on',
      cluster_name: `netns-replica-${network.id}`,
    }
    const child = spawn(
      ipBin,
      [
        'netns',
        'exec',
        network.namespace,
        'runuser',
        '-u',
        'postgres',
        '--',
        join(pgBin, 'postgres'),
        '-D',
        dataDir,
        ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
      ],
      { stdio: ['ignore', log.fd, log.fd], detached: true },
    )
    child.unref()
    await log.close()
    const url = `postgres://postgres@${network.replicaAddress}:${port}/postgres`
    pid = await waitForReplica(url, dataDir, join(dataRoot, 'postgres.log'), timeoutMs, signal)
  } catch (err) {
    await stop().catch(() => {})
    throw err
  }
  return {
    url: (database) => `postgres://postgres@${network.replicaAddress}:${port}/${database}`,
    address: network.replicaAddress,
    port,
    dataDir,
    pid,
    stop,
    [Symbol.asyncDispose]: stop,
  }
}

/** Polls until the server answers `pg_is_in_recovery()` = true; resolves with the postmaster's PID. */
async function waitForReplica(
  url: string,
  dataDir: string,
  logPath: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number> {
  const until = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < until) {
    signal?.throwIfAborted()
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 })
    client.on('error', () => {})
    try {
      await client.connect()
      const { rows } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery')
      if (rows[0]?.recovery) {
        const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0])
        if (Number.isInteger(pid) && pid > 0) return pid
      }
      last = 'not in recovery'
    } catch (err) {
      last = (err as Error).message
    } finally {
      await client.end().catch(() => {})
    }
    await sleep(200, undefined, signal ? { signal } : undefined)
  }
  const tail = await readFile(logPath, 'utf8').then(
    (text) => text.trim().split('\n').slice(-5).join('\n'),
    () => '(no log)',
  )
  throw new StackError('E_NOT_HEALTHY', `the namespace's replica did not come up (${last}):\n${tail}`, {
    component: 'netns-replica',
    log: logPath,
  })
}

/** SIGINT (fast shutdown) to the postmaster, SIGKILL after 15 s; resolves once it is gone. */
async function stopPostmaster(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
  if (!alive()) return
  process.kill(pid, 'SIGINT')
  for (let waited = 0; alive() && waited < 15_000; waited += 100) await sleep(100)
  if (alive()) process.kill(pid, 'SIGKILL')
  for (let waited = 0; alive() && waited < 5_000; waited += 100) await sleep(100)
}

/**
 * Removes the data directories an earlier run left in `parentDir` (their servers are gone with their
 * namespaces: see `removeLeftoverReplicaNetworks`). Returns what it removed.
 */
export async function removeLeftoverReplicaDirs(parentDir = '/var/tmp'): Promise<string[]> {
  const names = (await readdir(parentDir)).filter((name) => name.startsWith(netnsReplicaDirPrefix))
  for (const name of names) await rm(join(parentDir, name), { recursive: true, force: true })
  return names.map((name) => join(parentDir, name))
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

function commandFailed(command: string, err: unknown): StackError {
  const stderr = ((err as { stderr?: string }).stderr ?? '').trim().split('\n').slice(-5).join('\n')
  return new StackError(
    'E_COMMAND_FAILED',
    `${command} failed: ${stderr || (err as Error).message}`,
    { command },
    { cause: err },
  )
}
