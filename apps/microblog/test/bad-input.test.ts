import { beforeAll, describe, expect, it } from 'vitest'
import { blogPerSuite, type Client, rowCounts, signUp, targets } from './support.js'

type Send = () => ReturnType<Client['get']>

interface Case {
  name: string
  send: Send
  status: number
  code: string
}

/** One case per named request, each answered with `status` and the problem `code`. */
function rejected(status: number, code: string, sends: Record<string, Send>): Case[] {
  return Object.entries(sends).map(([name, send]) => ({ name, send, status, code }))
}

describe.each(targets)('bad input on %s', (target) => {
  // Dozens of registrations from one address: its registration limit is tested in guard.test.ts.
  const running = blogPerSuite(target, { HF_BODY_LIMIT: '8192', HF_REGISTER_LIMIT_IP: 'off' })
  const { api } = running
  let alice: { id: string; token: string }

  /** wrk2's compose form: a valid one, but for `fields`. */
  const compose = (fields: Record<string, string>) =>
    api.form('/wrk2-api/post/compose', {
      username: 'username_0',
      user_id: '0',
      post_type: '0',
      text: 'hi',
      ...fields,
    })
  /** wrk2's register form: a valid one, but for `fields`. */
  const register = (fields: { username: string; user_id: string }) =>
    api.form('/wrk2-api/user/register', { first_name: 'a', last_name: 'b', password: 'p', ...fields })

  beforeAll(async () => {
    alice = await signUp(api, 'alice')
    await register({ username: 'username_0', user_id: '0' })
  })

  const cases = (): Case[] => [
    // Malformed bodies
    ...rejected(400, 'E_MALFORMED_BODY', {
      'malformed JSON': () => api.raw('POST', '/api/v1/users', '{"username": "x",'),
      'empty JSON body': () => api.raw('POST', '/api/v1/users', ''),
    }),
    ...rejected(415, 'E_UNSUPPORTED_MEDIA_TYPE', {
      'unsupported content type': () => api.raw('POST', '/api/v1/users', 'username=x', 'text/plain'),
    }),
    ...rejected(413, 'E_BODY_TOO_LARGE', {
      'oversize JSON body': () =>
        api.post('/api/v1/users', { username: 'big', password: 'x'.repeat(20_000) }),
      'oversize form body': () => compose({ text: 'y'.repeat(20_000) }),
    }),
    ...rejected(400, 'E_VALIDATION', {
      'JSON that is not an object': () => api.raw('POST', '/api/v1/users', '[1,2]'),
      'media_ids that are not JSON': () => compose({ media_ids: '[1,', media_types: '["png"]' }),
      'media_ids that are not strings': () => compose({ media_ids: '[1]', media_types: '["png"]' }),
      'media_ids and media_types of different lengths': () =>
        compose({ media_ids: '["1","2"]', media_types: '["png"]' }),
    }),
    // Missing and mistyped fields
    ...rejected(400, 'E_VALIDATION', {
      'register without password': () => api.post('/api/v1/users', { username: 'nopass' }),
      'register with a numeric username': () =>
        api.post('/api/v1/users', { username: 12345, password: 'long enough' }),
      'register with a short password': () =>
        api.post('/api/v1/users', { username: 'shorty', password: 'short' }),
      'username full of SQL metacharacters': () =>
        api.post('/api/v1/users', { username: "x'; DROP TABLE users; --", password: 'long enough' }),
      'latitude as a string': () =>
        api.post('/api/v1/posts', { text: 'hi', latitude: '48.8', longitude: 2.3 }, alice.token),
      'latitude without longitude': () =>
        api.post('/api/v1/posts', { text: 'hi', latitude: 48.8 }, alice.token),
      'latitude out of range': () =>
        api.post('/api/v1/posts', { text: 'hi', latitude: 91, longitude: 0 }, alice.token),
      'empty text': () => api.post('/api/v1/posts', { text: '' }, alice.token),
      'text with a NUL byte': () => api.post('/api/v1/posts', { text: 'a\u0000b' }, alice.token),
      'text too long': () => api.post('/api/v1/posts', { text: 'z'.repeat(2001) }, alice.token),
      'wrk2 compose with a bad post_type': () => compose({ post_type: 'x' }),
      'wrk2 compose with a username not matching user_id': () => compose({ username: 'alice' }),
    }),
    ...rejected(400, 'E_INCOMPLETE_ARGUMENTS', {
      'wrk2 register with fields missing': () =>
        api.form('/wrk2-api/user/register', { username: 'u', password: 'p' }),
      'wrk2 compose with fields missing': () =>
        api.form('/wrk2-api/post/compose', { username: 'username_0', text: 'hi' }),
      'wrk2 follow with fields missing': () => api.form('/wrk2-api/user/follow', { user_id: '0' }),
      'wrk2 read with fields missing': () => api.get('/wrk2-api/home-timeline/read?user_id=0&start=0'),
    }),
    // Unknown users
    ...rejected(404, 'E_USER_NOT_FOUND', {
      'follow an unknown user': () => api.post('/api/v1/users/123456789/follow', undefined, alice.token),
      'profile of an unknown user': () => api.get('/api/v1/users/123456789'),
      'posts of an unknown user': () => api.get('/api/v1/users/123456789/posts'),
      'wrk2 follow an unknown user': () =>
        api.form('/wrk2-api/user/follow', { user_id: '0', followee_id: '999' }),
      'wrk2 compose as an unknown user': () => compose({ username: 'nobody', user_id: '999' }),
      'wrk2 timeline of an unknown user': () =>
        api.get('/wrk2-api/home-timeline/read?user_id=999&start=0&stop=10'),
    }),
    // Ids that are not numbers or do not fit 64 bits
    ...rejected(400, 'E_INVALID_ID', {
      'id that is not a number': () => api.get('/api/v1/users/abc'),
      'negative id': () => api.get('/api/v1/users/-1'),
      'id of 2^63': () => api.get('/api/v1/users/9223372036854775808/posts'),
      'id of 20 digits': () => api.get('/api/v1/users/99999999999999999999'),
      'before that is not a number': () => api.get(`/api/v1/users/${alice.id}/posts?before=1e5`),
      'wrk2 user_id that is not a number': () =>
        api.get('/wrk2-api/user-timeline/read?user_id=x&start=0&stop=10'),
      'wrk2 register with a user_id past 2^63': () =>
        register({ username: 'big_id', user_id: '9223372036854775808' }),
    }),
    // Ranges and limits
    ...rejected(400, 'E_INVALID_RANGE', {
      'start after stop': () => api.get('/wrk2-api/home-timeline/read?user_id=0&start=10&stop=5'),
      'negative start': () => api.get('/wrk2-api/user-timeline/read?user_id=0&start=-1&stop=5'),
      'range too wide': () => api.get('/wrk2-api/user-timeline/read?user_id=0&start=0&stop=100000'),
    }),
    ...rejected(400, 'E_VALIDATION', {
      'negative limit': () => api.get(`/api/v1/users/${alice.id}/posts?limit=-1`),
      'zero limit': () => api.get(`/api/v1/users/${alice.id}/posts?limit=0`),
      'nearby without radius': () => api.get('/api/v1/posts/nearby?lat=1&lon=2'),
      'nearby radius too large': () => api.get('/api/v1/posts/nearby?lat=1&lon=2&radius_m=500000'),
      'nearby latitude out of range': () => api.get('/api/v1/posts/nearby?lat=95&lon=2&radius_m=50'),
    }),
    // Authentication
    ...rejected(401, 'E_UNAUTHENTICATED', {
      'compose without a token': () => api.post('/api/v1/posts', { text: 'hi' }),
      'compose with a forged token': () =>
        api.post('/api/v1/posts', { text: 'hi' }, `${alice.token.split('.')[0]}.AAAA`),
    }),
    ...rejected(401, 'E_BAD_CREDENTIALS', {
      'wrong password': () => api.post('/api/v1/sessions', { username: 'alice', password: 'wrong password' }),
      'unknown username at sign-in': () =>
        api.post('/api/v1/sessions', { username: 'nobody', password: 'wrong password' }),
    }),
    // Conflicts and rules
    ...rejected(409, 'E_USERNAME_TAKEN', {
      'a username that is taken': () =>
        api.post('/api/v1/users', { username: 'alice', password: 'another one' }),
    }),
    ...rejected(409, 'E_USER_ID_TAKEN', {
      'a wrk2 user_id that is taken, with a fresh username': () =>
        register({ username: 'fresh_name', user_id: '0' }),
    }),
    ...rejected(422, 'E_SELF_FOLLOW', {
      'following yourself': () => api.post(`/api/v1/users/${alice.id}/follow`, undefined, alice.token),
    }),
    ...rejected(404, 'E_NOT_FOUND', {
      'an unknown route': () => api.get('/api/v1/nothing-here'),
    }),
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
