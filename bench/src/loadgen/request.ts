import type { Random } from '../random.js'

/** One HTTP request a workload wants sent, tagged with the endpoint it counts toward. */
export interface RequestSpec {
  /** Short endpoint name for per-endpoint histograms, e.g. `home`, `user`, `compose`. */
  endpoint: string
  method: 'GET' | 'POST'
  /** Path and query, e.g. `/wrk2-api/home-timeline/read?user_id=3&start=0&stop=10`. */
  path: string
  headers?: Record<string, string>
  body?: string
  /** Read the body and count an empty page (`[]`) — for timeline reads. */
  page?: boolean
}

/** Draws the next request of a workload. */
export type RequestSource = (random: Random) => RequestSpec

/** True when a timeline body holds no posts: a bare `[]` or an object whose item list is empty. */
export function isEmptyPage(body: string): boolean {
  const text = body.trim()
  if (text === '[]') return true
  return /^\{.*"(items|posts|data|timeline)"\s*:\s*\[\s*\]/s.test(text)
}
