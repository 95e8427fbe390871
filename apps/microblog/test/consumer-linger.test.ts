import { describe, expect, it } from 'vitest'
import { eventually, queuedBlogPerSuite, queuedSetups, signUp } from './support.js'

/**
 * `HF_CONSUMER_LINGER_MS`: after a batch that was not full, the timeline consumer waits before fetching
 * again, so posts that trickle in are stored several to a transaction. Rows written by one transaction
 * share its id (`xmin`), which is how the test counts transactions without timing anything.
 */
describe('consumer linger (JetStream, PostgreSQL)', () => {
  const [, env] = queuedSetups[1]!
  const run = queuedBlogPerSuite('postgres', { ...env, HF_CONSUMER_LINGER_MS: '2000' }, 'lg')

  it('stores posts composed one after another in a few transactions, and every one of them', async () => {
    const author = await signUp(run.api, `linger_${run.namespace}`)
    const first = await run.api.post('/api/v1/posts', { text: 'the first' }, author.token)
    expect(first.status).toBe(202)
    await eventually(async () => expect(await xmins([first.body.post_id as string])).toHaveLength(1))

    // The consumer now waits before its next fetch: posts sent meanwhile, one by one, arrive together.
    const ids: string[] = []
    for (let i = 0; i < 8; i++) {
      const res = await run.api.post('/api/v1/posts', { text: `one by one ${i}` }, author.token)
      expect(res.status).toBe(202)
      ids.push(res.body.post_id as string)
    }
    await eventually(async () => expect(await stored(ids)).toBe(ids.length), 20_000)
    // Without the linger, each of these would have been a batch (and a transaction) of its own.
    expect((await xmins(ids)).length).toBeLessThanOrEqual(2)
  }, 60_000)

  async function stored(ids: string[]): Promise<number> {
    const { rows } = await run.blog.database.cluster.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM posts WHERE post_id = ANY($1::bigint[])',
      [ids],
    )
    return rows[0]!.n
  }

  async function xmins(ids: string[]): Promise<string[]> {
    const { rows } = await run.blog.database.cluster.query<{ x: string }>(
      'SELECT DISTINCT xmin::text AS x FROM posts WHERE post_id = ANY($1::bigint[])',
      [ids],
    )
    return rows.map((r) => r.x)
  }
})
