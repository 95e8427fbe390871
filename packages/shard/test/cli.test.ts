import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../src/index.js'
import { dropDatabases, smallMap, testConnect } from './support/shard-fixture.js'

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

/** `hundredfold-shard` as a process, from source. */
async function spawnCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ['--conditions=@hundredfold/source', '--import', 'tsx', CLI, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (chunk: Buffer) => (output += chunk))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, output }
}

/** `runCli` with its output captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, {
    stdout: (t) => (stdout += `${t}\n`),
    stderr: (t) => (stderr += `${t}\n`),
    connect: testConnect,
  })
  return { code, stdout, stderr }
}

describe('hundredfold-shard', () => {
  const document = smallMap(
    'hf_shard_cli',
    {
      users: { type: 'hash', key: 'user_id', tables: 2, binding: 'user' },
      posts: { type: 'hash', key: 'author_id', tables: 2, binding: 'user' },
    },
    2,
  )
  let dir: string
  let mapFile: string
  let migrations: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-shard-cli-'))
    mapFile = join(dir, 'shard-map.json')
    migrations = join(dir, 'migrations')
    await writeFile(mapFile, JSON.stringify(document, null, 2))
    await mkdir(migrations)
    // Out of order on purpose: files run in name order.
    await writeFile(
      join(migrations, '002_posts.sql'),
      'CREATE TABLE {posts} (author_id bigint, post_id bigint)\n',
    )
    await writeFile(join(migrations, '001_users.sql'), 'CREATE TABLE {users} (user_id bigint PRIMARY KEY)\n')
    await writeFile(join(migrations, 'README.txt'), 'not a migration')
  })
  afterAll(async () => {
    await dropDatabases(document)
    await rm(dir, { recursive: true, force: true })
  })

  it('prints the plan of a dry run and changes nothing', async () => {
    const { code, stdout } = await cli(['migrate', '--map', mapFile, '--dir', migrations, '--dry-run'])
    expect(code).toBe(0)
    expect(stdout).toContain(`would create database ${document.name}_00 on server a`)
    expect(stdout.indexOf('001_users → users_00, users_01')).toBeLessThan(
      stdout.indexOf('002_posts → posts_00'),
    )
    expect(stdout).toContain('would apply 4 steps')
  })

  it('migrates, printing each step as it commits, and a rerun finds nothing to do', async () => {
    const first = await cli(['migrate', '--map', mapFile, '--dir', migrations])
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(`${document.name}_01 (b): 002_posts → posts_00, posts_01`)
    expect(first.stdout).toContain(`created database ${document.name}_01 on server b`)
    const again = await cli(['migrate', '--map', mapFile, '--dir', migrations])
    expect([again.code, again.stdout.trim()]).toEqual([
      0,
      'up to date: every migration is applied everywhere',
    ])
  })

  it('fails with status 1 and the error code for a bad map, naming the field', async () => {
    const bad = join(dir, 'bad-map.json')
    await writeFile(bad, JSON.stringify({ ...document, tables: { users: { type: 'hash' } } }))
    const { code, stderr } = await cli(['migrate', '--map', bad, '--dir', migrations])
    expect(code).toBe(1)
    expect(stderr).toContain('E_INVALID_MAP (at tables.users.key)')
  })

  it('answers bad usage with status 2', async () => {
    expect((await cli(['migrate', '--map', mapFile])).code).toBe(2)
    expect((await cli(['migrate', '--map', mapFile, '--dir', migrations, '--force'])).code).toBe(2)
    expect((await cli(['explode'])).code).toBe(2)
    expect((await cli([])).code).toBe(2)
    expect((await cli(['--help'])).code).toBe(0)
  })

  it('answers a reshard step without what it needs with status 2 and the reshard usage', async () => {
    const noStep = await cli(['reshard'])
    expect([noStep.code, noStep.stderr]).toEqual([
      2,
      expect.stringContaining('reshard cutover --map <file|url>'),
    ])
    expect((await cli(['reshard', 'explode', '--map', mapFile])).code).toBe(2)
    expect((await cli(['reshard', 'cutover'])).stderr).toContain('cutover needs --map')
    expect((await cli(['reshard', 'status', '--map', mapFile, '--to', '4'])).stderr).toContain(
      'status takes no --to',
    )
    expect((await cli(['reshard', 'plan', '--map', mapFile])).stderr).toContain('--to is required')
    const servers = await cli(['reshard', 'plan', '--map', mapFile, '--to', '4', '--servers', 'c=mysql://x'])
    expect([servers.code, servers.stderr]).toEqual([
      2,
      expect.stringContaining('--servers takes <name>=<postgres://url>'),
    ])
    expect((await cli(['reshard', 'cutover', '--map', mapFile, '--max-pause-ms', '0'])).code).toBe(2)
  })

  it('plans a doubling from a map file without touching a database', async () => {
    const out = join(dir, 'doubled.json')
    const { code, stdout } = await cli(['reshard', 'plan', '--map', mapFile, '--to', '4', '--out', out])
    expect(code).toBe(0)
    expect(stdout).toContain(`${document.name}_01  b       →  ${document.name}_03  b`)
    const doubled = JSON.parse(await readFile(out, 'utf8'))
    expect([doubled.version, doubled.databases]).toEqual([
      2,
      { count: 4, name: '<name>_<dd>', servers: ['a', 'b', 'a', 'b'] },
    ])
  })

  it('fails a reshard step with status 1 and the error code when nothing is recorded', async () => {
    const { code, stderr } = await cli(['reshard', 'status', '--map', mapFile])
    expect(code).toBe(1)
    expect(stderr).toContain('E_RESHARD_STATE: no resharding is recorded')
  })

  it('runs as a process: reshard without a step exits 2; migrate --dry-run exits 0', async () => {
    const reshard = await spawnCli(['reshard'])
    expect(reshard.code).toBe(2)
    expect(reshard.output).toMatch(/which step\?/)
    const dry = await spawnCli(['migrate', '--map', mapFile, '--dir', migrations, '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.output).toContain('up to date')
  })
})
