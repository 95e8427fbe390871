import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_OPTIONS, resolveOptions } from '../src/options.js'
import { findSuite } from '../src/registry.js'
import type { ResultsDocument } from '../src/results.js'

let outDir: string
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'hf-bench-shard-'))
})
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true })
})

const REQUIRED = [
  'routed_qps',
  'direct_qps',
  'overhead_ratio',
  'scatter_p99_ms',
  'reshard_lost_rows',
  'reshard_duplicated_rows',
  'reshard_write_pause_ms',
  'reshard_rows_per_s',
  'routed_p50_us',
  'routed_p99_us',
  'direct_p50_us',
  'direct_p99_us',
  'reshard_writes_per_s',
]

describe('the shard suite (smoke)', () => {
  it('routes, scatters and doubles under writes, loses and doubles no row, and drops every database it made', async () => {
    const options = resolveOptions({ smoke: true, outDir, log: () => {} })
    await findSuite('shard')!.run(options, new AbortController().signal)
    const doc = JSON.parse(await readFile(join(outDir, 'shard.json'), 'utf8')) as ResultsDocument
    for (const key of REQUIRED)
      expect({ key, type: typeof doc.metrics[key] }).toEqual({ key, type: 'number' })
    const m = doc.metrics as Record<string, number>
    expect(m['overhead_ratio']).toBeCloseTo(1 - m['routed_qps']! / m['direct_qps']!, 2)
    expect([m['reshard_lost_rows'], m['reshard_duplicated_rows'], m['reshard_misplaced_rows']]).toEqual([
      0, 0, 0,
    ])
    expect(m['reshard_write_failures']).toBe(0)
    expect(m['reshard_write_pause_ms']).toBeGreaterThan(0)
    expect(m['reshard_to_databases']).toBe(2 * m['reshard_from_databases']!)
    expect(doc.machine.cores).toBeGreaterThan(0)
    expect(doc.notes.some((n) => n.startsWith('overhead_ratio = 1 - routed_qps / direct_qps'))).toBe(true)

    const client = new pg.Client({ connectionString: DEFAULT_OPTIONS.postgresUrl })
    await client.connect()
    try {
      const { rows } = await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [
        `${String(doc.extra['routing_map'])}_`,
      ])
      expect(rows).toEqual([])
    } finally {
      await client.end()
    }
  }, 90_000)
})
