import { describe, expect, it } from 'vitest'
import { blogPerSuite, signUp, targets } from './support.js'

describe.each(targets)('end to end on %s', (target) => {
  const running = blogPerSuite(target)
  const { api } = running

  it('registers, signs in, follows, posts with a location, and shows the post everywhere', async () => {
    const alice = await signUp(api, 'alice')
    const bob = await signUp(api, 'bob')

    const followed = await api.post(`/api/v1/users/${alice.id}/follow`, undefined, bob.token)
    expect(followed.status).toBe(200)
    expect(followed.body).toMatchObject({
      follower_id: bob.id,
      followee_id: alice.id,
      following: true,
      changed: true,
    })

    const text = 'Croissants at the corner, @bob. Menu: http://example.com/menu?day=1 <b>&amp;</b>'
    const composed = await api.post(
      '/api/v1/posts',
      { text, latitude: 48.8566, longitude: 2.3522 },
      alice.token,
    )
    expect(composed.status).toBe(201)
    const post = composed.body
    expect(post.post_id).toMatch(/^\d+$/)
    expect(post.author).toMatchObject({ user_id: alice.id, username: 'alice', display_name: 'ALICE' })
    expect(post.mentions).toEqual([{ user_id: bob.id, username: 'bob' }])
    expect(post.urls).toHaveLength(1)
    expect(post.urls[0].expanded_url).toBe('http://example.com/menu?day=1')
    expect(post.text).toBe(text.replace('http://example.com/menu?day=1', post.urls[0].shortened_url))
    expect(post.location).toEqual({ latitude: 48.8566, longitude: 2.3522 })

    const own = await api.get(`/api/v1/users/${alice.id}/posts`)
    expect(own.status).toBe(200)
    expect(own.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual([post.post_id])

    const home = await api.get('/api/v1/timeline', bob.token)
    expect(home.status).toBe(200)
    expect(home.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual([post.post_id])
    expect(home.body.posts[0].text).toBe(post.text)

    // 1.1 km away: inside a 2 km radius, outside a 500 m one.
    const near = await api.get('/api/v1/posts/nearby?lat=48.8666&lon=2.3522&radius_m=2000')
    expect(near.status).toBe(200)
    expect(near.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual([post.post_id])
    expect(near.body.posts[0].distance_m).toBeGreaterThan(1000)
    expect(near.body.posts[0].distance_m).toBeLessThan(1200)
    const far = await api.get('/api/v1/posts/nearby?lat=48.8666&lon=2.3522&radius_m=500')
    expect(far.body.posts).toEqual([])

    const profile = await api.get(`/api/v1/users/${alice.id}`)
    expect(profile.body).toMatchObject({ username: 'alice', followers: 1, following: 0, posts: 1 })
  })

  it('pages timelines newest first by post id (keyset)', async () => {
    const carol = await signUp(api, 'carol')
    const dave = await signUp(api, 'dave')
    await api.post(`/api/v1/users/${carol.id}/follow`, undefined, dave.token)
    const ids: string[] = []
    for (let i = 0; i < 7; i++) {
      const res = await api.post('/api/v1/posts', { text: `post ${i}` }, carol.token)
      ids.push(res.body.post_id)
    }
    const newestFirst = [...ids].reverse()
    const first = await api.get(`/api/v1/users/${carol.id}/posts?limit=3`)
    expect(first.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual(newestFirst.slice(0, 3))
    expect(first.body.next_before).toBe(newestFirst[2])
    const second = await api.get(`/api/v1/users/${carol.id}/posts?limit=3&before=${first.body.next_before}`)
    expect(second.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual(newestFirst.slice(3, 6))
    const last = await api.get(`/api/v1/timeline?limit=3&before=${newestFirst[5]}`, dave.token)
    expect(last.body.posts.map((p: { post_id: string }) => p.post_id)).toEqual(newestFirst.slice(6))
    expect(last.body.next_before).toBeNull()

    const unfollowed = await api.del(`/api/v1/users/${carol.id}/follow`, dave.token)
    expect(unfollowed.body).toMatchObject({ following: false, changed: true })
    expect((await api.get('/api/v1/timeline', dave.token)).body.posts).toEqual([])
  })

  it('runs the DeathStarBench flow through /wrk2-api with its exact fields and shapes', async () => {
    for (const [id, name] of [
      ['0', 'username_0'],
      ['1', 'username_1'],
      ['2', 'username_2'],
    ] as const) {
      const res = await api.form('/wrk2-api/user/register', {
        first_name: `first_name_${id}`,
        last_name: `last_name_${id}`,
        username: name,
        password: `password_${id}`,
        user_id: id,
      })
      expect(res.status).toBe(200)
    }
    expect((await api.form('/wrk2-api/user/follow', { user_id: '1', followee_id: '0' })).status).toBe(200)
    expect(
      (await api.form('/wrk2-api/user/follow', { user_name: 'username_2', followee_name: 'username_0' }))
        .status,
    ).toBe(200)
    const url = `http://${'a'.repeat(64)}`
    const compose = await api.form('/wrk2-api/post/compose', {
      username: 'username_0',
      user_id: '0',
      text: `${'x'.repeat(256)} @username_1 @username_2 ${url}`,
      media_ids: '["123456789012345678","223456789012345678"]',
      media_types: '["png","png"]',
      post_type: '0',
    })
    expect(compose.status).toBe(200)

    const home = await api.get('/wrk2-api/home-timeline/read?user_id=1&start=0&stop=10')
    expect(home.status).toBe(200)
    expect(home.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(home.body).toHaveLength(1)
    const post = home.body[0]
    expect(Object.keys(post).sort()).toEqual(
      [
        'creator',
        'media',
        'post_id',
        'post_type',
        'req_id',
        'text',
        'timestamp',
        'urls',
        'user_mentions',
      ].sort(),
    )
    expect(post.creator).toEqual({ user_id: '0', username: 'username_0' })
    expect(post.post_id).toMatch(/^\d+$/)
    expect(post.req_id).toMatch(/^\d+$/)
    expect(post.timestamp).toMatch(/^\d{13}$/)
    expect(post.post_type).toBe(0)
    expect(post.user_mentions).toEqual([
      { user_id: '1', username: 'username_1' },
      { user_id: '2', username: 'username_2' },
    ])
    expect(post.media).toEqual([
      { media_id: '123456789012345678', media_type: 'png' },
      { media_id: '223456789012345678', media_type: 'png' },
    ])
    expect(post.urls).toHaveLength(1)
    expect(post.urls[0].expanded_url).toBe(url)
    expect(post.urls[0].shortened_url).toMatch(/^http:\/\/short-url\/[A-Za-z0-9]{10}$/)
    expect(post.text).toContain(post.urls[0].shortened_url)

    const user = await api.get('/wrk2-api/user-timeline/read?user_id=0&start=0&stop=10')
    expect(user.body).toEqual([post])
    const empty = await api.get('/wrk2-api/user-timeline/read?user_id=0&start=1&stop=11')
    expect(empty.status).toBe(200)
    expect(empty.body).toEqual([])
    const same = await api.get('/wrk2-api/home-timeline/read?user_id=2&start=0&stop=10')
    expect(same.body).toEqual([post])
    // The post's text is kept once serialized: the same page again is the same bytes, without its author.
    const again = await api.get('/wrk2-api/home-timeline/read?user_id=2&start=0&stop=10')
    expect(again.text).toBe(same.text)

    expect((await api.form('/wrk2-api/user/unfollow', { user_id: '1', followee_id: '0' })).status).toBe(200)
    // Still mentioned, so still in username_1's home timeline, as in DeathStarBench.
    expect((await api.get('/wrk2-api/home-timeline/read?user_id=1&start=0&stop=10')).body).toEqual([post])
  })

  it('pages /wrk2-api timelines by [start, stop)', async () => {
    await api.form('/wrk2-api/user/register', {
      first_name: 'f',
      last_name: 'l',
      username: 'username_10',
      password: 'p',
      user_id: '10',
    })
    for (let i = 0; i < 5; i++) {
      await api.form('/wrk2-api/post/compose', {
        username: 'username_10',
        user_id: '10',
        text: `n${i}`,
        post_type: '0',
      })
    }
    const all = (await api.get('/wrk2-api/user-timeline/read?user_id=10&start=0&stop=5')).body
    expect(all.map((p: { text: string }) => p.text)).toEqual(['n4', 'n3', 'n2', 'n1', 'n0'])
    const middle = (await api.get('/wrk2-api/user-timeline/read?user_id=10&start=1&stop=3')).body
    expect(middle.map((p: { text: string }) => p.text)).toEqual(['n3', 'n2'])
  })

  it('takes mutual follows made at the same moment without deadlocking', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, (_, i) => signUp(api, `mutual_${i}`)))
    const pairs = users.flatMap((a, i) => users.filter((_, j) => j !== i).map((b) => [a, b] as const))
    const results = await Promise.all(
      pairs.map(([a, b]) => api.post(`/api/v1/users/${b.id}/follow`, undefined, a.token)),
    )
    expect(results.map((r) => r.status)).toEqual(pairs.map(() => 200))
    const profile = await api.get(`/api/v1/users/${users[0]!.id}`)
    expect(profile.body).toMatchObject({ followers: 5, following: 5 })
  })

  it('takes its worker id from a lease on PostgreSQL, and a fixed one embedded', async () => {
    const { blog } = running
    if (target === 'pglite') {
      expect(blog.workerId).toBe(1)
      return
    }
    const { rows } = await blog.database.cluster.read<{ worker_id: number; holder: string | null }>(
      'SELECT worker_id, holder FROM hundredfold_id_worker_leases WHERE holder IS NOT NULL',
    )
    expect(rows.map((r) => r.worker_id)).toEqual([blog.workerId])
  })

  it('answers health, readiness and metrics', async () => {
    expect((await api.get('/healthz')).body).toEqual({ status: 'ok' })
    expect((await api.get('/readyz')).body).toEqual({ status: 'ready' })
    const metrics = await api.get('/metrics')
    expect(metrics.status).toBe(200)
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    // Latency twice: buckets (they add up across processes) and the HDR quantiles of this process.
    expect(metrics.text).toContain('# TYPE http_request_duration_seconds histogram')
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_bucket\{method="POST",route="\/api\/v1\/users",le="\+Inf"\} \d+/,
    )
    expect(metrics.text).toContain('# TYPE http_request_duration_seconds_summary summary')
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_summary\{method="POST",route="\/api\/v1\/users",quantile="0\.99"\} [0-9.e-]+/,
    )
    expect(metrics.text).toMatch(
      /http_requests_total\{method="GET",route="\/wrk2-api\/home-timeline\/read",status="200"\} \d+/,
    )
    expect(metrics.text).toMatch(/db_pool_sessions\{host="[^"]+",state="idle"\} \d+/)
  })
})
