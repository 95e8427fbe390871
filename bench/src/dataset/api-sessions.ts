import { BenchError } from '../errors.js'
import type { ApiSession } from '../workloads/api.js'
import { dsbPassword, dsbUsername } from '../workloads/dsb.js'
import { openSetupClient } from './http.js'
import { mapLimit } from './map-limit.js'

/**
 * Logs every loaded user in through `POST /api/v1/sessions` and returns their bearer tokens, for `api-mixed`.
 *
 * @example
 * const sessions = await openApiSessions(baseUrl, 962, 16, signal)
 */
export async function openApiSessions(
  baseUrl: string,
  users: number,
  concurrency: number,
  signal: AbortSignal,
): Promise<ApiSession[]> {
  await using client = openSetupClient(baseUrl, concurrency, signal)
  const sessions: ApiSession[] = new Array(users)
  await mapLimit(
    Array.from({ length: users }, (_, index) => index),
    concurrency,
    async (index) => {
      const { body } = await client.send({
        method: 'POST',
        path: '/api/v1/sessions',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: dsbUsername(index), password: dsbPassword(index) }),
      })
      const parsed = JSON.parse(body) as { token?: unknown; user_id?: unknown }
      if (
        typeof parsed.token !== 'string' ||
        (typeof parsed.user_id !== 'string' && typeof parsed.user_id !== 'number')
      ) {
        throw new BenchError('E_BENCH_LOAD', 'POST /api/v1/sessions must answer { token, user_id }', {
          context: { body: body.slice(0, 200) },
        })
      }
      sessions[index] = { index, userId: String(parsed.user_id), token: parsed.token }
    },
    signal,
  )
  return sessions
}
