import { execFile } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

// The Prisma client of orm-transactions.test.ts is generated here, at test time, into ./client (gitignored),
// from ./schema.prisma by the `prisma` CLI (a devDependency, same major as @prisma/client). Generation runs
// offline: prisma 7's TypeScript query compiler needs no engine binary, and the CLI only checks that a
// schema engine exists (which `generate` never runs), so any existing file stands in for it; otherwise it
// would download one.

const SCHEMA = fileURLToPath(new URL('./schema.prisma', import.meta.url))
const CLIENT = new URL('./client/client.ts', import.meta.url).href
const CLI = createRequire(import.meta.url).resolve('prisma/build/index.js')

interface TxRow {
  orm: string
  n: number
}

/** The part of the generated `txRow` model delegate the test uses. */
export interface TxRowDelegate {
  create(args: { data: TxRow }): Promise<TxRow>
  findUnique(args: { where: { orm_n: TxRow } }): Promise<TxRow | null>
}

/** The part of the generated `PrismaClient` the test uses (the generated types do not exist before this runs). */
export interface TestPrismaClient {
  txRow: TxRowDelegate
  $transaction<T>(
    fn: (tx: { txRow: TxRowDelegate }) => Promise<T>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<T>
  $disconnect(): Promise<void>
}

/** Generates the client from the schema and loads its `PrismaClient` class. */
export async function generatePrismaClient(): Promise<
  new (options: {
    adapter: unknown
  }) => TestPrismaClient
> {
  await promisify(execFile)(process.execPath, [CLI, 'generate', '--schema', SCHEMA], {
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  })
  const generated: { PrismaClient: new (options: { adapter: unknown }) => TestPrismaClient } = await import(
    CLIENT
  )
  return generated.PrismaClient
}
