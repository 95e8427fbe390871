import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A fixed 1 KB JSON body, as the app's `GET /ceiling` returns. */
export const CEILING_BODY = (() => {
  const head = '{"ok":true,"pad":"'
  const tail = '"}'
  return head + 'x'.repeat(1024 - head.length - tail.length) + tail
})()

interface Post {
  post_id: string
  creator: { user_id: string; username: string }
  text: string
  timestamp: number
}

interface User {
  id: string
  username: string
  password: string
  posts: Post[]
  home: Post[]
  followers: Set<string>
}

/** A running stand-in server. */
export interface MiniMicroblog extends AsyncDisposable {
  baseUrl: string
  server: Server
}

/**
 * An in-memory stand-in for the app's `/wrk2-api`, `/api/v1` and `/ceiling` routes, so the kit can be tested
 * (and self-checked with `--target synthetic`) without the app. It is not a peer and its figures mean nothing.
 *
 * @example
 * await using server = await startMiniMicroblog()
 * await fetch(`${server.baseUrl}/ceiling`)
 */
export async function startMiniMicroblog(port = 0, host = '127.0.0.1'): Promise<MiniMicroblog> {
  const users = new Map<string, User>()
  const byName = new Map<string, User>()
  const tokens = new Map<string, User>()
  let nextPost = 1

  const compose = (user: User, text: string): void => {
    const post: Post = {
      post_id: String(nextPost++),
      creator: { user_id: user.id, username: user.username },
      text,
      timestamp: Date.now(),
    }
    user.posts.unshift(post)
    for (const follower of user.followers) users.get(follower)?.home.unshift(post)
  }
  const follow = (follower: User | undefined, followee: User | undefined): boolean => {
    if (!follower || !followee) return false
    followee.followers.add(follower.id)
    return true
  }
  const register = (id: string, username: string, password: string): boolean => {
    if (byName.has(username) || users.has(id)) return false
    const user: User = { id, username, password, posts: [], home: [], followers: new Set() }
    users.set(id, user)
    byName.set(username, user)
    return true
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname
    const send = (status: number, body: unknown): void => {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
      res.end(text)
    }
    if (req.method === 'GET' && path === '/ceiling') return send(200, CEILING_BODY)
    if (req.method === 'GET' && path.startsWith('/wrk2-api/') && path.endsWith('-timeline/read')) {
      const user = users.get(url.searchParams.get('user_id') ?? '')
      const start = Number(url.searchParams.get('start') ?? 0)
      const stop = Number(url.searchParams.get('stop') ?? 10)
      const list = path.includes('/home-') ? user?.home : user?.posts
      return send(200, (list ?? []).slice(start, stop))
    }
    const raw = await readBody(req)
    if (req.method === 'POST' && path.startsWith('/wrk2-api/')) {
      const form = new URLSearchParams(raw)
      if (path === '/wrk2-api/user/register') {
        const ok = register(form.get('user_id') ?? '', form.get('username') ?? '', form.get('password') ?? '')
        return send(ok ? 200 : 409, ok ? 'Success!' : { code: 'E_USER_EXISTS' })
      }
      if (path === '/wrk2-api/user/follow') {
        const ok = follow(users.get(form.get('user_id') ?? ''), users.get(form.get('followee_id') ?? ''))
        return send(ok ? 200 : 404, ok ? 'Success!' : { code: 'E_USER_NOT_FOUND' })
      }
      if (path === '/wrk2-api/post/compose') {
        const user = users.get(form.get('user_id') ?? '')
        if (!user) return send(404, { code: 'E_USER_NOT_FOUND' })
        compose(user, form.get('text') ?? '')
        return send(200, 'Success!')
      }
    }
    if (path.startsWith('/api/v1/')) {
      const body = raw ? (JSON.parse(raw) as Record<string, string>) : {}
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
      const me = tokens.get(token)
      if (req.method === 'POST' && path === '/api/v1/users') {
        const id = String(users.size + 1_000_000)
        return register(id, body.username ?? '', body.password ?? '')
          ? send(201, { user_id: id })
          : send(409, { code: 'E_USER_EXISTS' })
      }
      if (req.method === 'POST' && path === '/api/v1/sessions') {
        const user = byName.get(body.username ?? '')
        if (!user || user.password !== body.password) return send(401, { code: 'E_BAD_CREDENTIALS' })
        const issued = `t${user.id}`
        tokens.set(issued, user)
        return send(200, { token: issued, user_id: user.id })
      }
      if (!me) return send(401, { code: 'E_UNAUTHENTICATED' })
      const limit = Number(url.searchParams.get('limit') ?? 10)
      if (req.method === 'GET' && path === '/api/v1/timeline') return send(200, me.home.slice(0, limit))
      const posts = /^\/api\/v1\/users\/([^/]+)\/posts$/.exec(path)
      if (req.method === 'GET' && posts)
        return send(200, (users.get(posts[1] ?? '')?.posts ?? []).slice(0, limit))
      const follows = /^\/api\/v1\/users\/([^/]+)\/follow$/.exec(path)
      if (req.method === 'POST' && follows)
        return send(follow(me, users.get(follows[1] ?? '')) ? 200 : 404, {})
      if (req.method === 'POST' && path === '/api/v1/posts') {
        compose(me, body.text ?? '')
        return send(201, {})
      }
    }
    send(404, { code: 'E_NOT_FOUND' })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(port, host, resolve))
  const address = server.address() as AddressInfo
  return {
    baseUrl: `http://${host}:${address.port}`,
    server,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
