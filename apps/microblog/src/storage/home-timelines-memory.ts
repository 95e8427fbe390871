import {
  BUILD_TIMEOUT_MS,
  type HomeTimelines,
  pageOf,
  TIMELINE_TTL_MS,
  type TimelineEntry,
} from './home-timelines.js'

interface Timeline {
  /** Newest first, no duplicates. */
  entries: TimelineEntry[]
  built: boolean
  /** Builds in progress: token → deadline. */
  builds: Map<string, number>
  expiresAt: number
}

/**
 * Home timelines in this process (the embedded default): the same states and rules as the Redis
 * store, so both pass one contract suite. At most `timelines` users are kept; the least recently
 * touched are dropped first (and rebuilt on their next read).
 */
export function memoryHomeTimelines(options: { max: number; timelines?: number }): HomeTimelines {
  const { max } = options
  const limit = options.timelines ?? 100_000
  const map = new Map<string, Timeline>()
  const now = () => Date.now()

  const live = (userId: string): Timeline | undefined => {
    const timeline = map.get(userId)
    if (!timeline) return undefined
    if (timeline.expiresAt <= now()) {
      map.delete(userId)
      return undefined
    }
    return timeline
  }
  const touch = (userId: string, timeline: Timeline) => {
    map.delete(userId)
    map.set(userId, timeline)
    if (map.size > limit) map.delete(map.keys().next().value!)
  }
  const merge = (timeline: Timeline, entries: readonly TimelineEntry[]) => {
    const seen = new Set(timeline.entries.map((e) => e.post_id))
    for (const entry of entries) {
      if (seen.has(entry.post_id)) continue
      seen.add(entry.post_id)
      timeline.entries.push({ post_id: entry.post_id, author_id: entry.author_id })
    }
    timeline.entries.sort((a, b) => (BigInt(a.post_id) < BigInt(b.post_id) ? 1 : -1))
    if (timeline.entries.length > max) timeline.entries.length = max
  }
  const building = (timeline: Timeline) => {
    const t = now()
    for (const [token, deadline] of timeline.builds) if (deadline < t) timeline.builds.delete(token)
    return timeline.builds.size > 0
  }

  return {
    max,
    async read(userId, page, signal) {
      signal?.throwIfAborted()
      const timeline = live(userId)
      if (!timeline?.built || timeline.builds.size > 0) return undefined
      touch(userId, timeline)
      return { entries: pageOf(timeline.entries, page), truncated: timeline.entries.length >= max }
    },
    async add(deliveries, signal) {
      signal?.throwIfAborted()
      for (const { userId, entries } of deliveries) {
        const timeline = live(userId)
        if (timeline) merge(timeline, entries)
      }
    },
    async beginBuild(userId, signal) {
      signal?.throwIfAborted()
      let timeline = live(userId)
      if (timeline && (timeline.built || building(timeline))) return undefined
      timeline ??= { entries: [], built: false, builds: new Map(), expiresAt: 0 }
      const token = Math.random().toString(36).slice(2)
      timeline.builds.set(token, now() + BUILD_TIMEOUT_MS)
      timeline.expiresAt = now() + TIMELINE_TTL_MS
      touch(userId, timeline)
      return token
    },
    async finishBuild(userId, token, entries, signal) {
      signal?.throwIfAborted()
      const timeline = live(userId)
      if (!timeline?.builds.delete(token)) return false
      timeline.built = true
      merge(timeline, entries)
      timeline.expiresAt = now() + TIMELINE_TTL_MS
      return true
    },
    async invalidate(userIds, signal) {
      signal?.throwIfAborted()
      for (const userId of userIds) map.delete(userId)
    },
    async ping(signal) {
      signal?.throwIfAborted()
    },
    async dump(userId, signal) {
      signal?.throwIfAborted()
      const timeline = live(userId)
      return timeline?.built && timeline.builds.size === 0 ? [...timeline.entries] : undefined
    },
    async close() {
      map.clear()
    },
  }
}
