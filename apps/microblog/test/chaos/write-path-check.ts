import { decodeEntry } from '../../src/storage/home-timelines.js'
import type { Deployment } from './deployment.js'

/** A stored post that no `202` acknowledged. */
export interface UnacknowledgedPost {
  post_id: string
  author_id: string
  text: string
}

/** What the database and the home timelines hold, compared with what the clients were told. */
export interface WritePathCheck {
  /** Rows in `posts`. */
  stored: number
  /** Acknowledged, not stored. */
  missing: string[]
  /** Post ids stored more than once. */
  duplicates: string[]
  /** Stored, never acknowledged. */
  unacknowledged: UnacknowledgedPost[]
  /** Authors whose `user_counters.posts` is not their number of acknowledged posts. */
  counterMismatches: Array<{ user_id: string; counter: number; acknowledged: number; rows: number }>
  /** Home-timeline entries: expected and absent, present and not expected, present twice. */
  timelineMissing: number
  timelineExtra: number
  timelineDuplicates: number
  /** Users whose home timeline went cold (fan-out then skips it). */
  coldTimelines: string[]
  /** Up to ten discrepancies, spelled out. */
  examples: string[]
}

/**
 * Compares the deployment's state with the acknowledged posts (post id → author): every acknowledged
 * post stored once and no other, each author's post counter equal to their acknowledged posts, and each
 * user's home timeline (read with ZRANGE, sentinels skipped) holding exactly the acknowledged posts of
 * the users they follow.
 */
export async function checkWritePath(
  deployment: Deployment,
  followees: ReadonlyMap<string, ReadonlySet<string>>,
  acked: ReadonlyMap<string, string>,
): Promise<WritePathCheck> {
  const examples: string[] = []
  const note = (line: string) => {
    if (examples.length < 10) examples.push(line)
  }
  const { rows } = await deployment.sql.query<{ post_id: string; author_id: string }>(
    'SELECT post_id::text, author_id::text FROM posts',
  )
  const seen = new Map<string, number>()
  const rowsByAuthor = new Map<string, number>()
  for (const row of rows) {
    seen.set(row.post_id, (seen.get(row.post_id) ?? 0) + 1)
    rowsByAuthor.set(row.author_id, (rowsByAuthor.get(row.author_id) ?? 0) + 1)
  }
  const missing = [...acked.keys()].filter((id) => !seen.has(id))
  for (const id of missing.slice(0, 3)) note(`post ${id} (author ${acked.get(id)}) acknowledged, not stored`)
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([id]) => id)
  for (const id of duplicates.slice(0, 3)) note(`post ${id} stored ${seen.get(id)} times`)
  const strays = [...seen.keys()].filter((id) => !acked.has(id))
  let unacknowledged: UnacknowledgedPost[] = []
  if (strays.length > 0) {
    const found = await deployment.sql.query<UnacknowledgedPost>(
      'SELECT post_id::text, author_id::text, text FROM posts WHERE post_id = ANY($1::bigint[]) ORDER BY post_id',
      [strays],
    )
    unacknowledged = found.rows
    for (const p of unacknowledged.slice(0, 3)) {
      note(`post ${p.post_id} ('${p.text}', author ${p.author_id}) stored, never acknowledged`)
    }
  }

  const ackedByAuthor = new Map<string, number>()
  for (const author of acked.values()) ackedByAuthor.set(author, (ackedByAuthor.get(author) ?? 0) + 1)
  const counters = await deployment.sql.query<{ user_id: string; posts: string }>(
    'SELECT user_id::text, posts FROM user_counters',
  )
  const counterMismatches = counters.rows
    .map((r) => ({
      user_id: r.user_id,
      counter: Number(r.posts),
      acknowledged: ackedByAuthor.get(r.user_id) ?? 0,
      rows: rowsByAuthor.get(r.user_id) ?? 0,
    }))
    .filter((c) => c.counter !== c.acknowledged)
  for (const c of counterMismatches.slice(0, 3)) {
    note(`user ${c.user_id}: posts counter ${c.counter}, ${c.acknowledged} acknowledged, ${c.rows} rows`)
  }

  const postsByAuthor = new Map<string, string[]>()
  for (const [postId, author] of acked) {
    const list = postsByAuthor.get(author)
    if (list) list.push(postId)
    else postsByAuthor.set(author, [postId])
  }
  let timelineMissing = 0
  let timelineExtra = 0
  let timelineDuplicates = 0
  const coldTimelines: string[] = []
  for (const [userId, follows] of followees) {
    const members = await deployment.redis.zrange(deployment.homeKey(userId), '0', '-1')
    if (!members.includes('$')) coldTimelines.push(userId)
    const got = new Map<string, string>()
    for (const member of members) {
      if (!/^\d/.test(member)) continue // '$' (warm) and '!…' (a build) are not entries
      const entry = decodeEntry(member)
      if (got.has(entry.post_id)) {
        timelineDuplicates++
        note(`user ${userId}: post ${entry.post_id} twice in the home timeline`)
      }
      got.set(entry.post_id, entry.author_id)
    }
    let expected = 0
    for (const author of follows) {
      for (const postId of postsByAuthor.get(author) ?? []) {
        expected++
        if (got.get(postId) === author) continue
        timelineMissing++
        note(`user ${userId}: post ${postId} of ${author} missing from the home timeline`)
      }
    }
    for (const [postId, author] of got) {
      if (acked.get(postId) === author && follows.has(author)) continue
      timelineExtra++
      note(`user ${userId}: post ${postId} of ${author} in the home timeline, not expected`)
    }
    if (expected >= Number(deployment.env['HF_HOME_TIMELINE_MAX'])) {
      throw new Error(
        `user ${userId} expects ${expected} entries: over HF_HOME_TIMELINE_MAX, the check is void`,
      )
    }
  }
  for (const userId of coldTimelines.slice(0, 3)) note(`user ${userId}: home timeline went cold`)
  return {
    stored: rows.length,
    missing,
    duplicates,
    unacknowledged,
    counterMismatches,
    timelineMissing,
    timelineExtra,
    timelineDuplicates,
    coldTimelines,
    examples,
  }
}
