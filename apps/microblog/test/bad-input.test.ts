import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type RunningBlog, rowCounts, signUp, startBlog, targets } from './support.js'

interface Case {
  name: string
  send: () => ReturnType<ReturnType<typeof client>['get']>
  status: number
  code: string
}

describe.each(targets)('bad input on %s', (target) => {
  let running: RunningBlog
  let api: ReturnType<typeof client>
  let alice: { id: string; token: string }

  beforeAll(async () => {
    running = await startBlog(target, { HF_BODY_LIMIT: '8192' })
    api = client(running.url)
    alice = await signUp(api, 'alice')
    await api.form('/wrk2-api/user/register', {
      first_name: 'a',
      last_name: 'b',
      username: 'username_0',
      password: 'p',
      user_id: '0',
    })
  })
  afterAll(async () => {
    await running?.stop()
  })

  const cases = (): Case[] => [
    // Malformed bodies
    {
      name: 'malformed JSON',
      send: () => api.raw('POST', '/api/v1/users', '{"username": "x",'),
      status: 400,
      code: 'E_MALFORMED_BODY',
    },
    {
      name: 'empty JSON body',
      send: () => api.raw('POST', '/api/v1/users', ''),
      status: 400,
      code: 'E_MALFORMED_BODY',
    },
    {
      name: 'JSON that is not an object',
      send: () => api.raw('POST', '/api/v1/users', '[1,2]'),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'unsupported content type',
      send: () => api.raw('POST', '/api/v1/users', 'username=x', 'text/plain'),
      status: 415,
      code: 'E_UNSUPPORTED_MEDIA_TYPE',
    },
    {
      name: 'oversize JSON body',
      send: () => api.post('/api/v1/users', { username: 'big', password: 'x'.repeat(20_000) }),
      status: 413,
      code: 'E_BODY_TOO_LARGE',
    },
    {
      name: 'oversize form body',
      send: () =>
        api.form('/wrk2-api/post/compose', {
          username: 'username_0',
          user_id: '0',
          post_type: '0',
          text: 'y'.repeat(20_000),
        }),
      status: 413,
      code: 'E_BODY_TOO_LARGE',
    },
    {
      name: 'media_ids that are not JSON',
      send: () =>
        api.form('/wrk2-api/post/compose', {
          username: 'username_0',
          user_id: '0',
          post_type: '0',
          text: 'hi',
          media_ids: '[1,',
          media_types: '["png"]',
        }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'media_ids that are not strings',
      send: () =>
        api.form('/wrk2-api/post/compose', {
          username: 'username_0',
          user_id: '0',
          post_type: '0',
          text: 'hi',
          media_ids: '[1]',
          media_types: '["png"]',
        }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'media_ids and media_types of different lengths',
      send: () =>
        api.form('/wrk2-api/post/compose', {
          username: 'username_0',
          user_id: '0',
          post_type: '0',
          text: 'hi',
          media_ids: '["1","2"]',
          media_types: '["png"]',
        }),
      status: 400,
      code: 'E_VALIDATION',
    },
    // Missing and mistyped fields
    {
      name: 'register without password',
      send: () => api.post('/api/v1/users', { username: 'nopass' }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'register with a numeric username',
      send: () => api.post('/api/v1/users', { username: 12345, password: 'long enough' }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'register with a short password',
      send: () => api.post('/api/v1/users', { username: 'shorty', password: 'short' }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'username full of SQL metacharacters',
      send: () =>
        api.post('/api/v1/users', { username: "x'; DROP TABLE users; --", password: 'long enough' }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'latitude as a string',
      send: () => api.post('/api/v1/posts', { text: 'hi', latitude: '48.8', longitude: 2.3 }, alice.token),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'latitude without longitude',
      send: () => api.post('/api/v1/posts', { text: 'hi', latitude: 48.8 }, alice.token),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'latitude out of range',
      send: () => api.post('/api/v1/posts', { text: 'hi', latitude: 91, longitude: 0 }, alice.token),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'empty text',
      send: () => api.post('/api/v1/posts', { text: '' }, alice.token),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'text with a NUL byte',
      send: () => api.post('/api/v1/posts', { text: 'a\u0000b' }, alice.token),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'text too long',
      send: () => api.post('/api/v1/posts', { text: 'z'.repeat(2001) }, alice.token),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'wrk2 register with fields missing',
      send: () => api.form('/wrk2-api/user/register', { username: 'u', password: 'p' }),
      status: 400,
      code: 'E_INCOMPLETE_ARGUMENTS',
    },
    {
      name: 'wrk2 compose with fields missing',
      send: () => api.form('/wrk2-api/post/compose', { username: 'username_0', text: 'hi' }),
      status: 400,
      code: 'E_INCOMPLETE_ARGUMENTS',
    },
    {
      name: 'wrk2 compose with a bad post_type',
      send: () =>
        api.form('/wrk2-api/post/compose', {
          username: 'username_0',
          user_id: '0',
          text: 'hi',
          post_type: 'x',
        }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'wrk2 compose with a username not matching user_id',
      send: () =>
        api.form('/wrk2-api/post/compose', { username: 'alice', user_id: '0', text: 'hi', post_type: '0' }),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'wrk2 follow with fields missing',
      send: () => api.form('/wrk2-api/user/follow', { user_id: '0' }),
      status: 400,
      code: 'E_INCOMPLETE_ARGUMENTS',
    },
    {
      name: 'wrk2 read with fields missing',
      send: () => api.get('/wrk2-api/home-timeline/read?user_id=0&start=0'),
      status: 400,
      code: 'E_INCOMPLETE_ARGUMENTS',
    },
    // Unknown users
    {
      name: 'follow an unknown user',
      send: () => api.post('/api/v1/users/123456789/follow', undefined, alice.token),
      status: 404,
      code: 'E_USER_NOT_FOUND',
    },
    {
      name: 'profile of an unknown user',
      send: () => api.get('/api/v1/users/123456789'),
      status: 404,
      code: 'E_USER_NOT_FOUND',
    },
    {
      name: 'posts of an unknown user',
      send: () => api.get('/api/v1/users/123456789/posts'),
      status: 404,
      code: 'E_USER_NOT_FOUND',
    },
    {
      name: 'wrk2 follow an unknown user',
      send: () => api.form('/wrk2-api/user/follow', { user_id: '0', followee_id: '999' }),
      status: 404,
      code: 'E_USER_NOT_FOUND',
    },
    {
      name: 'wrk2 compose as an unknown user',
      send: () =>
        api.form('/wrk2-api/post/compose', {
          username: 'nobody',
          user_id: '999',
          text: 'hi',
          post_type: '0',
        }),
      status: 404,
      code: 'E_USER_NOT_FOUND',
    },
    {
      name: 'wrk2 timeline of an unknown user',
      send: () => api.get('/wrk2-api/home-timeline/read?user_id=999&start=0&stop=10'),
      status: 404,
      code: 'E_USER_NOT_FOUND',
    },
    // Ids that are not numbers or do not fit 64 bits
    {
      name: 'id that is not a number',
      send: () => api.get('/api/v1/users/abc'),
      status: 400,
      code: 'E_INVALID_ID',
    },
    { name: 'negative id', send: () => api.get('/api/v1/users/-1'), status: 400, code: 'E_INVALID_ID' },
    {
      name: 'id of 2^63',
      send: () => api.get('/api/v1/users/9223372036854775808/posts'),
      status: 400,
      code: 'E_INVALID_ID',
    },
    {
      name: 'id of 20 digits',
      send: () => api.get('/api/v1/users/99999999999999999999'),
      status: 400,
      code: 'E_INVALID_ID',
    },
    {
      name: 'before that is not a number',
      send: () => api.get(`/api/v1/users/${alice.id}/posts?before=1e5`),
      status: 400,
      code: 'E_INVALID_ID',
    },
    {
      name: 'wrk2 user_id that is not a number',
      send: () => api.get('/wrk2-api/user-timeline/read?user_id=x&start=0&stop=10'),
      status: 400,
      code: 'E_INVALID_ID',
    },
    {
      name: 'wrk2 register with a user_id past 2^63',
      send: () =>
        api.form('/wrk2-api/user/register', {
          first_name: 'a',
          last_name: 'b',
          username: 'big_id',
          password: 'p',
          user_id: '9223372036854775808',
        }),
      status: 400,
      code: 'E_INVALID_ID',
    },
    // Ranges and limits
    {
      name: 'start after stop',
      send: () => api.get('/wrk2-api/home-timeline/read?user_id=0&start=10&stop=5'),
      status: 400,
      code: 'E_INVALID_RANGE',
    },
    {
      name: 'negative start',
      send: () => api.get('/wrk2-api/user-timeline/read?user_id=0&start=-1&stop=5'),
      status: 400,
      code: 'E_INVALID_RANGE',
    },
    {
      name: 'range too wide',
      send: () => api.get('/wrk2-api/user-timeline/read?user_id=0&start=0&stop=100000'),
      status: 400,
      code: 'E_INVALID_RANGE',
    },
    {
      name: 'negative limit',
      send: () => api.get(`/api/v1/users/${alice.id}/posts?limit=-1`),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'zero limit',
      send: () => api.get(`/api/v1/users/${alice.id}/posts?limit=0`),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'nearby without radius',
      send: () => api.get('/api/v1/posts/nearby?lat=1&lon=2'),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'nearby radius too large',
      send: () => api.get('/api/v1/posts/nearby?lat=1&lon=2&radius_m=500000'),
      status: 400,
      code: 'E_VALIDATION',
    },
    {
      name: 'nearby latitude out of range',
      send: () => api.get('/api/v1/posts/nearby?lat=95&lon=2&radius_m=50'),
      status: 400,
      code: 'E_VALIDATION',
    },
    // Authentication
    {
      name: 'compose without a token',
      send: () => api.post('/api/v1/posts', { text: 'hi' }),
      status: 401,
      code: 'E_UNAUTHENTICATED',
    },
    {
      name: 'compose with a forged token',
      send: () => api.post('/api/v1/posts', { text: 'hi' }, `${alice.token.split('.')[0]}.AAAA`),
      status: 401,
      code: 'E_UNAUTHENTICATED',
    },
    {
      name: 'wrong password',
      send: () => api.post('/api/v1/sessions', { username: 'alice', password: 'wrong password' }),
      status: 401,
      code: 'E_BAD_CREDENTIALS',
    },
    {
      name: 'unknown username at sign-in',
      send: () => api.post('/api/v1/sessions', { username: 'nobody', password: 'wrong password' }),
      status: 401,
      code: 'E_BAD_CREDENTIALS',
    },
    // Conflicts and rules
    {
      name: 'a username that is taken',
      send: () => api.post('/api/v1/users', { username: 'alice', password: 'another one' }),
      status: 409,
      code: 'E_USERNAME_TAKEN',
    },
    {
      name: 'a wrk2 user_id that is taken, with a fresh username',
      send: () =>
        api.form('/wrk2-api/user/register', {
          first_name: 'a',
          last_name: 'b',
          username: 'fresh_name',
          password: 'p',
          user_id: '0',
        }),
      status: 409,
      code: 'E_USER_ID_TAKEN',
    },
    {
      name: 'following yourself',
      send: () => api.post(`/api/v1/users/${alice.id}/follow`, undefined, alice.token),
      status: 422,
      code: 'E_SELF_FOLLOW',
    },
    {
      name: 'an unknown route',
      send: () => api.get('/api/v1/nothing-here'),
      status: 404,
      code: 'E_NOT_FOUND',
    },
  ]

  it('rejects every bad request with a problem+json code and leaves no row behind', async () => {
    const before = await rowCounts(running.blog)
    for (const c of cases()) {
      const res = await c.send()
      expect.soft({ case: c.name, status: res.status, code: (res.body as { code?: string }).code }).toEqual({
        case: c.name,
        status: c.status,
        code: c.code,
      })
      expect.soft(res.contentType, c.name).toMatch(/^application\/problem\+json/)
      const problem = res.body as Record<string, unknown>
      expect.soft(problem['status'], c.name).toBe(c.status)
      expect.soft(typeof problem['title'], c.name).toBe('string')
      expect.soft(typeof problem['detail'], c.name).toBe('string')
    }
    expect(await rowCounts(running.blog)).toEqual(before)
  })

  it('stores text full of SQL and HTML metacharacters verbatim, as data', async () => {
    const text = `Robert'); DROP TABLE posts;-- <script>alert("x")</script> & \\ % _ $1 \`\` \u00e9\u{1F600}`
    const res = await api.post('/api/v1/posts', { text }, alice.token)
    expect(res.status).toBe(201)
    expect(res.body.text).toBe(text)
    const page = await api.get(`/api/v1/users/${alice.id}/posts?limit=1`)
    expect(page.body.posts[0].text).toBe(text)
    expect(page.contentType).toMatch(/^application\/json/)
  })
})
