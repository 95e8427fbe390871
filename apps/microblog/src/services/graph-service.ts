import type { Transaction } from '@hundredfold/pg'
import { AppError } from '../domain/app-error.js'
import type { Db } from '../storage/measured-db.js'
import type { CallOptions } from './types.js'

/**
 * The statements on the two sides of an edge. `$1, $2` are (follower, followee) on `following` and
 * (followee, follower) on `followers`: each table's key comes first.
 */
const edges = {
  addFollowing: 'INSERT INTO following (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
  removeFollowing: 'DELETE FROM following WHERE follower_id = $1 AND followee_id = $2',
  addFollower: 'INSERT INTO followers (followee_id, follower_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
  removeFollower: 'DELETE FROM followers WHERE followee_id = $1 AND follower_id = $2',
} as const

/** One follow edge: `follower_id` follows `followee_id`. */
export interface Edge {
  follower_id: string
  followee_id: string
}

/**
 * Each edge's `followers` row made to match its `following` row (present or absent), and the followees'
 * counters moved by what changed; answers the followers of the edges that changed.
 */
const RECONCILE = `
WITH pairs AS (
  SELECT DISTINCT p.follower_id, p.followee_id,
         EXISTS (SELECT 1 FROM following f WHERE f.follower_id = p.follower_id AND f.followee_id = p.followee_id) AS follows
  FROM unnest($1::bigint[], $2::bigint[]) AS p(follower_id, followee_id)
), added AS (
  INSERT INTO followers (followee_id, follower_id)
  SELECT followee_id, follower_id FROM pairs WHERE follows
  ON CONFLICT DO NOTHING RETURNING followee_id, follower_id
), removed AS (
  DELETE FROM followers fo USING pairs p
  WHERE NOT p.follows AND fo.followee_id = p.followee_id AND fo.follower_id = p.follower_id
  RETURNING fo.followee_id, fo.follower_id
), moved AS (
  UPDATE user_counters u SET followers = u.followers + d.delta
  FROM (SELECT followee_id, sum(delta) AS delta
        FROM (SELECT followee_id, 1 AS delta FROM added UNION ALL SELECT followee_id, -1 FROM removed) AS c
        GROUP BY followee_id) AS d
  WHERE u.user_id = d.followee_id
  RETURNING 1
)
SELECT follower_id FROM added UNION SELECT follower_id FROM removed`

/**
 * Who follows whom, stored in both directions: `following` keyed by the follower (home timelines
 * read it), `followers` keyed by the followee (fan-out reads it). Following twice or unfollowing
 * someone not followed changes nothing.
 */
export class GraphService {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  /** Returns whether a new edge was made. Both users must exist (the caller checks). */
  follow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#changeEdge('add', followerId, followeeId, options, async (tx) => {
      await tx.query(edges.addFollower, [followeeId, followerId])
      await adjustCounters(tx, followerId, followeeId, 1)
    })
  }

  /**
   * The queued write path's half of a follow: the follower's side (`following`, their counter) now;
   * the followee's side is written by `reconcile()` from the queue.
   */
  followFirstHalf(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#changeEdge('add', followerId, followeeId, options, (tx) =>
      moveCounter(tx, followerId, 'following', 1),
    )
  }

  /** The queued write path's half of an unfollow (see `followFirstHalf`). */
  unfollowFirstHalf(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#changeEdge('remove', followerId, followeeId, options, (tx) =>
      moveCounter(tx, followerId, 'following', -1),
    )
  }

  /**
   * Makes the followee's side of each edge match the follower's side, which is the truth: idempotent and
   * indifferent to order, so redelivered or reordered follow/unfollow messages settle on the same state.
   * One transaction and two statements for the whole batch. The followees' counter rows are locked
   * first, in id order (two batches cannot deadlock), so two reconciles of one followee run one after
   * the other and the later one's statement reads the latest `following`. Returns the followers whose
   * edge changed.
   */
  async reconcile(pairs: readonly Edge[], options: CallOptions = {}): Promise<string[]> {
    if (pairs.length === 0) return []
    const followees = [...new Set(pairs.map((p) => p.followee_id))].sort(byBigInt)
    return this.#db.transaction(async (tx) => {
      await tx.query(
        'SELECT 1 FROM user_counters WHERE user_id = ANY($1::bigint[]) ORDER BY user_id FOR UPDATE',
        [followees],
      )
      const { rows } = await tx.query<{ follower_id: string }>(RECONCILE, [
        pairs.map((p) => p.follower_id),
        pairs.map((p) => p.followee_id),
      ])
      return rows.map((r) => r.follower_id)
    }, options)
  }

  /** Returns whether an edge was removed. */
  unfollow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#changeEdge('remove', followerId, followeeId, options, async (tx) => {
      await tx.query(edges.removeFollower, [followeeId, followerId])
      await adjustCounters(tx, followerId, followeeId, -1)
    })
  }

  /**
   * Adds or removes the follower's side of an edge (`following`, the truth) and, when that changed
   * something, runs `rest` in the same transaction. Returns whether it changed something.
   */
  async #changeEdge(
    change: 'add' | 'remove',
    followerId: string,
    followeeId: string,
    options: CallOptions,
    rest: (tx: Transaction) => Promise<unknown>,
  ): Promise<boolean> {
    if (change === 'add' && followerId === followeeId) throw new AppError('E_SELF_FOLLOW')
    return this.#db.transaction(async (tx) => {
      const changed = await tx.query(change === 'add' ? edges.addFollowing : edges.removeFollowing, [
        followerId,
        followeeId,
      ])
      if (changed.rowCount === 0) return false
      await rest(tx)
      return true
    }, options)
  }

  /** Whom a user follows. */
  async followees(userId: string, options: CallOptions = {}): Promise<string[]> {
    const sql = 'SELECT followee_id FROM following WHERE follower_id = $1'
    const { rows } = options.fresh
      ? await this.#db.query<{ followee_id: string }>(sql, [userId], options)
      : await this.#db.read<{ followee_id: string }>(sql, [userId], options)
    return rows.map((r) => r.followee_id)
  }

  /** Followers of several users, from the primary (fan-out acts on it): followee → followers. */
  async followersOf(userIds: readonly string[], options: CallOptions = {}): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(userIds.map((id) => [id, []]))
    if (userIds.length === 0) return out
    const { rows } = await this.#db.query<{ followee_id: string; follower_id: string }>(
      'SELECT followee_id, follower_id FROM followers WHERE followee_id = ANY($1::bigint[])',
      [userIds],
      options,
    )
    for (const row of rows) out.get(row.followee_id)?.push(row.follower_id)
    return out
  }

  /** Who follows a user. */
  async followers(userId: string, options: CallOptions = {}): Promise<string[]> {
    const { rows } = await this.#db.read<{ follower_id: string }>(
      'SELECT follower_id FROM followers WHERE followee_id = $1',
      [userId],
      options,
    )
    return rows.map((r) => r.follower_id)
  }
}

/**
 * Moves both users' counters, locking their rows in ascending id order: a→b and b→a followed at the
 * same moment would otherwise each hold one row and wait for the other (a deadlock).
 */
async function adjustCounters(tx: Transaction, followerId: string, followeeId: string, delta: 1 | -1) {
  const updates: Array<[string, 'following' | 'followers']> = [
    [followerId, 'following'],
    [followeeId, 'followers'],
  ]
  updates.sort(([a], [b]) => byBigInt(a, b))
  for (const [userId, column] of updates) await moveCounter(tx, userId, column, delta)
}

/** Adds `delta` to one of a user's counters. */
async function moveCounter(
  tx: Transaction,
  userId: string,
  column: 'following' | 'followers',
  delta: 1 | -1,
): Promise<void> {
  await tx.query(`UPDATE user_counters SET ${column} = ${column} + $2 WHERE user_id = $1`, [userId, delta])
}

/** Ascending order of decimal ids. */
function byBigInt(a: string, b: string): number {
  return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0
}
