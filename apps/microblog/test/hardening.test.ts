import { mkdtemp, rm } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../src/config.js'
import { TokenSigner } from '../src/domain/token.js'
import { startMicroblog } from '../src/index.js'
import { blogPerSuite, client, rowCounts, signUp } from './support.js'

/** A raw socket to the server, recording what it answers and when it closes. */
async function rawSocket(
  url: string,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url)
  const socket = connect({ host: hostname, port: Number(port) })
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let received = ''
  socket.on('data', (chunk) => (received += chunk.toString()))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => received, closed }
}

/** Resolves with whether `promise` settled within `ms` (a bound derived from the configured limit). */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true as const), timedOut])
  } finally {
    clearTimeout(timer)
  }
}

describe('the /wrk2-api surface touches only its own users', () => {
  const running = blogPerSuite('postgres')
  const { api } = running

  it('refuses a follow or unfollow that names an /api/v1 user, and changes nothing', async () => {
    const alice = await signUp(api, 'alice')
    const bob = await signUp(api, 'bob')
    expect((await api.post(`/api/v1/users/${bob.id}/follow`, undefined, alice.token)).status).toBe(200)
    await api.form('/wrk2-api/user/register', {
      first_name: 'W',
      last_name: 'R',
      username: 'wrk2_user',
      password: '',
      user_id: '7',
    })
    const before = await rowCounts(running.blog)
    for (const path of ['/wrk2-api/user/unfollow', '/wrk2-api/user/follow']) {
      for (const form of [
        { user_name: 'alice', followee_name: 'bob' },
        { user_name: 'wrk2_user', followee_name: 'bob' },
        { user_name: 'alice', followee_name: 'wrk2_user' },
      ]) {
        const res = await api.form(path, form)
        expect(res.status, `${path} ${JSON.stringify(form)}`).toBe(404)
        expect(res.body.code).toBe('E_USER_NOT_FOUND')
      }
    }
    expect(await rowCounts(running.blog)).toEqual(before)
    const profile = await api.get(`/api/v1/users/${bob.id}`)
    expect(profile.body.followers).toBe(1)
  })

  it('its users cannot sign in to /api/v1, whatever password they registered', async () => {
    for (const [username, password] of [
      ['wrk2_empty', ''],
      ['wrk2_long', 'a long enough password'],
    ] as const) {
      const registered = await api.form('/wrk2-api/user/register', {
        first_name: 'W',
        last_name: 'R',
        username,
        password,
        user_id: String(100 + username.length),
      })
      expect(registered.status).toBe(200)
      const session = await api.post('/api/v1/sessions', { username, password })
      expect(session.status).toBe(401)
      expect(session.body.code).toBe('E_BAD_CREDENTIALS')
    }
  })

  it('refuses to mount on a non-loopback host unless HF_WRK2_API_PUBLIC=yes', () => {
    for (const host of ['0.0.0.0', '10.1.2.3', '::']) {
      expect(() => loadConfig({ HF_WRK2_API: 'on', HF_HOST: host })).toThrow(ConfigError)
      expect(() => loadConfig({ HF_WRK2_API: 'on', HF_HOST: host })).toThrow(/HF_WRK2_API_PUBLIC=yes/)
      expect(loadConfig({ HF_WRK2_API: 'on', HF_HOST: host, HF_WRK2_API_PUBLIC: 'yes' }).wrk2Api).toBe(true)
    }
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
      expect(loadConfig({ HF_WRK2_API: 'on', HF_HOST: host }).wrk2Api).toBe(true)
    }
    expect(loadConfig({ HF_HOST: '0.0.0.0' }).wrk2Api).toBe(false)
  })
})

describe('bearer tokens can be revoked', () => {
  const running = blogPerSuite('postgres')
  const { api } = running

  it('logout revokes every token of the user; signing in again gives a working one', async () => {
    const carol = await signUp(api, 'carol')
    const second = (await api.post('/api/v1/sessions', { username: 'carol', password: 'correct horse' })).body
      .token as string
    expect((await api.get('/api/v1/timeline', carol.token)).status).toBe(200)
    expect((await api.del('/api/v1/sessions', carol.token)).status).toBe(204)
    for (const token of [carol.token, second]) {
      const res = await api.get('/api/v1/timeline', token)
      expect(res.status).toBe(401)
      expect(res.body.code).toBe('E_UNAUTHENTICATED')
    }
    expect((await api.del('/api/v1/sessions', carol.token)).status).toBe(401)
    const again = await api.post('/api/v1/sessions', { username: 'carol', password: 'correct horse' })
    expect((await api.get('/api/v1/timeline', again.body.token)).status).toBe(200)
  })

  it('a password change revokes older tokens and the old password', async () => {
    const dave = await signUp(api, 'dave')
    const send = (body: unknown, token: string) =>
      fetch(new URL('/api/v1/users/me/password', running.url), {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      })
    const wrong = await send(
      { current_password: 'not the password', new_password: 'battery staple' },
      dave.token,
    )
    expect(wrong.status).toBe(401)
    expect((await api.get('/api/v1/timeline', dave.token)).status).toBe(200)
    const changed = await send(
      { current_password: 'correct horse', new_password: 'battery staple' },
      dave.token,
    )
    expect(changed.status).toBe(204)
    expect((await api.get('/api/v1/timeline', dave.token)).status).toBe(401)
    expect((await api.post('/api/v1/sessions', { username: 'dave', password: 'correct horse' })).status).toBe(
      401,
    )
    const fresh = await api.post('/api/v1/sessions', { username: 'dave', password: 'battery staple' })
    expect((await api.get('/api/v1/timeline', fresh.body.token)).status).toBe(200)
  })
})

describe('token keys rotate with a grace period', () => {
  const keyA = Buffer.alloc(32, 1)
  const keyB = Buffer.alloc(32, 2)

  it('a token signed with the previous key still verifies; without it, it does not', () => {
    const { token } = new TokenSigner(keyA, 3600).sign('42', 3)
    expect(new TokenSigner([keyB, keyA], 3600).verify(token)).toEqual({ userId: '42', version: 3 })
    expect(new TokenSigner(keyB, 3600).verify(token)).toBeUndefined()
    // The new key signs: its tokens verify with the new key alone.
    const rotated = new TokenSigner([keyB, keyA], 3600).sign('42', 3).token
    expect(new TokenSigner(keyB, 3600).verify(rotated)).toEqual({ userId: '42', version: 3 })
  })

  it('takes the keys from HF_TOKEN_SECRET and HF_TOKEN_SECRET_PREVIOUS, validated', () => {
    const config = loadConfig({
      HF_TOKEN_SECRET: keyB.toString('base64url'),
      HF_TOKEN_SECRET_PREVIOUS: keyA.toString('base64url'),
    })
    expect(config.tokenSecret?.equals(keyB)).toBe(true)
    expect(config.tokenSecretPrevious?.equals(keyA)).toBe(true)
    expect(() => loadConfig({ HF_TOKEN_SECRET: 'short' })).toThrow(/HF_TOKEN_SECRET must be base64url/)
    expect(() => loadConfig({ HF_TOKEN_SECRET_PREVIOUS: keyA.toString('base64url') })).toThrow(
      /needs HF_TOKEN_SECRET/,
    )
  })

  it('a server restarted with the rotated keys accepts old tokens, and refuses them once the old key is dropped', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hf-rotation-'))
    const run = (keys: Buffer[]) =>
      startMicroblog(
        loadConfig({
          HF_PORT: '0',
          HF_LOG_LEVEL: 'silent',
          HF_DATA_DIR: dir,
          HF_TOKEN_SECRET: keys[0]!.toString('base64url'),
          ...(keys[1] ? { HF_TOKEN_SECRET_PREVIOUS: keys[1].toString('base64url') } : {}),
        }),
      )
    try {
      const first = await run([keyA])
      const eve = await signUp(client(first.url), 'eve')
      await first.close()
      const second = await run([keyB, keyA])
      expect((await client(second.url).get('/api/v1/timeline', eve.token)).status).toBe(200)
      await second.close()
      const third = await run([keyB])
      expect((await client(third.url).get('/api/v1/timeline', eve.token)).status).toBe(401)
      await third.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('HTTP limits: slow and idle clients are cut off', () => {
  const requestTimeoutMs = 1000
  const headersTimeoutMs = 600
  const keepAliveTimeoutMs = 400
  const running = blogPerSuite('pglite', {
    HF_HTTP_REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    HF_HTTP_HEADERS_TIMEOUT_MS: String(headersTimeoutMs),
    HF_HTTP_KEEP_ALIVE_TIMEOUT_MS: String(keepAliveTimeoutMs),
    HF_HTTP_MAX_CONNECTIONS: '3',
  })

  it('answers 408 problem+json to headers that never finish, and closes the socket', async () => {
    const raw = await rawSocket(running.url)
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
    const drip = setInterval(() => raw.socket.writable && raw.socket.write('X-Slow: 1\r\n'), 100)
    // Node checks the timeouts every tenth of the shortest one: closed well within twice the limit.
    const closed = await within(raw.closed, headersTimeoutMs * 2 + 500)
    clearInterval(drip)
    expect(closed).toBe(true)
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(raw.received()).toContain('application/problem+json')
    expect(raw.received()).toContain('"code":"E_REQUEST_TIMEOUT"')
  })

  it('answers 408 to a body that arrives too slowly, and closes the socket before it is complete', async () => {
    const raw = await rawSocket(running.url)
    const length = 10_000
    raw.socket.write(
      `POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{`,
    )
    let sent = 1
    const drip = setInterval(() => {
      if (raw.socket.writable && sent < length) {
        raw.socket.write(' ')
        sent++
      }
    }, 50)
    const closed = await within(raw.closed, requestTimeoutMs * 2 + 500)
    clearInterval(drip)
    expect(closed).toBe(true)
    expect(sent).toBeLessThan(length)
    expect(raw.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(raw.received()).toContain('"code":"E_REQUEST_TIMEOUT"')
  })

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const raw = await rawSocket(running.url)
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    const closed = await within(raw.closed, keepAliveTimeoutMs * 2 + 1000)
    expect(closed).toBe(true)
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200 /)
  })

  it('drops connections beyond HF_HTTP_MAX_CONNECTIONS', async () => {
    const held = await Promise.all([rawSocket(running.url), rawSocket(running.url), rawSocket(running.url)])
    const extra = await rawSocket(running.url)
    expect(await within(extra.closed, 2000)).toBe(true)
    expect(extra.received()).toBe('')
    for (const raw of held) raw.socket.destroy()
    await Promise.all(held.map((raw) => raw.closed))
  })
})

describe('every error is problem+json, fastify’s own included', () => {
  const running = blogPerSuite('pglite')
  const { api } = running

  it('a path parameter over the router limit is 414 E_URI_TOO_LONG', async () => {
    const res = await api.get(`/api/v1/usernames/${'a'.repeat(150)}`)
    expect(res.status).toBe(414)
    expect(res.contentType).toContain('application/problem+json')
    expect(res.body.code).toBe('E_URI_TOO_LONG')
  })

  it('a URL that does not decode is 400 E_BAD_REQUEST', async () => {
    const res = await api.get('/api/v1/usernames/%E0%A4%A')
    expect(res.status).toBe(400)
    expect(res.contentType).toContain('application/problem+json')
    expect(res.body.code).toBe('E_BAD_REQUEST')
  })

  it('bytes that are not HTTP get a problem+json 400 and a closed socket', async () => {
    const raw = await rawSocket(running.url)
    raw.socket.write('NOT HTTP AT ALL\r\n\r\n')
    await raw.closed
    expect(raw.received()).toMatch(/^HTTP\/1\.1 400 /)
    expect(raw.received()).toContain('"code":"E_BAD_REQUEST"')
  })

  it('a garbage hf_ct cookie is ignored; a garbage token header is 400 except on health routes', async () => {
    const cookie = { cookie: 'hf_ct=%%garbage%%' }
    expect((await fetch(new URL('/healthz', running.url), { headers: cookie })).status).toBe(200)
    expect((await fetch(new URL('/readyz', running.url), { headers: cookie })).status).toBe(200)
    expect((await fetch(new URL('/api/v1/usernames/nobody', running.url), { headers: cookie })).status).toBe(
      404,
    )
    const header = { 'x-consistency-token': 'not-an-lsn' }
    expect((await fetch(new URL('/healthz', running.url), { headers: header })).status).toBe(200)
    const refused = await fetch(new URL('/api/v1/usernames/nobody', running.url), { headers: header })
    expect(refused.status).toBe(400)
  })
})
