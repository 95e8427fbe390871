import { type ReplicaSet, startReplicaSet } from '@hundredfold/pg/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig, type Microblog, startMicroblog } from '../src/index.js'
import { client, signUp } from './support.js'

describe('the microblog on a primary and two lagging replicas', () => {
  let set: ReplicaSet
  let blog: Microblog
  let api: ReturnType<typeof client>

  beforeAll(async () => {
    set = await startReplicaSet({ replicas: 2 })
    blog = await startMicroblog(
      loadConfig({
        HF_PORT: '0',
        HF_LOG_LEVEL: 'silent',
        HF_DATABASE_URL: set.primary.url,
        HF_DATABASE_REPLICA_URLS: set.replicas.map((r) => r.url).join(','),
        HF_DB_MAX_LAG_MS: '5000',
        // This file proves database routing (a lagging replica answers a read without a token). The
        // cache's loaders read the primary by design, so it would hide that: cache.test.ts covers it.
        HF_CACHE: 'off',
      }),
    )
    api = client(blog.url)
  }, 120_000)

  afterAll(async () => {
    await blog?.close()
    await set?.destroy()
  })

  it('reads from replicas, and an author carrying the token always sees their own new post', async () => {
    const alice = await signUp(api, 'alice')
    // From here on, replicas replay 1.5 s late.
    for (const replica of set.replicas) await set.setApplyDelay(replica, 1500)
    const composed = await api.post('/api/v1/posts', { text: 'fresh' }, alice.token)
    expect(composed.status).toBe(201)
    const token = composed.headers.get('x-consistency-token')
    expect(token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    expect(composed.headers.get('set-cookie')).toContain(`hf_ct=${token}`)

    const withToken = await fetch(new URL(`/api/v1/users/${alice.id}/posts`, blog.url), {
      headers: { 'x-consistency-token': token! },
    })
    expect(((await withToken.json()) as { posts: Array<{ text: string }> }).posts.map((p) => p.text)).toEqual(
      ['fresh'],
    )

    // Without the token a lagging replica answers: the post is not there yet.
    const without = await api.get(`/api/v1/users/${alice.id}/posts`)
    expect(without.body.posts).toEqual([])
    const replicaReads = blog.database.cluster
      .stats()
      .hosts.filter((h) => h.role === 'replica')
      .reduce((n, h) => n + h.reads, 0)
    expect(replicaReads).toBeGreaterThan(0)
    for (const replica of set.replicas) await set.setApplyDelay(replica, 0)

    const metrics = await api.get('/metrics')
    expect(metrics.text).toMatch(/db_host_up\{host="[^"]+",role="replica"\} 1/)
    expect(metrics.text).toMatch(/db_replica_lag_seconds\{host="[^"]+"\} [0-9.e-]+/)
    expect(metrics.text).toMatch(/db_replica_in_rotation\{host="[^"]+"\} [01]/)
    expect(metrics.text).toMatch(/db_queries_total\{host="[^"]+",route="read"\} [1-9]/)
    expect(metrics.text).toMatch(/db_pool_acquire_wait_seconds\{host="[^"]+",quantile="0\.99"\}/)
  })

  it('signs a user in at once after sign-up and refuses an old password at once after a change, replicas lagging', async () => {
    for (const replica of set.replicas) await set.setApplyDelay(replica, 1500)
    try {
      const made = await api.post('/api/v1/users', { username: 'carol', password: 'first password' })
      expect(made.status).toBe(201)
      const first = await api.post('/api/v1/sessions', { username: 'carol', password: 'first password' })
      expect(first.status).toBe(200)
      const changed = await api.raw(
        'PUT',
        '/api/v1/users/me/password',
        JSON.stringify({ current_password: 'first password', new_password: 'second password' }),
        'application/json',
        first.body.token,
      )
      expect(changed.status).toBe(204)
      expect(
        (await api.post('/api/v1/sessions', { username: 'carol', password: 'first password' })).status,
      ).toBe(401)
      expect(
        (await api.post('/api/v1/sessions', { username: 'carol', password: 'second password' })).status,
      ).toBe(200)
    } finally {
      for (const replica of set.replicas) await set.setApplyDelay(replica, 0)
    }
  })

  it('serves a forged token ahead of the primary as no token, and counts it', async () => {
    const alice = await api.get('/api/v1/usernames/alice')
    const read = () =>
      fetch(new URL(`/api/v1/users/${alice.body.user_id}/posts`, blog.url), {
        headers: { 'x-consistency-token': 'FFFFFFFF/FFFFFFFF' },
      })
    const before = blog.database.cluster.stats()
    for (let i = 0; i < 5; i++) expect((await read()).status).toBe(200)
    const after = blog.database.cluster.stats()
    expect(after.tokensAhead - before.tokensAhead).toBe(5)
    // The reads themselves went to replicas, none fell back to the primary.
    const primaryStatements = (s: typeof before) => s.hosts.find((h) => h.role === 'primary')!
    const replicaReads = (s: typeof before) =>
      s.hosts.filter((h) => h.role === 'replica').reduce((n, h) => n + h.reads, 0)
    expect(replicaReads(after) - replicaReads(before)).toBeGreaterThanOrEqual(5)
    expect(primaryStatements(after).reads - primaryStatements(before).reads).toBe(0)
    const metrics = await api.get('/metrics')
    expect(metrics.text).toMatch(/pg_consistency_tokens_ahead_total [5-9]/)
  })

  it('answers 400 E_INVALID_TOKEN for a malformed token', async () => {
    const res = await fetch(new URL('/api/v1/posts/nearby?lat=1&lon=1&radius_m=10', blog.url), {
      headers: { 'x-consistency-token': 'not-an-lsn' },
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { code: string }).code).toBe('E_INVALID_TOKEN')
  })
})

describe('the microblog on HF_DATABASE_HOSTS (roles discovered)', () => {
  let set: ReplicaSet
  let blog: Microblog

  beforeAll(async () => {
    set = await startReplicaSet({ replicas: 1 })
    // The replica first: which member is the primary is the cluster's answer, not the list's order.
    blog = await startMicroblog(
      loadConfig({
        HF_PORT: '0',
        HF_LOG_LEVEL: 'silent',
        HF_DATABASE_HOSTS: [set.replicas[0]!.url, set.primary.url].join(','),
      }),
    )
  }, 120_000)

  afterAll(async () => {
    await blog?.close()
    await set?.destroy()
  })

  it('finds the primary among the members, writes there and leases its worker id there', async () => {
    const api = client(blog.url)
    const bob = await signUp(api, 'bob')
    expect((await api.post('/api/v1/posts', { text: 'found it' }, bob.token)).status).toBe(201)
    const roles = blog.database.cluster.stats().hosts.map((h) => h.role)
    expect(roles.sort()).toEqual(['primary', 'replica'])
    const primaryHost = blog.database.cluster.stats().hosts.find((h) => h.role === 'primary')!
    expect(primaryHost.host).toContain(String(new URL(set.primary.url).port))
  })

  it('serves a cache miss from the replica while no primary is known (the primary stopped)', async () => {
    const api = client(blog.url)
    const carol = await signUp(api, 'carol')
    // The replica has carol once it has replayed the primary's position now.
    const lsn = (await set.sql<{ lsn: string }>(set.primary, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!
      .lsn
    await expect
      .poll(async () => {
        const [row] = await set.sql<{ ok: boolean }>(
          set.replicas[0]!,
          'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok',
          [lsn],
        )
        return row?.ok
      })
      .toBe(true)
    await set.stop(set.primary, 'fast')
    await expect.poll(() => blog.database.cluster.stats().primary, { timeout: 10_000 }).toBeUndefined()
    // Never read before, so not cached: the loader finds no primary and reads the replica.
    const profile = await api.get(`/api/v1/users/${carol.id}`)
    expect(profile.status).toBe(200)
    expect(profile.body.username).toBe('carol')
    // A write still fails cleanly, retryable.
    const post = await api.post('/api/v1/posts', { text: 'nowhere to go' }, carol.token)
    expect(post.status).toBe(503)
  })

  it('refuses HF_DATABASE_HOSTS beside HF_DATABASE_URL, and a non-postgres entry', () => {
    expect(() =>
      loadConfig({ HF_DATABASE_HOSTS: 'postgres://a/x,postgres://b/x', HF_DATABASE_URL: 'postgres://a/x' }),
    ).toThrow(/HF_DATABASE_HOSTS names every member/)
    expect(() => loadConfig({ HF_DATABASE_HOSTS: 'postgres://a/x,mysql://b/x' })).toThrow(
      /HF_DATABASE_HOSTS must list postgres:\/\/ URLs/,
    )
    expect(loadConfig({ HF_DATABASE_HOSTS: ' postgres://a/x , postgres://b/x ,' }).databaseHosts).toEqual([
      'postgres://a/x',
      'postgres://b/x',
    ])
  })
})
