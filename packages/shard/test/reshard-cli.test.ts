import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createShardRouter,
  databaseUrl,
  migrate,
  parseShardMap,
  type ReshardStatus,
  runCli,
  type ShardMap,
  type ShardMapDocument,
  type ShardRouter,
  type SwitchReport,
  saveShardMap,
} from '../src/index.js'
import { testConnect, uniqueName } from './support/shard-fixture.js'

const WRITER = fileURLToPath(new URL('./fixtures/map-writer.ts', import.meta.url))
const AUTHORS = 60

/** `runCli` in this process, its output captured. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(args, {
    stdout: (t) => (stdout += `${t}\n`),
    stderr: (t) => (stderr += `${t}\n`),
  })
  return { code, stdout, stderr }
}

/** An application process (test/fixtures/map-writer.ts): a watching router and writers through it. */
interface Writer {
  readonly name: string
  readonly child: ChildProcess
  readonly id: string
  readonly acked: { author: number; post: number }[]
  readonly failures: string[]
  version: number
  done: { version: number; maxWriteMs: number; writes: number } | undefined
  readonly exited: Promise<unknown>
}

async function startWriter(name: string, control: string, firstPost: number): Promise<Writer> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@hundredfold/source',
      '--import',
      'tsx',
      WRITER,
      control,
      name,
      String(firstPost),
      String(AUTHORS),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let errors = ''
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk))
  const exited = once(child, 'exit')
  const writer = await new Promise<Writer>((resolve, reject) => {
    const state = { acked: [], failures: [], version: 0, done: undefined } as unknown as Writer
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const [kind, ...fields] = line.split(' ')
      if (kind === 'ready') {
        resolve(Object.assign(state, { name, child, id: fields[0]!, version: Number(fields[1]), exited }))
      } else if (kind === 'ack') state.acked.push({ author: Number(fields[0]), post: Number(fields[1]) })
      else if (kind === 'version') state.version = Number(fields[0])
      else if (kind === 'fail') state.failures.push(fields.join(' '))
      else if (kind === 'done') {
        state.done = { version: Number(fields[0]), maxWriteMs: Number(fields[1]), writes: Number(fields[2]) }
      }
    })
    void exited.then(() => reject(new Error(`${name} exited before it was ready: ${errors}`)))
  })
  return writer
}

/** Stops a writer by its pid: SIGTERM (it finishes its writes and reports), SIGKILL after 10 s. */
async function stopWriter(writer: Writer, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
  if (writer.child.exitCode !== null || writer.child.signalCode !== null) return
  process.kill(writer.child.pid!, signal)
  const timer = setTimeout(() => process.kill(writer.child.pid!, 'SIGKILL'), 10_000)
  await writer.exited
  clearTimeout(timer)
}

async function until(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * The whole doubling through `hundredfold-shard reshard …` (each step a fresh `runCli`, its state read
 * from hf_reshard), while two application processes write through routers that watch the map.
 */
describe('hundredfold-shard reshard: routers in other processes switch with the CLI', () => {
  let sources: ReplicaSet
  let targets: ReplicaSet
  let dir: string
  const writers: Writer[] = []
  const routers: ShardRouter[] = []
  const settings = {
    max_replication_slots: '40',
    max_wal_senders: '40',
    max_logical_replication_workers: '40',
    max_worker_processes: '60',
    wal_retrieve_retry_interval: '200ms',
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-reshard-cli-'))
    ;[sources, targets] = await Promise.all([
      startReplicaSet({ replicas: 0, walLevel: 'logical', settings }),
      startReplicaSet({ replicas: 0, walLevel: 'logical', settings }),
    ])
  }, 60_000)
  afterAll(async () => {
    await Promise.all(writers.map((w) => stopWriter(w, 'SIGKILL')))
    await Promise.all(routers.map((r) => r.end()))
    await Promise.all([sources?.destroy(), targets?.destroy()])
    await rm(dir, { recursive: true, force: true })
  })

  const serverOf = (set: ReplicaSet) => set.primary.url.replace(/\/postgres$/, '')

  async function seeded(): Promise<{ map: ShardMap; control: string }> {
    const document: ShardMapDocument = {
      version: 1,
      name: uniqueName('rcl'),
      servers: { a: { primary: serverOf(sources) } },
      databases: { count: 4 },
      tables: {
        users: { type: 'hash', key: 'user_id', tables: 4, binding: 'user' },
        posts: { type: 'hash', key: 'author_id', tables: 4, binding: 'user' },
      },
    }
    const map = parseShardMap(document)
    const router = createShardRouter({ map, connect: testConnect })
    routers.push(router)
    await migrate(router, [
      {
        name: '001_users',
        sql: 'CREATE TABLE {users} (user_id bigint PRIMARY KEY, name text NOT NULL, posts int NOT NULL DEFAULT 0)',
      },
      {
        name: '002_posts',
        sql: 'CREATE TABLE {posts} (author_id bigint NOT NULL REFERENCES {users}, post_id bigint NOT NULL, body text NOT NULL, PRIMARY KEY (author_id, post_id))',
      },
    ])
    for (let id = 1; id <= AUTHORS; id++) {
      await router
        .shard('users', id)
        .write('INSERT INTO {users} (user_id, name) VALUES ($1, $2)', [id, `u${id}`])
    }
    await saveShardMap(router.cluster(0), map) // the map the application processes load and watch
    return { map, control: databaseUrl(serverOf(sources), map.databases[0]!.name) }
  }

  /** Every post and user in every physical table of a map, with where each was found. */
  async function everyRow(map: ShardMap) {
    const router = createShardRouter({ map, connect: testConnect })
    routers.push(router)
    const posts = new Map<number, string[]>()
    const users = new Map<number, { posts: number; at: string[] }>()
    for (const location of map.locations('posts')) {
      const { rows } = await router
        .cluster(location.databaseIndex)
        .query<{ post_id: string }>(`SELECT post_id::text FROM ${location.physicalTable}`)
      for (const r of rows)
        posts.set(Number(r.post_id), [...(posts.get(Number(r.post_id)) ?? []), location.label])
    }
    for (const location of map.locations('users')) {
      const { rows } = await router
        .cluster(location.databaseIndex)
        .query<{ user_id: string; posts: number }>(
          `SELECT user_id::text, posts FROM ${location.physicalTable}`,
        )
      for (const r of rows) {
        const id = Number(r.user_id)
        users.set(id, { posts: r.posts, at: [...(users.get(id)?.at ?? []), location.label] })
      }
    }
    return { posts, users }
  }

  it('plan → start → status → verify → cutover → reverse → cutover → complete: no acknowledged write lost or doubled, writes paused not failed, a dead router left out after its lease', async () => {
    const { control } = await seeded()
    const a = await startWriter('writer-a', control, 1_000_000_000)
    writers.push(a)
    const b = await startWriter('writer-b', control, 2_000_000_000)
    writers.push(b)
    const acked = () => a.acked.length + b.acked.length
    const moreWrites = async (n: number, from = [a, b]) => {
      const goal = from.map((w) => w.acked.length + n)
      await until(`${n} more writes`, () => from.every((w, i) => w.acked.length >= goal[i]!))
    }
    await moreWrites(20)

    // plan: prints the pairs and writes the doubled map; a --to that is not double is bad usage.
    const out = join(dir, 'doubled.json')
    const servers = `b=${serverOf(targets)}`
    const plan = await cli([
      'reshard',
      'plan',
      '--map',
      control,
      '--to',
      '8',
      '--servers',
      servers,
      '--out',
      out,
    ])
    expect(plan.code, plan.stderr).toBe(0)
    expect(plan.stdout).toContain('plan v1to2: 4 → 8 databases (map version 1 → 2)')
    const doubled = parseShardMap(await readFile(out, 'utf8'))
    expect([doubled.version, doubled.databases.map((d) => d.server.name)]).toEqual([
      2,
      ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'],
    ])
    expect((await cli(['reshard', 'plan', '--map', control, '--to', '6'])).code).toBe(2)

    expect(
      await cli(['reshard', 'start', '--map', control, '--to', '8', '--servers', servers]),
    ).toMatchObject({
      code: 0,
    })
    const waited = await cli([
      'reshard',
      'status',
      '--map',
      control,
      '--wait',
      '--timeout-ms',
      '30000',
      '--json',
    ])
    expect(waited.code, waited.stderr).toBe(0)
    const status = JSON.parse(waited.stdout) as ReshardStatus
    expect(status).toMatchObject({ state: 'copying', caughtUp: true, mapVersion: 1 })
    expect(status.routers.map((r) => r.name).sort()).toEqual(['writer-a', 'writer-b'])
    const table = await cli(['reshard', 'status', '--map', control])
    expect(table.stdout).toContain('resharding v1to2: copying, caught up (map version 1)')
    expect(table.stdout).toMatch(/writer-a\s+\w+\s+v1/)

    // verify: equal while writes go on; a row planted in a new database is a difference (exit 1).
    const clean = await cli(['reshard', 'verify', '--map', control])
    expect([clean.code, clean.stdout.trim()]).toEqual([0, expect.stringMatching(/: no differences$/)])
    const author = [...Array(AUTHORS).keys()]
      .map((i) => i + 1)
      .find((id) => doubled.resolve('posts', id).databaseIndex >= 4)!
    const planted = doubled.resolve('posts', author)
    const target = createShardRouter({ map: doubled, connect: testConnect })
    routers.push(target)
    const plant = `INSERT INTO ${planted.physicalTable} (author_id, post_id, body) VALUES ($1, 999999999999, 'planted')`
    await target.cluster(planted.databaseIndex).query(plant, [author])
    const dirty = await cli(['reshard', 'verify', '--map', control])
    expect(dirty.code).toBe(1)
    expect(dirty.stdout).toContain(`1 differ`)
    expect(dirty.stdout).toContain(planted.physicalTable)
    await target
      .cluster(planted.databaseIndex)
      .query(`DELETE FROM ${planted.physicalTable} WHERE post_id = 999999999999`)

    // cutover: both routers hold, switch to version 2 and release; nothing failed.
    const first = await cli(['reshard', 'cutover', '--map', control, '--max-pause-ms', '1000', '--json'])
    expect(first.code, first.stderr).toBe(0)
    const cutover = JSON.parse(first.stdout) as SwitchReport
    expect(cutover).toMatchObject({ version: 2, excluded: [] })
    expect(cutover.routers.map((r) => [r.name, r.version]).sort()).toEqual([
      ['writer-a', 2],
      ['writer-b', 2],
    ])
    expect(cutover.pauseMs).toBeLessThan(1000)
    await until('both writers on version 2', () => a.version === 2 && b.version === 2)
    await moreWrites(50)

    // reverse: back to the old layout as version 3, and the new databases follow again.
    const back = await cli(['reshard', 'reverse', '--map', control, '--json'])
    expect(back.code, back.stderr).toBe(0)
    const reverse = JSON.parse(back.stdout) as SwitchReport
    expect(reverse.version).toBe(3)
    expect(reverse.routers.map((r) => r.version)).toEqual([3, 3])
    expect(reverse.pauseMs).toBeLessThan(1000)
    await until('both writers on version 3', () => a.version === 3 && b.version === 3)
    await moreWrites(50)
    const again = await cli([
      'reshard',
      'status',
      '--map',
      control,
      '--wait',
      '--timeout-ms',
      '30000',
      '--json',
    ])
    expect(JSON.parse(again.stdout)).toMatchObject({ state: 'reversed', caughtUp: true, mapVersion: 3 })

    // A router dies. While its lease runs, a cutover that will not wait for it fails before holding
    // anything; one that waits past the lease goes on without it.
    await stopWriter(b, 'SIGKILL')
    const refused = await cli(['reshard', 'cutover', '--map', control, '--router-wait-ms', '200'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /E_RESHARD_STATE: 1 router\(s\) did not answer .* writer-b .*nothing was held/,
    )
    await moreWrites(20, [a])
    expect(a.version).toBe(3)
    const second = await cli(['reshard', 'cutover', '--map', control, '--router-wait-ms', '5000', '--json'])
    expect(second.code, second.stderr).toBe(0)
    const cutoverAgain = JSON.parse(second.stdout) as SwitchReport
    expect(cutoverAgain.version).toBe(4)
    expect(cutoverAgain.excluded).toEqual([{ id: b.id, name: 'writer-b' }])
    expect(cutoverAgain.routers.map((r) => [r.name, r.version])).toEqual([['writer-a', 4]])
    expect(cutoverAgain.pauseMs).toBeLessThan(1000)
    await until('writer-a on version 4', () => a.version === 4)
    await moreWrites(50, [a])
    await stopWriter(a)
    expect(a.done?.version).toBe(4)

    const completed = await cli(['reshard', 'complete', '--map', control])
    expect(completed.code, completed.stderr).toBe(0)
    expect(completed.stdout).toMatch(/^completed v1to2: \d+ redundant rows deleted/)
    expect((await cli(['reshard', 'abort', '--map', control])).code).toBe(1) // completed: nothing to abort

    // Writes met each hold and waited in it: none failed.
    expect([...a.failures, ...b.failures]).toEqual([])
    for (const report of [cutover, reverse, cutoverAgain]) expect(report.bufferedWrites).toBeGreaterThan(0)

    // Every acknowledged write exactly once, where the final map puts it; the counters agree.
    const final = parseShardMap({ ...doubled.toJSON(), version: 4 })
    const rows = await everyRow(final)
    const all = [...a.acked, ...b.acked]
    expect(all.filter((w) => !rows.posts.has(w.post))).toEqual([]) // none lost
    expect([...rows.posts].filter(([, at]) => at.length > 1)).toEqual([]) // none doubled
    for (const w of all) expect(rows.posts.get(w.post)).toEqual([final.resolve('posts', w.author).label])
    // Rows nobody heard about: at most the writes writer-b had in flight when it was killed.
    const heard = new Set(all.map((w) => w.post))
    const unheard = [...rows.posts.keys()].filter((p) => !heard.has(p))
    expect(unheard.length).toBeLessThanOrEqual(3)
    for (const post of unheard) expect(post).toBeGreaterThanOrEqual(2_000_000_000)
    const perAuthor = new Map<number, number>()
    for (const post of rows.posts.keys()) {
      const by = 1 + (post % AUTHORS)
      perAuthor.set(by, (perAuthor.get(by) ?? 0) + 1)
    }
    for (let id = 1; id <= AUTHORS; id++) {
      expect(rows.users.get(id)).toEqual({
        posts: perAuthor.get(id) ?? 0,
        at: [final.resolve('users', id).label],
      })
    }
    console.info(
      `reshard CLI: ${acked()} acknowledged writes; pause (max over routers) cutover ${Math.round(cutover.pauseMs)} ms, ` +
        `reverse ${Math.round(reverse.pauseMs)} ms, cutover again ${Math.round(cutoverAgain.pauseMs)} ms; ` +
        `buffered ${cutover.bufferedWrites}/${reverse.bufferedWrites}/${cutoverAgain.bufferedWrites}; ` +
        `slowest write of writer-a ${a.done?.maxWriteMs} ms; steps (held/fenced/swapped/published, ms) ` +
        [cutover, reverse, cutoverAgain]
          .map((r) =>
            Object.values(r.steps)
              .map((v) => Math.round(v))
              .join('/'),
          )
          .join(', '),
    )
  }, 120_000)
})
