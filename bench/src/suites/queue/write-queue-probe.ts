import type { Redis } from 'ioredis'

/**
 * The microblog's queue as the bench sees it from outside: its stream and durable consumer names
 * (`apps/microblog/src/storage/write-queue.ts`), read-only backlog figures, and cleanup after a run.
 * The names, backlog and cleanup live in `target/app-queue.ts` (the full-system target uses them too).
 */
export {
  backlogOf,
  cleanUpNamespace,
  type DrainOutcome,
  EDGES_CONSUMER,
  followsStream,
  postsStream,
  TIMELINE_CONSUMER,
  waitForDrain,
} from '../../target/app-queue.js'
export { natsServerInfo } from '../../target/service-probes.js'

/** The Redis key of a user's home timeline (`hf:<namespace>:home:<internal user id>`). */
export const homeKey = (namespace: string, userId: string): string => `hf:${namespace}:home:${userId}`
/** A timeline entry as a sorted-set member: the post id zero-padded to 19 digits, then the author. */
export const homeMember = (postId: string, authorId: string): string =>
  `${postId.padStart(19, '0')}:${authorId}`
/** The member that marks a home timeline as built (warm). */
export const WARM_MARK = '$'

/** The Redis server's version and mode from `INFO server`. */
export async function redisServerInfo(redis: Redis): Promise<Record<string, unknown>> {
  const text = await redis.info('server')
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim()
  return { server: 'redis', version: field('redis_version'), mode: field('redis_mode') }
}
