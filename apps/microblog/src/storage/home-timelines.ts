/** One entry of a home timeline: enough to fetch the post from its author's shard. */
export interface TimelineEntry {
  post_id: string
  author_id: string
}

/** A page of a home timeline as stored: newest first. */
export interface StoredPage {
  entries: TimelineEntry[]
  /** The timeline holds its cap of entries, so older ones were dropped: a short page may continue in the database. */
  truncated: boolean
}

/** Posts to add to one user's home timeline. */
export interface Delivery {
  userId: string
  entries: readonly TimelineEntry[]
}

/**
 * Home timelines kept by fan-out on write: one sorted set per user, capped at `max` newest entries.
 *
 * A timeline is *warm* once built. Fan-out adds only to warm (or building) timelines, never creates
 * one: a timeline created by a fan-out would hold just the new post and look complete. A cold
 * timeline (never built, expired, evicted, invalidated) reads as `undefined` and is rebuilt by the
 * reader: `beginBuild` marks it as building (fan-outs from then on land in it), the reader queries
 * the sources, and `finishBuild` merges what it found — unless the timeline was invalidated in between,
 * in which case the build is dropped (its sources were stale) and the next reader starts over.
 */
export interface HomeTimelines {
  readonly max: number
  /** A page below `before` (exclusive), skipping `offset`; `undefined` when cold or being built. */
  read(
    userId: string,
    page: { before?: bigint | undefined; offset: number; limit: number },
    signal?: AbortSignal,
  ): Promise<StoredPage | undefined>
  /** Adds to every listed timeline that is warm or building, in one round trip; each stays capped. */
  add(deliveries: readonly Delivery[], signal?: AbortSignal): Promise<void>
  /**
   * Marks a cold timeline as building and returns the build's token; `undefined` when it is warm or
   * another build (not yet timed out) is under way: one builder at a time.
   */
  beginBuild(userId: string, signal?: AbortSignal): Promise<string | undefined>
  /** Merges a build's entries; false (nothing written) when the timeline was invalidated since `beginBuild`. */
  finishBuild(
    userId: string,
    token: string,
    entries: readonly TimelineEntry[],
    signal?: AbortSignal,
  ): Promise<boolean>
  /** Drops timelines whose sources changed (a follow, an unfollow): the next read rebuilds them. */
  invalidate(userIds: readonly string[], signal?: AbortSignal): Promise<void>
  /** Resolves when the store answers; throws when it cannot be reached. */
  ping(signal?: AbortSignal): Promise<void>
  /** Entries stored for a user, for tests and drills; `undefined` when cold. */
  dump(userId: string, signal?: AbortSignal): Promise<TimelineEntry[] | undefined>
  close(): Promise<void>
}

/** How long a build may take before another reader may assume its builder died. */
export const BUILD_TIMEOUT_MS = 30_000
/** A timeline nobody wrote to or rebuilt for this long expires (and is rebuilt on its next read). */
export const TIMELINE_TTL_MS = 24 * 3600_000

/**
 * An entry as a sorted-set member: the post id zero-padded to 19 digits, then the author. With equal
 * scores, members sort by bytes, so lexicographic order is id order, which is time order.
 */
export function encodeEntry(entry: TimelineEntry): string {
  return `${entry.post_id.padStart(19, '0')}:${entry.author_id}`
}

export function decodeEntry(member: string): TimelineEntry {
  const colon = member.indexOf(':')
  return { post_id: BigInt(member.slice(0, colon)).toString(), author_id: member.slice(colon + 1) }
}

/** Entries of a page from a list sorted newest first, with `before` exclusive. */
export function pageOf(
  list: readonly TimelineEntry[],
  page: { before?: bigint | undefined; offset: number; limit: number },
): TimelineEntry[] {
  const eligible = page.before === undefined ? list : list.filter((e) => BigInt(e.post_id) < page.before!)
  return eligible.slice(page.offset, page.offset + page.limit)
}
