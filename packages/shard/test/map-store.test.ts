import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCluster } from '@hundredfold/pg'
import { pgDriver } from '@hundredfold/pg/node-postgres'
import { type TemporaryDatabase, temporaryDatabase } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadShardMap, loadShardMapFile, parseShardMap, saveShardMap } from '../src/index.js'
import { rejection } from './support/caught.js'
import { smallMap } from './support/shard-fixture.js'

const document = smallMap('hf_shard_store', { users: { type: 'hash', key: 'user_id' } })

describe('shard map storage', () => {
  let database: TemporaryDatabase
  beforeAll(async () => {
    database = await temporaryDatabase({ prefix: 'hf_shard_store' })
  })
  afterAll(async () => {
    await database?.drop()
  })

  it('loads a map file, and names the field of an invalid one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-shard-map-'))
    try {
      await writeFile(join(dir, 'good.json'), JSON.stringify(document))
      await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...document, version: 'one' }))
      expect((await loadShardMapFile(join(dir, 'good.json'))).toJSON()).toEqual(
        parseShardMap(document).toJSON(),
      )
      const error = await rejection(loadShardMapFile(join(dir, 'bad.json')))
      expect([error.code, error.path]).toEqual(['E_INVALID_MAP', 'version'])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('stores versions in hf_shard_map, loads the newest, and refuses an older or equal one', async () => {
    const db = createCluster({ driver: pgDriver({ connectionString: database.url }), pool: { max: 1 } })
    try {
      expect((await rejection(loadShardMap(db))).code).toBe('E_INVALID_MAP')
      await saveShardMap(db, parseShardMap(document))
      await saveShardMap(db, parseShardMap({ ...document, version: 3, databases: { count: 32 } }))
      const newest = await loadShardMap(db)
      expect([newest.version, newest.databases.length]).toEqual([3, 32])
      for (const version of [2, 3]) {
        const refused = await rejection(saveShardMap(db, parseShardMap({ ...document, version })))
        expect([refused.code, refused.path]).toEqual(['E_INVALID_MAP', 'version'])
      }
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM hf_shard_map')
      expect(rows[0]!.n).toBe('2')
    } finally {
      await db.end()
    }
  })
})
