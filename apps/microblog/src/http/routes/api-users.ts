import { parseId } from '@hundredfold/id'
import type { FastifyInstance } from 'fastify'
import { AppError } from '../../domain/app-error.js'
import type { Services } from '../../services/index.js'
import { type HttpGuard, passwordRoute } from '../guard.js'
import { requireUser, sessionless } from '../request-context.js'
import { body, textPattern, userIdParams, usernamePattern, userView } from '../schemas.js'
import { userJson } from '../views.js'

const credentials = {
  username: { type: 'string', pattern: usernamePattern },
  password: { type: 'string', minLength: 8, maxLength: 128 },
} as const

/** Registration, sign-in, profiles and follows under `/api/v1`. */
export function apiUserRoutes(app: FastifyInstance, services: Services, guard: HttpGuard): void {
  const { users, writes, tokens } = services
  const authenticated = requireUser(tokens, users)

  app.post<{ Body: { username: string; password: string; display_name?: string } }>(
    '/api/v1/users',
    {
      schema: {
        body: body(['username', 'password'], {
          ...credentials,
          display_name: { type: 'string', minLength: 1, maxLength: 100, pattern: textPattern },
        }),
        response: { 201: userView },
      },
      config: passwordRoute(guard.registerPerIp, 'register-ip'),
    },
    async (request, reply) => {
      const { username, password, display_name } = request.body
      const user = await guard.passwords.execute(
        () => users.register({ username, password, displayName: display_name ?? username }, request.ctx),
        request.ctx.signal,
      )
      return reply.code(201).header('location', `/api/v1/users/${user.user_id}`).send(userJson(user))
    },
  )

  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/sessions',
    {
      schema: {
        body: body(['username', 'password'], {
          username: { type: 'string', maxLength: 64 },
          password: { type: 'string', maxLength: 128 },
        }),
      },
      config: passwordRoute(guard.loginPerIp, 'login-ip'),
    },
    async (request, reply) => {
      const { username, password } = request.body
      await guard.throttleUsername(username, request, reply)
      const user = await guard.passwords.execute(
        () => users.authenticate(username, password, sessionless(request)),
        request.ctx.signal,
      )
      const { token, expiresAt } = tokens.sign(user.user_id, user.token_version ?? 0)
      return { token, token_type: 'Bearer', expires_at: expiresAt.toISOString(), user_id: user.user_id }
    },
  )

  // Logout: every token of this user is revoked (tokens are stateless; the user's token version is not).
  app.delete('/api/v1/sessions', { preHandler: authenticated }, async (request, reply) => {
    await users.revokeTokens(request.userId!, request.ctx)
    return reply.code(204).send()
  })

  app.put<{ Body: { current_password: string; new_password: string } }>(
    '/api/v1/users/me/password',
    {
      config: passwordRoute(undefined, 'password'),
      preHandler: authenticated,
      schema: {
        body: body(['current_password', 'new_password'], {
          current_password: { type: 'string', maxLength: 128 },
          new_password: credentials.password,
        }),
      },
    },
    async (request, reply) => {
      const { current_password, new_password } = request.body
      await guard.passwords.execute(
        () => users.changePassword(request.userId!, current_password, new_password, request.ctx),
        request.ctx.signal,
      )
      return reply.code(204).send()
    },
  )

  app.get<{ Params: { user_id: string } }>(
    '/api/v1/users/:user_id',
    { schema: { params: userIdParams } },
    async (request) => {
      const userId = parseId(request.params.user_id).toString()
      const options = request.ctx
      const [user, counts] = await Promise.all([
        users.require(userId, options),
        users.counters(userId, options),
      ])
      return { ...userJson(user), ...counts }
    },
  )

  app.get<{ Params: { username: string } }>(
    '/api/v1/usernames/:username',
    {
      schema: {
        params: { type: 'object', properties: { username: { type: 'string', pattern: usernamePattern } } },
        response: { 200: userView },
      },
    },
    async (request) => {
      const userId = await users.idByUsername(request.params.username, request.ctx)
      if (!userId) throw new AppError('E_USER_NOT_FOUND', `no user named '${request.params.username}'`)
      return userJson(await users.require(userId, request.ctx))
    },
  )

  // POST follows, DELETE unfollows; both answer the state the edge is in now.
  for (const following of [true, false]) {
    app.route<{ Params: { user_id: string } }>({
      method: following ? 'POST' : 'DELETE',
      url: '/api/v1/users/:user_id/follow',
      schema: { params: userIdParams },
      preHandler: authenticated,
      handler: async (request) => {
        const followeeId = parseId(request.params.user_id).toString()
        await users.require(followeeId, request.ctx)
        const changed = following
          ? await writes.follow(request.userId!, followeeId, request.ctx)
          : await writes.unfollow(request.userId!, followeeId, request.ctx)
        return { follower_id: request.userId, followee_id: followeeId, following, changed }
      },
    })
  }
}
