import type { Cluster } from '@hundredfold/pg'
import { AppError } from '../domain/app-error.js'
import type { CallOptions } from './types.js'

/**
 * Who follows whom, stored in both directions: `following` keyed by the follower (home timelines
 * read it), `followers` keyed by the followee (fan-out reads it). Following twice or unfollowing
 * someone not followed changes nothing.
 */
export class GraphService {
  readonly #db: Cluster

  constructor(db: Cluster) {
    this.#db = db
  }

  /** Returns whether a new edge was made. Both users must exist (the caller checks). */
  async follow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    if (followerId === followeeId) throw new AppError('E_SELF_FOLLOW')
    return this.#db.transaction(async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO following (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [followerId, followeeId],
      )
      if (inserted.rowCount === 0) return false
      await tx.query(
        'INSERT INTO followers (followee_id, follower_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [followeeId, followerId],
      )
      await tx.query('UPDATE user_counters SET following = following + 1 WHERE user_id = $1', [followerId])
      await tx.query('UPDATE user_counters SET followers = followers + 1 WHERE user_id = $1', [followeeId])
      return true
    }, options)
  }

  /** Returns whether an edge was removed. */
  async unfollow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const deleted = await tx.query('DELETE FROM following WHERE follower_id = $1 AND followee_id = $2', [
        followerId,
        followeeId,
      ])
      if (deleted.rowCount === 0) return false
      await tx.query('DELETE FROM followers WHERE followee_id = $1 AND follower_id = $2', [
        followeeId,
        followerId,
      ])
      await tx.query('UPDATE user_counters SET following = following - 1 WHERE user_id = $1', [followerId])
      await tx.query('UPDATE user_counters SET followers = followers - 1 WHERE user_id = $1', [followeeId])
      return true
    }, options)
  }

  /** Whom a user follows. */
  async followees(userId: string, options: CallOptions = {}): Promise<string[]> {
    const { rows } = await this.#db.read<{ followee_id: string }>(
      'SELECT followee_id FROM following WHERE follower_id = $1',
      [userId],
      options,
    )
    return rows.map((r) => r.followee_id)
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
