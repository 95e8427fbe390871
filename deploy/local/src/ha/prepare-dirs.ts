import { chown, mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { HaLayout } from './ha-layout.js'
import { renderPatroniConfig } from './patroni-config.js'
import type { ResolvedPatroniOptions } from './patroni-options.js'

/**
 * Creates every member's directory and log and writes each Patroni configuration. The members'
 * directories and logs belong to the `postgres` OS user (`ids`, when this process is root): Patroni
 * runs as it, and `initdb` makes the data directory inside.
 */
export async function prepareDirs(
  options: ResolvedPatroniOptions,
  layout: HaLayout,
  ids: { uid: number; gid: number } | undefined,
): Promise<void> {
  const own = async (path: string) => {
    if (ids) await chown(path, ids.uid, ids.gid)
  }
  await mkdir(dirname(layout.etcd[0]!.log), { recursive: true, mode: 0o755 })
  for (const member of layout.etcd) {
    await mkdir(member.dataDir, { recursive: true, mode: 0o700 })
    await writeFile(member.log, '', { flag: 'a' })
  }
  for (const member of layout.members) {
    await mkdir(member.dir, { recursive: true, mode: 0o700 })
    await own(member.dir)
    await writeFile(member.configFile, renderPatroniConfig(options, layout, member), { mode: 0o600 })
    await own(member.configFile)
    await writeFile(member.log, '', { flag: 'a' })
    await own(member.log)
  }
}
