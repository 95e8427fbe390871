import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { pgliteDriver } from '../src/drivers/pglite/index.js'
import { createCluster, type Driver } from '../src/index.js'
import { registerDriverContract } from './driver-contract.js'

registerDriverContract('PGlite in-process', { interruptsStatements: false }, async () => {
  const driver = pgliteDriver()
  const others: Driver[] = []
  return {
    driver: () => driver,
    otherDriver: () => {
      const other = pgliteDriver()
      others.push(other)
      return other
    },
    cleanup: async () => {
      await Promise.all([driver, ...others].map((d) => d.close()))
    },
  }
})

describe('PGlite driver', () => {
  it('keeps data in its directory across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-pglite-'))
    try {
      const first = createCluster({ driver: pgliteDriver({ dataDir: dir }) })
      await first.exec('CREATE TABLE kept (v text)')
      await first.write('INSERT INTO kept VALUES ($1)', ['still here'])
      await first.end()
      const second = createCluster({ driver: pgliteDriver({ dataDir: dir }) })
      expect((await second.read('SELECT v FROM kept')).rows).toEqual([{ v: 'still here' }])
      await second.end()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('refuses a pool larger than its one session', () => {
    expect(() => createCluster({ driver: pgliteDriver(), pool: { max: 2 } })).toThrow(
      'options.max must be at most 1',
    )
  })
})
