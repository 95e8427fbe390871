import { parseId } from '@hundredfold/id'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { AppError } from '../../domain/app-error.js'
import type { Services } from '../../services/index.js'
import type { PageRequest, Post } from '../../services/types.js'
import { composeRoute, type HttpGuard } from '../guard.js'
import { requireUser, sessionless } from '../request-context.js'
import { pageQuery, postPage, postView, textPattern, userIdParams } from '../schemas.js'
import { postJson } from '../views.js'

export const maxTextLength = 2000

/** Composing, timelines and nearby search under `/api/v1`. */
export function apiPostRoutes(app: FastifyInstance, services: Services, guard: HttpGuard): void {
  const { users, writes, timelines, nearby, tokens } = services
  const authenticated = requireUser(tokens, users)

  const page = async (list: Post[], limit: number, request: FastifyRequest) => {
    const authors = await users.getMany(
      list.map((p) => p.author_id),
      sessionless(request),
    )
    return {
      posts: list.map((post) => postJson(post, authors.get(post.author_id))),
      next_before: list.length === limit ? list[list.length - 1]!.post_id : null,
    }
  }

  app.post<{ Body: { text: string; latitude?: number; longitude?: number } }>(
    '/api/v1/posts',
    {
      config: composeRoute(),
      preHandler: authenticated,
      schema: {
        body: {
          type: 'object',
          required: ['text'],
          properties: {
            text: { type: 'string', minLength: 1, maxLength: maxTextLength, pattern: textPattern },
            latitude: { type: 'number', minimum: -90, maximum: 90 },
            longitude: { type: 'number', minimum: -180, maximum: 180 },
          },
          dependencies: { latitude: ['longitude'], longitude: ['latitude'] },
        },
        response: { 201: postView, 202: postView },
      },
    },
    async (request, reply) => {
      const author = await users.require(request.userId!, request.ctx)
      const verdict = await guard.screen(request.body.text, request.ctx.signal, request.ctx.timing)
      if (verdict?.spam) {
        throw new AppError('E_SPAM', 'the post reads as spam', {
          context: { rules: verdict.rules, score: verdict.score },
        })
      }
      const { post, queued } = await guard.composes.execute(
        () => writes.compose({ authorId: author.user_id, ...request.body }, request.ctx),
        request.ctx.signal,
      )
      // 202: the queue holds it; it is stored and in followers' timelines moments later.
      return reply
        .code(queued ? 202 : 201)
        .header('location', `/api/v1/posts/${post.post_id}`)
        .send(postJson(post, author))
    },
  )

  app.get<{ Params: { user_id: string }; Querystring: { before?: string; limit?: string } }>(
    '/api/v1/users/:user_id/posts',
    { schema: { params: userIdParams, querystring: pageQuery, response: { 200: postPage } } },
    async (request) => {
      const userId = parseId(request.params.user_id).toString()
      await users.require(userId, request.ctx)
      const request_ = pageRequest(request.query)
      const list = await timelines.user(userId, request_, request.ctx)
      return page(list, request_.limit, request)
    },
  )

  app.get<{ Querystring: { before?: string; limit?: string } }>(
    '/api/v1/timeline',
    { preHandler: authenticated, schema: { querystring: pageQuery, response: { 200: postPage } } },
    async (request) => {
      const request_ = pageRequest(request.query)
      const list = await timelines.home(request.userId!, request_, request.ctx)
      return page(list, request_.limit, request)
    },
  )

  app.get<{ Querystring: { lat: string; lon: string; radius_m: string; limit?: string } }>(
    '/api/v1/posts/nearby',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['lat', 'lon', 'radius_m'],
          properties: {
            lat: { type: 'string', pattern: '^-?[0-9]{1,3}(\\.[0-9]{1,12})?$' },
            lon: { type: 'string', pattern: '^-?[0-9]{1,3}(\\.[0-9]{1,12})?$' },
            radius_m: { type: 'string', pattern: '^[0-9]{1,6}(\\.[0-9]{1,6})?$' },
            limit: { type: 'string', pattern: '^[0-9]{1,3}$' },
          },
        },
        response: { 200: { type: 'object', properties: { posts: { type: 'array', items: postView } } } },
      },
    },
    async (request) => {
      const latitude = Number(request.query.lat)
      const longitude = Number(request.query.lon)
      const radiusM = Number(request.query.radius_m)
      const limit = limitOf(request.query.limit)
      if (latitude < -90 || latitude > 90) throw new AppError('E_VALIDATION', 'lat must be within -90..90')
      if (longitude < -180 || longitude > 180)
        throw new AppError('E_VALIDATION', 'lon must be within -180..180')
      if (radiusM <= 0 || radiusM > 100_000)
        throw new AppError('E_VALIDATION', 'radius_m must be within (0, 100000]')
      const hits = await nearby.search({ latitude, longitude, radiusM, limit }, request.ctx)
      const authors = await users.getMany(
        hits.map((h) => h.post.author_id),
        request.ctx,
      )
      return { posts: hits.map((hit) => postJson(hit.post, authors.get(hit.post.author_id), hit.distance_m)) }
    },
  )
}

function limitOf(raw: string | undefined): number {
  const limit = raw === undefined ? 20 : Number(raw)
  if (limit < 1 || limit > 100) throw new AppError('E_VALIDATION', 'limit must be within 1..100')
  return limit
}

function pageRequest(query: { before?: string; limit?: string }): PageRequest {
  return {
    before: query.before === undefined ? undefined : parseId(query.before),
    limit: limitOf(query.limit),
  }
}
