import type { Snowflake } from '@hundredfold/id'
import { AppError } from '../domain/app-error.js'
import { hashPassword, verifyPassword } from '../domain/password.js'
import { IMMUTABLE, type MeasuredCache } from '../storage/measured-cache.js'
import type { Store, TxStatements, WriteStep } from '../storage/store.js'
import type { CallOptions, User, UserCounters } from './types.js'

export interface RegisterInput {
  username: string
  password: string
  displayName: string
  /** A client-chosen numeric id (DeathStarBench's `user_id`), kept and looked up as the external id. */
  externalId?: bigint | undefined
}

/** A scrypt hash of nothing anyone can type: checked against when the username does not exist. */
const unknownUserHash = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'

const userColumns = 'user_id, username, display_name, external_id, created_at, token_version'

/** The cache key of a user's profile. */
export const userKey = (userId: string) => `user:${userId}`
/** Cache keys of the lookups (immutable once made; a miss is cached too, so register deletes them). */
export const usernameKey = (username: string) => `uname:${username}`
export const externalIdKey = (externalId: string) => `uext:${externalId}`

/**
 * Users, their credentials and counters. Every query is keyed by its shard key: the user id for
 * `users` and `user_counters`, the username for `usernames`, the external id for `user_external_ids`.
 * Profiles are read through the cache when one is given; its loaders read the primary, so what they
 * store is never behind a write (a lagging replica would be, for the whole TTL) — but a replica while
 * no primary is known (`load`: a failover), so a cache miss is still served then.
 */
export class UserService {
  readonly #db: Store
  readonly #ids: Snowflake
  readonly #cache: MeasuredCache | undefined

  constructor(db: Store, ids: Snowflake, cache?: MeasuredCache) {
    this.#db = db
    this.#ids = ids
    this.#cache = cache
  }

  /**
   * Claims the username (and external id), then writes the user: one transaction on one database.
   * Sharded, the claims are made first, each on its own shard (a claim whose user was never written
   * points at nothing and is harmless), and a failed registration releases what it claimed.
   */
  async register(input: RegisterInput, options: CallOptions = {}): Promise<User> {
    const passwordHash = await hashPassword(input.password)
    const userId = this.#ids.nextString()
    const externalId = input.externalId === undefined ? null : input.externalId.toString()
    let user: User | undefined
    const claim = async (tx: TxStatements, sql: string, key: string, error: AppError) => {
      if ((await tx.query(sql, [key, userId])).rowCount === 0) throw error
    }
    const steps: WriteStep[] = [
      {
        table: 'usernames',
        key: input.username,
        run: (tx) =>
          claim(
            tx,
            'INSERT INTO {usernames} (username, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
            input.username,
            new AppError('E_USERNAME_TAKEN', `the username '${input.username}' is taken`, {
              context: { username: input.username },
            }),
          ),
      },
    ]
    if (externalId !== null) {
      steps.push({
        table: 'user_external_ids',
        key: externalId,
        run: (tx) =>
          claim(
            tx,
            'INSERT INTO {user_external_ids} (external_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
            externalId,
            new AppError('E_USER_ID_TAKEN', `the user id ${externalId} is taken`, {
              context: { user_id: externalId },
            }),
          ),
      })
    }
    steps.push({
      table: 'users',
      key: userId,
      run: async (tx) => {
        const { rows } = await tx.query<User>(
          `INSERT INTO {users} (user_id, username, display_name, password_hash, external_id)
           VALUES ($1, $2, $3, $4, $5) RETURNING ${userColumns}`,
          [userId, input.username, input.displayName, passwordHash, externalId],
        )
        await tx.query('INSERT INTO {user_counters} (user_id) VALUES ($1)', [userId])
        user = rows[0]!
      },
    })
    try {
      await this.#db.steps(steps, options)
    } catch (err) {
      if (this.#db.layout === 'sharded') await this.#release(input.username, externalId, userId, options)
      throw err
    }
    if (this.#cache) {
      await this.#cache.delete(userKey(userId), options)
      // A lookup of this name or id made before the commit may have cached "no such user".
      await this.#cache.delete(usernameKey(input.username), options)
      if (externalId !== null) await this.#cache.delete(externalIdKey(externalId), options)
    }
    return user!
  }

  /** Releases a failed registration's claims (those that name its user id), on their own shards. */
  async #release(username: string, externalId: string | null, userId: string, options: CallOptions) {
    const { signal } = options
    const release = (table: 'usernames' | 'user_external_ids', column: string, key: string) =>
      this.#db
        .on(table, key)
        .write(`DELETE FROM {${table}} WHERE ${column} = $1 AND user_id = $2`, [key, userId], { signal })
        .catch(() => {})
    await release('usernames', 'username', username)
    if (externalId !== null) await release('user_external_ids', 'external_id', externalId)
  }

  /**
   * The user behind a username and password, or `E_BAD_CREDENTIALS` (the same for every mistake).
   * Users registered through `/wrk2-api` (those with an external id) never sign in: that surface is
   * unauthenticated, so its accounts must not become `/api/v1` identities.
   */
  async authenticate(username: string, password: string, options: CallOptions = {}): Promise<User> {
    const row = await this.#credentials(username, options)
    if (row) {
      if ((await verifyPassword(password, row.password_hash)) && row.external_id === null) {
        const { password_hash: _, ...user } = row
        return user
      }
    } else {
      // Spend the same time as a real check, so response time does not reveal which usernames exist.
      await verifyPassword(password, unknownUserHash)
    }
    throw new AppError('E_BAD_CREDENTIALS')
  }

  /**
   * Revokes every token the user holds (logout): bumps the token version they were signed with.
   * Returns the new version.
   */
  async revokeTokens(userId: string, options: CallOptions = {}): Promise<number> {
    const { rows } = await this.#db
      .on('users', userId)
      .write<{ token_version: number }>(
        'UPDATE {users} SET token_version = token_version + 1 WHERE user_id = $1 RETURNING token_version',
        [userId],
        options,
      )
    if (!rows[0])
      throw new AppError('E_USER_NOT_FOUND', `no user ${userId}`, { context: { user_id: userId } })
    await this.#cache?.delete(userKey(userId), options)
    return rows[0].token_version
  }

  /** Sets a new password after checking the current one, and revokes every token signed before. */
  async changePassword(
    userId: string,
    current: string,
    next: string,
    options: CallOptions = {},
  ): Promise<number> {
    const { rows } = await this.#db
      .on('users', userId)
      .query<{ password_hash: string }>(
        'SELECT password_hash FROM {users} WHERE user_id = $1',
        [userId],
        options,
      )
    if (!rows[0] || !(await verifyPassword(current, rows[0].password_hash))) {
      throw new AppError('E_BAD_CREDENTIALS', 'the current password is wrong')
    }
    const hash = await hashPassword(next)
    const updated = await this.#db.on('users', userId).write<{ token_version: number }>(
      `UPDATE {users} SET password_hash = $2, token_version = token_version + 1 WHERE user_id = $1
       RETURNING token_version`,
      [userId, hash],
      options,
    )
    await this.#cache?.delete(userKey(userId), options)
    return updated.rows[0]!.token_version
  }

  /**
   * A user's stored credentials by username, read from the primary (a replica only while no primary is
   * known, as a cache loader does): a sign-in acts on them, so a replica's lag must neither refuse a user
   * who has just signed up nor accept a password just changed.
   */
  async #credentials(
    username: string,
    options: CallOptions,
  ): Promise<(User & { password_hash: string }) | undefined> {
    const userId = (await this.#idsByUsername([username], options, 'load')).get(username)
    if (userId === undefined) return undefined
    const { rows } = await this.#db
      .on('users', userId)
      .load<User & { password_hash: string }>(
        `SELECT ${userColumns}, password_hash FROM {users} WHERE user_id = $1`,
        [userId],
        options,
      )
    return rows[0]
  }

  async get(userId: string, options: CallOptions = {}): Promise<User | undefined> {
    if (this.#cache) {
      return this.#cache.getOrLoad(
        userKey(userId),
        async (_key, signal) => {
          const { rows } = await this.#db
            .on('users', userId)
            .load<User>(`SELECT ${userColumns} FROM {users} WHERE user_id = $1`, [userId], {
              signal,
              timing: options.timing,
            })
          return rows[0]
        },
        {
          signal: options.signal,
          bypassL1: options.session?.token !== undefined,
          timing: options.timing,
        },
      )
    }
    const sql = `SELECT ${userColumns} FROM {users} WHERE user_id = $1`
    const shard = this.#db.on('users', userId)
    // `fresh`: the caller acts on what it reads (a token check must see a logout at once).
    const { rows } = options.fresh
      ? await shard.query<User>(sql, [userId], options)
      : await shard.read<User>(sql, [userId], options)
    return rows[0]
  }

  /** The user or `E_USER_NOT_FOUND`. */
  async require(userId: string, options: CallOptions = {}): Promise<User> {
    const user = await this.get(userId, options)
    if (!user) throw new AppError('E_USER_NOT_FOUND', `no user ${userId}`, { context: { user_id: userId } })
    return user
  }

  /** Users by id, for hydrating posts; missing ids are absent from the map. */
  async getMany(userIds: readonly string[], options: CallOptions = {}): Promise<Map<string, User>> {
    const unique = [...new Set(userIds)]
    if (unique.length === 0) return new Map()
    if (this.#cache) {
      const found = await this.#cache.getManyOrLoad<User>(
        unique.map(userKey),
        async (keys, signal) => {
          const ids = keys.map((key) => key.slice('user:'.length))
          const rows = await this.#usersById(ids, 'query', { signal, timing: options.timing })
          return new Map(rows.map((user) => [userKey(user.user_id), user]))
        },
        options,
      )
      return new Map([...found.values()].map((user) => [user.user_id, user]))
    }
    const rows = await this.#usersById(unique, 'read', options)
    return new Map(rows.map((user) => [user.user_id, user]))
  }

  /** Users by id, one statement per physical table holding some of them. */
  async #usersById(ids: readonly string[], kind: 'query' | 'read', options: CallOptions): Promise<User[]> {
    const sql = `SELECT ${userColumns} FROM {users} WHERE user_id = ANY($1::bigint[])`
    const parts = await Promise.all(
      this.#db
        .byShard('users', ids)
        .map(({ statements, keys }) => statements[kind]<User>(sql, [keys], options)),
    )
    return parts.flatMap((part) => part.rows)
  }

  async idByUsername(username: string, options: CallOptions = {}): Promise<string | undefined> {
    return (await this.#idsByUsername([username], options)).get(username)
  }

  /** Users by username, for resolving mentions; unknown names are absent from the map. */
  async getManyByUsername(
    usernames: readonly string[],
    options: CallOptions = {},
  ): Promise<Map<string, User>> {
    if (usernames.length === 0) return new Map()
    const ids = await this.#idsByUsername(usernames, options)
    const users = await this.getMany([...ids.values()], options)
    return new Map([...users.values()].map((user) => [user.username, user]))
  }

  async idByExternalId(externalId: bigint, options: CallOptions = {}): Promise<string | undefined> {
    const sql = 'SELECT user_id FROM {user_external_ids} WHERE external_id = $1'
    const key = externalId.toString()
    const shard = this.#db.on('user_external_ids', key)
    if (this.#cache) {
      return this.#cache.getOrLoad<string>(
        externalIdKey(key),
        async (_key, signal) =>
          (await shard.load<{ user_id: string }>(sql, [key], { signal, timing: options.timing })).rows[0]
            ?.user_id,
        { ...options, ...IMMUTABLE },
      )
    }
    return (await shard.read<{ user_id: string }>(sql, [key], options)).rows[0]?.user_id
  }

  /**
   * Username → user id, through the cache when there is one (the mapping never changes once made; its
   * loader reads the primary). Without a cache, from a replica — or as `load` says.
   */
  async #idsByUsername(
    usernames: readonly string[],
    options: CallOptions,
    uncached: 'load' | 'read' = 'read',
  ): Promise<Map<string, string>> {
    const sql = 'SELECT username, user_id FROM {usernames} WHERE username = ANY($1::text[])'
    type Row = { username: string; user_id: string }
    const lookup = async (names: readonly string[], kind: 'load' | 'read', call: CallOptions) => {
      const parts = await Promise.all(
        this.#db
          .byShard('usernames', names)
          .map(({ statements, keys }) => statements[kind]<Row>(sql, [keys], call)),
      )
      return parts.flatMap((part) => part.rows)
    }
    if (this.#cache) {
      const found = await this.#cache.getManyOrLoad<string>(
        [...new Set(usernames)].map(usernameKey),
        async (keys, signal) => {
          const names = keys.map((key) => key.slice('uname:'.length))
          const rows = await lookup(names, 'load', { signal, timing: options.timing })
          return new Map(rows.map((r) => [usernameKey(r.username), r.user_id]))
        },
        { ...options, ...IMMUTABLE },
      )
      return new Map([...found].map(([key, id]) => [key.slice('uname:'.length), id]))
    }
    const rows = await lookup([...new Set(usernames)], uncached, options)
    return new Map(rows.map((r) => [r.username, r.user_id]))
  }

  async counters(userId: string, options: CallOptions = {}): Promise<UserCounters> {
    const { rows } = await this.#db
      .on('user_counters', userId)
      .read<{ followers: string; following: string; posts: string }>(
        'SELECT followers, following, posts FROM {user_counters} WHERE user_id = $1',
        [userId],
        options,
      )
    const row = rows[0]
    return {
      followers: Number(row?.followers ?? 0),
      following: Number(row?.following ?? 0),
      posts: Number(row?.posts ?? 0),
    }
  }
}
