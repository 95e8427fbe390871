import { AppError } from '../domain/app-error.js'
import type { Statements, Store, TxStatements } from '../storage/store.js'
import type { CallOptions } from './types.js'

/**
 * The statements on the two sides of an edge. `$1, $2` are (follower, followee) on `following` and
 * (followee, follower) on `followers`: each table's key comes first.
 */
const edges = {
  addFollowing: 'INSERT INTO {following} (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
  removeFollowing: 'DELETE FROM {following} WHERE follower_id = $1 AND followee_id = $2',
  addFollower: 'INSERT INTO {followers} (followee_id, follower_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
  removeFollower: 'DELETE FROM {followers} WHERE followee_id = $1 AND follower_id = $2',
} as const

/** One follow edge: `follower_id` follows `followee_id`. */
export interface Edge {
  follower_id: string
  followee_id: string
}

/** Rounds of a reconcile across databases before it gives up (the message is then redelivered). */
const MAX_ROUNDS = 5

/** Which of the pairs are edges on the follower's side (`following`, the truth). */
const TRUTH = `
SELECT follower_id, followee_id FROM {following}
WHERE (follower_id, followee_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`

/**
 * Each edge's `followers` row made to match the truth (`$3`: whether the follower follows), and the
 * followees' counters moved by what changed; answers the followers of the edges that changed.
 */
const RECONCILE = `
WITH pairs AS (
  SELECT DISTINCT * FROM unnest($1::bigint[], $2::bigint[], $3::bool[]) AS p(follower_id, followee_id, follows)
), added AS (
  INSERT INTO {followers} (followee_id, follower_id)
  SELECT followee_id, follower_id FROM pairs WHERE follows
  ON CONFLICT DO NOTHING RETURNING followee_id, follower_id
), removed AS (
  DELETE FROM {followers} fo USING pairs p
  WHERE NOT p.follows AND fo.followee_id = p.followee_id AND fo.follower_id = p.follower_id
  RETURNING fo.followee_id, fo.follower_id
), moved AS (
  UPDATE {user_counters} u SET followers = u.followers + d.delta
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
  readonly #db: Store

  constructor(db: Store) {
    this.#db = db
  }

  /**
   * Returns whether a new edge was made. Both users must exist (the caller checks). Both sides in one
   * transaction when they share a database; else the follower's side, then `reconcile()` of the edge.
   */
  follow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#bothSides('add', followerId, followeeId, options)
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
    const byFollowee = groupBy(pairs, (p) => p.followee_id)
    const changed = new Set<string>()
    for (const { statements, keys } of this.#db.writeGroups('followers', [...byFollowee.keys()])) {
      const followees = [...keys].sort(byBigInt)
      const group = followees.flatMap((id) => byFollowee.get(id)!)
      const local = group.every((p) =>
        this.#db.colocated('followers', p.followee_id, 'following', p.follower_id),
      )
      const rows = local
        ? await this.#reconcileHere(statements, followees, group, options)
        : await this.#reconcileApart(statements, followees, group, options)
      for (const row of rows) changed.add(row)
    }
    return [...changed]
  }

  /**
   * One database holds both sides: the followees' counters are locked, then the truth is read in the
   * same transaction, so it is the latest (a concurrent reconcile of the same followee waits).
   */
  #reconcileHere(statements: Statements, followees: string[], group: Edge[], options: CallOptions) {
    return statements.transaction(async (tx) => {
      await lockCounters(tx, followees)
      return applyTruth(tx, group, await this.#truth(group, tx, options))
    }, options)
  }

  /**
   * The sides are on different databases: no transaction waits on another database's session (two
   * shards' pools would wait on each other). The truth is read, applied, and read again after the
   * commit; while it moved meanwhile, the round is repeated, so the last apply of an edge is made
   * from a truth that held after it. Each change of the truth is followed by its own reconcile (the
   * queue's message, or the synchronous path's call), so the settled state is the truth's.
   */
  async #reconcileApart(statements: Statements, followees: string[], group: Edge[], options: CallOptions) {
    const changed: string[] = []
    for (let round = 1; ; round++) {
      const truth = await this.#truth(group, undefined, options)
      const rows = await statements.transaction(async (tx) => {
        await lockCounters(tx, followees)
        return applyTruth(tx, group, truth)
      }, options)
      changed.push(...rows)
      const after = await this.#truth(group, undefined, options)
      if (after.size === truth.size && [...after].every((edge) => truth.has(edge))) return changed
      if (round === MAX_ROUNDS) {
        throw new AppError(
          'E_UNAVAILABLE',
          'the follow graph kept changing while its sides were reconciled; retry',
        )
      }
    }
  }

  /** The pairs that are edges in `following`: in `tx` where it holds them, else from their primaries. */
  async #truth(
    pairs: readonly Edge[],
    tx: TxStatements | undefined,
    options: CallOptions,
  ): Promise<Set<string>> {
    const byFollower = groupBy(pairs, (p) => p.follower_id)
    const found = new Set<string>()
    for (const { statements, keys } of this.#db.byShard('following', [...byFollower.keys()])) {
      const group = keys.flatMap((id) => byFollower.get(id)!)
      const params = [group.map((p) => p.follower_id), group.map((p) => p.followee_id)]
      const local = tx?.on('following', keys[0]!)
      const { rows } = local
        ? await local.query<Edge>(TRUTH, params)
        : await statements.query<Edge>(TRUTH, params, { signal: options.signal, timing: options.timing })
      for (const row of rows) found.add(edgeKey(row))
    }
    return found
  }

  /** Returns whether an edge was removed. */
  unfollow(followerId: string, followeeId: string, options: CallOptions = {}): Promise<boolean> {
    return this.#bothSides('remove', followerId, followeeId, options)
  }

  /** Both sides of an edge and both counters: one transaction when one database holds them. */
  async #bothSides(
    change: 'add' | 'remove',
    followerId: string,
    followeeId: string,
    options: CallOptions,
  ): Promise<boolean> {
    const delta = change === 'add' ? 1 : -1
    let apart = false
    const changed = await this.#changeEdge(change, followerId, followeeId, options, async (tx) => {
      const followee = tx.on('followers', followeeId)
      if (followee === undefined) {
        apart = true
        return moveCounter(tx, followerId, 'following', delta)
      }
      await followee.query(change === 'add' ? edges.addFollower : edges.removeFollower, [
        followeeId,
        followerId,
      ])
      await adjustCounters(tx, followee, followerId, followeeId, delta)
    })
    if (changed && apart)
      await this.reconcile([{ follower_id: followerId, followee_id: followeeId }], options)
    return changed
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
    rest: (tx: TxStatements) => Promise<unknown>,
  ): Promise<boolean> {
    if (change === 'add' && followerId === followeeId) throw new AppError('E_SELF_FOLLOW')
    return this.#db.on('following', followerId).transaction(async (tx) => {
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
    const sql = 'SELECT followee_id FROM {following} WHERE follower_id = $1'
    const shard = this.#db.on('following', userId)
    const { rows } = options.fresh
      ? await shard.query<{ followee_id: string }>(sql, [userId], options)
      : await shard.read<{ followee_id: string }>(sql, [userId], options)
    return rows.map((r) => r.followee_id)
  }

  /** Followers of several users, from the primary (fan-out acts on it): followee → followers. */
  async followersOf(userIds: readonly string[], options: CallOptions = {}): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(userIds.map((id) => [id, []]))
    if (userIds.length === 0) return out
    const parts = await Promise.all(
      this.#db
        .byShard('followers', userIds)
        .map(({ statements, keys }) =>
          statements.query<{ followee_id: string; follower_id: string }>(
            'SELECT followee_id, follower_id FROM {followers} WHERE followee_id = ANY($1::bigint[])',
            [keys],
            options,
          ),
        ),
    )
    for (const { rows } of parts) for (const row of rows) out.get(row.followee_id)?.push(row.follower_id)
    return out
  }

  /** Who follows a user. */
  async followers(userId: string, options: CallOptions = {}): Promise<string[]> {
    const { rows } = await this.#db
      .on('followers', userId)
      .read<{ follower_id: string }>(
        'SELECT follower_id FROM {followers} WHERE followee_id = $1',
        [userId],
        options,
      )
    return rows.map((r) => r.follower_id)
  }
}

/** Locks the followees' counter rows in id order: two reconciles of one followee run one after the other. */
async function lockCounters(tx: TxStatements, followees: readonly string[]): Promise<void> {
  await tx.query(
    'SELECT 1 FROM {user_counters} WHERE user_id = ANY($1::bigint[]) ORDER BY user_id FOR UPDATE',
    [followees],
  )
}

/** Makes the followee's side of each pair match `truth`; the followers whose edge changed. */
async function applyTruth(tx: TxStatements, group: readonly Edge[], truth: Set<string>): Promise<string[]> {
  const { rows } = await tx.query<{ follower_id: string }>(RECONCILE, [
    group.map((p) => p.follower_id),
    group.map((p) => p.followee_id),
    group.map((p) => truth.has(edgeKey(p))),
  ])
  return rows.map((r) => r.follower_id)
}

/**
 * Moves both users' counters (the follower's in `tx`, the followee's in `followee`: one transaction),
 * locking their rows in ascending id order: a→b and b→a followed at the same moment would otherwise
 * each hold one row and wait for the other (a deadlock).
 */
async function adjustCounters(
  tx: TxStatements,
  followee: TxStatements,
  followerId: string,
  followeeId: string,
  delta: 1 | -1,
) {
  const updates: Array<[TxStatements, string, 'following' | 'followers']> = [
    [tx, followerId, 'following'],
    [followee, followeeId, 'followers'],
  ]
  updates.sort(([, a], [, b]) => byBigInt(a, b))
  for (const [on, userId, column] of updates) await moveCounter(on, userId, column, delta)
}

/** Adds `delta` to one of a user's counters. */
async function moveCounter(
  tx: TxStatements,
  userId: string,
  column: 'following' | 'followers',
  delta: 1 | -1,
): Promise<void> {
  await tx.query(`UPDATE {user_counters} SET ${column} = ${column} + $2 WHERE user_id = $1`, [userId, delta])
}

/** The edges by one of their ends, in the order given. */
function groupBy(pairs: readonly Edge[], end: (edge: Edge) => string): Map<string, Edge[]> {
  const out = new Map<string, Edge[]>()
  for (const pair of pairs) {
    const list = out.get(end(pair))
    if (list) list.push(pair)
    else out.set(end(pair), [pair])
  }
  return out
}

const edgeKey = (edge: Edge) => `${edge.follower_id}>${edge.followee_id}`

/** Ascending order of decimal ids. */
function byBigInt(a: string, b: string): number {
  return BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0
}
