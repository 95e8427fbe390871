import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { StackError } from './errors.js'

/** The repository root: this file is `deploy/local/{src,dist}/paths.{ts,js}`. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** The built entry points the stack runs, as a deployment would (`npm run build` makes them). */
export const entryPoints = Object.freeze({
  microblog: join(repoRoot, 'apps/microblog/dist/main.js'),
  idService: join(repoRoot, 'packages/id-service/dist/main.js'),
})

/**
 * The entry point of a microblog build: `<build>/dist/main.js`, or with no build the repository's own
 * (`apps/microblog/dist/main.js`).
 */
export function microblogEntry(build?: string): string {
  return build ? join(resolve(build), 'dist/main.js') : entryPoints.microblog
}

/**
 * Fails with `E_NOT_BUILT` when `build` holds no built microblog (`<build>/dist/main.js`); `hint` ends
 * the message (what to do about it).
 */
export function requireMicroblogBuild(
  build: string,
  hint = 'a build directory holds a built microblog (`npm run build` in it makes dist/main.js)',
): void {
  const entry = microblogEntry(build)
  if (!existsSync(entry)) {
    throw new StackError('E_NOT_BUILT', `${entry} is missing: ${hint}`, { command: entry })
  }
}

/** The Debian packages' binaries (`postgresql-15` + `postgresql-15-postgis-3`, `redis-server`, `nats-server`, `nginx`). */
export const binaries = Object.freeze({
  pgBin: process.env['HF_STACK_PG_BIN'] || '/usr/lib/postgresql/15/bin',
  redis: firstExisting(['/usr/bin/redis-server', '/usr/local/bin/redis-server']) ?? 'redis-server',
  nats:
    firstExisting(['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) ??
    'nats-server',
  nginx: firstExisting(['/usr/sbin/nginx', '/usr/local/sbin/nginx']) ?? 'nginx',
})

function firstExisting(paths: string[]): string | undefined {
  return paths.find((path) => existsSync(path))
}

/** Fails with the package to install when a server binary is missing. */
export function requireBinaries(): void {
  const checks: Array<[string, string, string]> = [
    [join(binaries.pgBin, 'postgres'), 'PostgreSQL 15', 'postgresql-15 postgresql-15-postgis-3'],
    [binaries.redis, 'redis-server', 'redis-server'],
    [binaries.nats, 'nats-server', 'nats-server'],
    [binaries.nginx, 'nginx', 'nginx'],
  ]
  for (const [path, what, pkg] of checks) {
    if (!existsSync(path)) {
      throw new StackError('E_MISSING_BINARY', `${what} is not installed (${path}): apt-get install ${pkg}`, {
        command: path,
      })
    }
  }
}

/** Fails when the processes the stack runs have not been built. */
export function requireBuild(): void {
  for (const path of Object.values(entryPoints)) {
    if (!existsSync(path)) {
      throw new StackError('E_NOT_BUILT', `${path} is missing: run \`npm run build\` (npm run stack does)`, {
        command: path,
      })
    }
  }
}
