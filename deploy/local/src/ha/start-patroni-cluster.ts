import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { postgresIds } from '../commands.js'
import { StackError } from '../errors.js'
import { assertPortsFree } from '../ports.js'
import { ensureTraversable } from '../postgres.js'
import { haLayout } from './ha-layout.js'
import { clusterHandle, type PatroniCluster } from './patroni-cluster.js'
import {
  type PatroniClusterOptions,
  type ResolvedPatroniOptions,
  resolvePatroniOptions,
} from './patroni-options.js'
import { prepareDirs } from './prepare-dirs.js'
import { haProcesses, startMissing } from './start-missing.js'
import { stopCluster } from './stop-cluster.js'

/**
 * Starts a static etcd cluster and one Patroni per PostgreSQL member on loopback ports, and resolves
 * once one member is the primary and every other streams from it (with `synchronous`, once a
 * synchronous standby is chosen). Patroni runs as the `postgres` OS user; this process must be root
 * or that user. A member that is not up within `startTimeoutMs` fails with `E_NOT_HEALTHY`, its
 * name and the tail of its log; everything started is then stopped, and a directory made here removed.
 *
 * @example
 * await using cluster = await startPatroniCluster({ basePort: 18200 }, { signal })
 * const primary = await cluster.waitForPrimary({ signal })
 * await cluster.kill(primary, 'SIGKILL')
 * const next = await cluster.waitForPrimary({ exclude: [primary], signal })
 */
export async function startPatroniCluster(
  options: PatroniClusterOptions = {},
  { signal }: { signal?: AbortSignal } = {},
): Promise<PatroniCluster> {
  const resolved = resolvePatroniOptions(options)
  requireHaBinaries(resolved)
  signal?.throwIfAborted()
  const ids = await postgresIds()
  const created = resolved.dir === undefined
  const dir = created ? await mkdtemp(join(tmpdir(), 'hf-patroni-')) : resolve(resolved.dir!)
  const layout = haLayout(resolved, dir)
  const procs = haProcesses(layout)
  try {
    await mkdir(dir, { recursive: true })
    await ensureTraversable(dir)
    await assertPortsFree([
      ...layout.etcd.flatMap((m) => [
        { port: m.clientPort, component: m.name },
        { port: m.peerPort, component: m.name },
      ]),
      ...layout.members.flatMap((m) => [
        { port: m.pgPort, component: m.name },
        { port: m.restPort, component: m.name },
      ]),
    ])
    await prepareDirs(resolved, layout, ids)
    await startMissing(resolved, layout, procs, signal)
  } catch (err) {
    await stopCluster(layout, procs, resolved.stopTimeoutMs, resolved.log)
    if (created) await rm(dir, { recursive: true, force: true })
    throw err
  }
  return clusterHandle(resolved, layout, procs)
}

export function requireHaBinaries(options: ResolvedPatroniOptions): void {
  const checks: Array<[string, string]> = [
    [options.patroniBin, 'patroni'],
    [options.etcdBin, 'etcd-server'],
    [join(options.pgBin, 'postgres'), 'postgresql-15'],
  ]
  for (const [path, pkg] of checks) {
    if (!existsSync(path)) {
      throw new StackError('E_MISSING_BINARY', `${path} is not installed: apt-get install ${pkg}`, {
        command: path,
      })
    }
  }
}
