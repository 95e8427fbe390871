import { parseId } from '@hundredfold/id'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { AppError } from '../../domain/app-error.js'
import type { Services } from '../../services/index.js'
import type { CallOptions, Media, Post, User } from '../../services/types.js'
import { composeRoute, type HttpGuard, passwordRoute } from '../guard.js'
import { sessionless } from '../request-context.js'
import { textPattern, usernamePattern } from '../schemas.js'
import { hasWrk2PostText, wrk2PostText } from '../views.js'
import { maxTextLength } from './api-posts.js'

type Fields = Record<string, string | string[] | undefined>

const usernameRegex = new RegExp(usernamePattern)
const textRegex = new RegExp(textPattern)
const maxRange = 200
const maxStop = 10_000

/**
 * DeathStarBench socialNetwork's `/wrk2-api/*`, field for field, so its wrk2 scripts run unmodified.
 * Users are addressed by the client's numeric `user_id`, kept as the user's external id. Like
 * DeathStarBench's, it has no authentication: it is for benchmarks on a closed network, so it touches
 * only its own users, and they cannot sign in to `/api/v1`.
 */
export function wrk2ApiRoutes(app: FastifyInstance, services: Services, guard: HttpGuard): void {
  const { users, writes, timelines } = services

  const userByExternalId = async (raw: string, options: CallOptions, field = 'user_id') => {
    const externalId = parseId(raw)
    const userId = await users.idByExternalId(externalId, options)
    if (!userId)
      throw new AppError('E_USER_NOT_FOUND', `no user with ${field} ${raw}`, { context: { [field]: raw } })
    return userId
  }
  // This surface is unauthenticated: it acts only on the users it registered (those with an external
  // id), never on an `/api/v1` account that happens to share the name.
  const userByName = async (name: string, options: CallOptions) => {
    const userId = usernameRegex.test(name) ? await users.idByUsername(name, options) : undefined
    const user = userId ? await users.get(userId, options) : undefined
    if (!user || user.external_id === null) {
      throw new AppError('E_USER_NOT_FOUND', `no /wrk2-api user named '${name}'`)
    }
    return user.user_id
  }
  // A page is the JSON array of its posts' texts, each serialized once per post (see `wrk2PostText`);
  // authors are looked up only for posts not serialized yet.
  const render = async (list: Post[], options: CallOptions, reply: FastifyReply) => {
    const unseen = list.filter((post) => !hasWrk2PostText(post)).map((post) => post.author_id)
    const authors = unseen.length > 0 ? await users.getMany(unseen, options) : new Map<string, User>()
    // The body is built here, not by fastify's serializer: this is the request's `serialize` stage.
    if (options.timing) options.timing.serializeStartedAt = performance.now()
    const body = `[${list.map((post) => wrk2PostText(post, authors.get(post.author_id))).join(',')}]`
    return reply.type('application/json; charset=utf-8').send(body)
  }

  app.post(
    '/wrk2-api/user/register',
    { config: passwordRoute(undefined, 'register') },
    async (request, reply) => {
      const f = fields(request, ['first_name', 'last_name', 'username', 'password', 'user_id'])
      if (!usernameRegex.test(f.username)) {
        throw new AppError('E_VALIDATION', 'username must be 1-64 letters, digits, _ or -')
      }
      if (f.password.length > 128)
        throw new AppError('E_VALIDATION', 'password must be at most 128 characters')
      const displayName = `${f.first_name} ${f.last_name}`
      if (displayName.length > 100 || !textRegex.test(displayName)) {
        throw new AppError(
          'E_VALIDATION',
          'first_name and last_name must be printable and at most 100 characters',
        )
      }
      const externalId = parseId(f.user_id)
      await guard.passwords.execute(
        () =>
          users.register(
            { username: f.username, password: f.password, displayName, externalId },
            request.ctx,
          ),
        request.ctx.signal,
      )
      return reply.type('text/plain; charset=utf-8').send('Success!')
    },
  )

  const followEdge = async (request: FastifyRequest) => {
    const body = (request.body ?? {}) as Fields
    if (has(body, 'user_id') && has(body, 'followee_id')) {
      const f = fields(request, ['user_id', 'followee_id'])
      return [
        await userByExternalId(f.user_id, sessionless(request)),
        await userByExternalId(f.followee_id, sessionless(request), 'followee_id'),
      ] as const
    }
    const f = fields(request, ['user_name', 'followee_name'])
    return [
      await userByName(f.user_name, sessionless(request)),
      await userByName(f.followee_name, sessionless(request)),
    ] as const
  }

  app.post('/wrk2-api/user/follow', async (request, reply) => {
    const [follower, followee] = await followEdge(request)
    await writes.follow(follower, followee, request.ctx)
    return reply.type('text/plain; charset=utf-8').send('Success!')
  })

  app.post('/wrk2-api/user/unfollow', async (request, reply) => {
    const [follower, followee] = await followEdge(request)
    await writes.unfollow(follower, followee, request.ctx)
    return reply.type('text/plain; charset=utf-8').send('Success!')
  })

  app.post('/wrk2-api/post/compose', { config: composeRoute() }, async (request, reply) => {
    const f = fields(request, ['username', 'user_id', 'text', 'post_type'])
    if (f.text.length === 0 || f.text.length > maxTextLength || !textRegex.test(f.text)) {
      throw new AppError('E_VALIDATION', `text must be 1-${maxTextLength} printable characters`)
    }
    if (!/^[0-3]$/.test(f.post_type)) throw new AppError('E_VALIDATION', 'post_type must be 0, 1, 2 or 3')
    const media = parseMedia(request.body as Fields)
    const authorId = await userByExternalId(f.user_id, sessionless(request))
    const author = await users.require(authorId, request.ctx)
    if (author.username !== f.username) {
      throw new AppError('E_VALIDATION', `username '${f.username}' does not belong to user_id ${f.user_id}`)
    }
    // DeathStarBench's text is random characters, spam to any text classifier: this surface only checks
    // (so the check's cost is in the mix) and counts the verdict.
    await guard.screen(f.text, request.ctx.signal, request.ctx.timing)
    await guard.composes.execute(
      () => writes.compose({ authorId, text: f.text, media, postType: Number(f.post_type) }, request.ctx),
      request.ctx.signal,
    )
    return reply.type('text/plain; charset=utf-8').send('Successfully upload post')
  })

  app.get('/wrk2-api/home-timeline/read', async (request, reply) => {
    const { userId, offset, limit } = await readRange(request, userByExternalId)
    return render(await timelines.home(userId, { offset, limit }, request.ctx), sessionless(request), reply)
  })

  app.get('/wrk2-api/user-timeline/read', async (request, reply) => {
    const { userId, offset, limit } = await readRange(request, userByExternalId)
    return render(await timelines.user(userId, { offset, limit }, request.ctx), sessionless(request), reply)
  })
}

/** The named fields from a form body (POST) or query string (GET); any missing → "Incomplete arguments". */
function fields<K extends string>(request: FastifyRequest, names: readonly K[]): Record<K, string> {
  const source = ((request.method === 'GET' ? request.query : request.body) ?? {}) as Fields
  const out = {} as Record<K, string>
  const missing: string[] = []
  for (const name of names) {
    const value = source[name]
    if (typeof value !== 'string') {
      if (Array.isArray(value)) throw new AppError('E_VALIDATION', `${name} is given more than once`)
      missing.push(name)
    } else out[name] = value
  }
  if (missing.length > 0) {
    throw new AppError('E_INCOMPLETE_ARGUMENTS', `Incomplete arguments: missing ${missing.join(', ')}`, {
      context: { missing },
    })
  }
  return out
}

function has(source: Fields, name: string): boolean {
  return typeof source[name] === 'string'
}

async function readRange(
  request: FastifyRequest,
  resolve: (raw: string, options: CallOptions) => Promise<string>,
): Promise<{ userId: string; offset: number; limit: number }> {
  const f = fields(request, ['user_id', 'start', 'stop'])
  if (!/^\d{1,9}$/.test(f.start) || !/^\d{1,9}$/.test(f.stop)) {
    throw new AppError('E_INVALID_RANGE', 'start and stop must be non-negative integers')
  }
  const start = Number(f.start)
  const stop = Number(f.stop)
  if (start > stop) throw new AppError('E_INVALID_RANGE', `start (${start}) is after stop (${stop})`)
  if (stop - start > maxRange || stop > maxStop) {
    throw new AppError('E_INVALID_RANGE', `at most ${maxRange} posts per read, and stop at most ${maxStop}`)
  }
  const userId = await resolve(f.user_id, sessionless(request))
  return { userId, offset: start, limit: stop - start }
}

/** `media_ids` and `media_types`: JSON arrays of strings, paired by position; both optional. */
function parseMedia(body: Fields): Media[] {
  const ids = jsonStrings(body['media_ids'], 'media_ids')
  const types = jsonStrings(body['media_types'], 'media_types')
  if (ids.length !== types.length)
    throw new AppError('E_VALIDATION', 'media_ids and media_types differ in length')
  if (ids.length > 16) throw new AppError('E_VALIDATION', 'at most 16 media per post')
  return ids.map((id, i) => {
    if (!/^\d{1,19}$/.test(id)) throw new AppError('E_VALIDATION', `media id '${id}' is not a decimal number`)
    const type = types[i]!
    if (!/^[A-Za-z0-9.+-]{1,32}$/.test(type))
      throw new AppError('E_VALIDATION', `media type '${type}' is not valid`)
    return { media_id: id, media_type: type }
  })
}

function jsonStrings(raw: string | string[] | undefined, name: string): string[] {
  if (raw === undefined || raw === '') return []
  if (typeof raw !== 'string') throw new AppError('E_VALIDATION', `${name} is given more than once`)
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw new AppError('E_VALIDATION', `${name} must be a JSON array of strings`)
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new AppError('E_VALIDATION', `${name} must be a JSON array of strings`)
  }
  return value
}
