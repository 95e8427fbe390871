import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll } from 'vitest'

const ISSUER = fileURLToPath(new URL('../fixtures/issuer.mjs', import.meta.url))
/** Child processes import the workspace packages from source, as the tests do: no build needed. */
const FROM_SOURCE = ['--conditions=@hundredfold/source', '--import', 'tsx']

/**
 * Where issuer processes of one test file meet: a temporary database for their leases and a directory for
 * their id files, made before the file's tests (`beforeAll`) and removed after them.
 */
export function issuerWorkspace(name: string): {
  readonly database: TemporaryDatabase
  readonly dir: string
} {
  let database: TemporaryDatabase | undefined
  let dir: string | undefined
  beforeAll(async () => {
    database = await temporaryDatabase({ prefix: `id_${name}` })
    dir = mkdtempSync(join(tmpdir(), `hf-id-${name}-`))
  })
  afterAll(async () => {
    await database?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
  return {
    get database() {
      return database!
    },
    get dir() {
      return dir!
    },
  }
}

/** A JSON line the issuer printed. */
export interface IssuerEvent {
  event: 'leased' | 'issuing' | 'refused' | 'stopped' | 'released' | 'done'
  workerId?: number
  fencingToken?: number
  startAfter?: number
  code?: string
  issued?: number
}

/** A running `fixtures/issuer.mjs`. */
export interface Issuer {
  readonly child: ChildProcess
  readonly events: IssuerEvent[]
  /** Resolves with the first event of one of these kinds (rejects if the process exits first). */
  waitFor(...kinds: IssuerEvent['event'][]): Promise<IssuerEvent>
  readonly exited: Promise<number | null>
}

/** Starts an issuer process with these environment variables (DB_URL and OUT are required). */
export function startIssuer(env: Record<string, string>): Issuer {
  const child = spawn(process.execPath, [...FROM_SOURCE, ISSUER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: IssuerEvent[] = []
  const waiters: Array<() => void> = []
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  let partial = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    partial += chunk.toString()
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as IssuerEvent)
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = once(child, 'exit').then(([code]) => code as number | null)
  let done = false
  void exited.then(() => {
    done = true
    for (const wake of waiters.splice(0)) wake()
  })
  return {
    child,
    events,
    exited,
    async waitFor(...kinds) {
      for (;;) {
        const found = events.find((event) => kinds.includes(event.event))
        if (found) return found
        if (done)
          throw new Error(`issuer exited before ${kinds.join('/')}: ${JSON.stringify(events)} ${stderr}`)
        await new Promise<void>((wake) => waiters.push(wake))
      }
    },
  }
}

/** Kills with SIGKILL (kill -9) and waits for the exit. */
export async function kill9(issuer: Issuer): Promise<void> {
  issuer.child.kill('SIGKILL')
  await issuer.exited
}

/** Every id in these files (8 raw bytes each; a tail cut by kill -9 is dropped). */
export function readIds(files: readonly string[]): BigInt64Array {
  const parts = files.map((file) => {
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch {
      return new BigInt64Array(0)
    }
    const whole = bytes.length - (bytes.length % 8)
    return new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + whole))
  })
  const all = new BigInt64Array(parts.reduce((sum, part) => sum + part.length, 0))
  let at = 0
  for (const part of parts) {
    all.set(part, at)
    at += part.length
  }
  return all
}

/** How many ids occur more than once. Sorts in place. */
export function countDuplicates(ids: BigInt64Array): number {
  ids.sort()
  let duplicates = 0
  for (let i = 1; i < ids.length; i++) if (ids[i] === ids[i - 1]) duplicates++
  return duplicates
}
