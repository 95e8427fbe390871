import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Migration } from './migration.js'

/**
 * The `*.sql` files of a directory as migrations, in file-name order (by code point, so number them:
 * `001_users.sql`); each is named by its file name without `.sql`.
 *
 * @example
 * const migrations = await loadMigrationsDir('./migrations')
 */
export async function loadMigrationsDir(
  dir: string,
  options: { signal?: AbortSignal } = {},
): Promise<Migration[]> {
  const names = (await readdir(dir))
    .filter((f) => f.endsWith('.sql'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  const signal = options.signal ? { signal: options.signal } : {}
  return Promise.all(
    names.map(async (file) => ({
      name: file.slice(0, -'.sql'.length),
      sql: await readFile(join(dir, file), { encoding: 'utf8', ...signal }),
    })),
  )
}
