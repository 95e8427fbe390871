import { randomBytes } from 'node:crypto'
import type { Cache } from '@hundredfold/cache'
import type { Snowflake } from '@hundredfold/id'
import { TokenSigner } from '../domain/token.js'
import type { HomeTimelines } from '../storage/home-timelines.js'
import { MeasuredCache } from '../storage/measured-cache.js'
import type { GeoDialect } from '../storage/schema.js'
import type { Store } from '../storage/store.js'
import type { WriteQueue } from '../storage/write-queue.js'
import { createGeoStore } from './geo-store.js'
import { GraphService } from './graph-service.js'
import { NearbyService } from './nearby-service.js'
import { PostService } from './post-service.js'
import { TimelineService } from './timeline-service.js'
import { UserService } from './user-service.js'
import { WritePath } from './write-path.js'

/** The services, wired in-process. Each is a module with an interface, so a deployment may split it out. */
export interface Services {
  users: UserService
  graph: GraphService
  posts: PostService
  timelines: TimelineService
  /** Compose, follow, unfollow: straight to the database, or through the queue. */
  writes: WritePath
  nearby: NearbyService
  tokens: TokenSigner
  /** Queue messages handled by this process's consumers, by consumer and outcome (for `/metrics`). */
  consumed: Record<'timeline' | 'edges', { acked: number; failed: number }>
  /** The read cache (post bodies, profiles, user timelines), when on. */
  cache: Cache | undefined
}

export async function createServices(
  db: Store,
  options: {
    geo: GeoDialect
    ids: Snowflake
    tokenTtlSeconds: number
    /** Keys that sign (the first) and verify tokens; unset: one made on first start and kept in the database. */
    tokenKeys?: readonly Buffer[]
    cache?: Cache
    /** With a queue: writes go through it, and home timelines are kept by fan-out in `homes`. */
    queue?: WriteQueue
    homes?: HomeTimelines
    maxBacklog?: number
    signal?: AbortSignal
  },
): Promise<Services> {
  const { ids, cache } = options
  // What the services hold: the store and the cache, each adding to a request's stage timing.
  const reads = cache ? new MeasuredCache(cache) : undefined
  const geo = createGeoStore(db, options.geo)
  const users = new UserService(db, ids, reads)
  const graph = new GraphService(db)
  const posts = new PostService(db, ids, users, geo, reads)
  const keys = options.tokenKeys?.length ? options.tokenKeys : [await tokenSecret(db, options.signal)]
  return {
    users,
    graph,
    posts,
    timelines: new TimelineService(posts, graph, options.queue ? options.homes : undefined),
    writes: new WritePath(posts, graph, {
      queue: options.queue,
      homes: options.queue ? options.homes : undefined,
      ...(options.maxBacklog === undefined ? {} : { maxBacklog: options.maxBacklog }),
    }),
    nearby: new NearbyService(geo, posts),
    tokens: new TokenSigner(keys, options.tokenTtlSeconds),
    consumed: { timeline: { acked: 0, failed: 0 }, edges: { acked: 0, failed: 0 } },
    cache,
  }
}

/**
 * The embedded default's token key: made once and shared by every process through the database. A
 * deployment sets `HF_TOKEN_SECRET` instead, so the key is not in every replica and backup.
 */
async function tokenSecret(db: Store, signal?: AbortSignal): Promise<Buffer> {
  const options = signal ? { signal } : {}
  const shard = db.on('app_secrets', 'token-hmac')
  await shard.write(
    'INSERT INTO {app_secrets} (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    ['token-hmac', randomBytes(32).toString('base64url')],
    options,
  )
  // On the primary: a replica may not have replayed the schema, let alone the row, yet.
  const { rows } = await shard.query<{ value: string }>(
    'SELECT value FROM {app_secrets} WHERE name = $1',
    ['token-hmac'],
    options,
  )
  return Buffer.from(rows[0]!.value, 'base64url')
}
