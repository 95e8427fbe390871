import { Redis } from 'ioredis'
import {
  BUILD_TIMEOUT_MS,
  type Delivery,
  decodeEntry,
  encodeEntry,
  type HomeTimelines,
  type StoredPage,
  TIMELINE_TTL_MS,
  type TimelineEntry,
} from './home-timelines.js'

/*
 * One sorted set per user, every score 0, so members sort by bytes:
 *   '!<expiry ms>:<token>'  a build in progress (sorts first: '!' < '$' < '0')
 *   '$'                     the timeline is built (warm)
 *   '<19-digit post id>:<author id>'  an entry
 * Each operation is one script, so it sees and changes the set atomically.
 */
const CAP = `
local function cap(key, max)
  if redis.call('ZCARD', key) <= max then return end
  local excess = redis.call('ZLEXCOUNT', key, '[0', '+') - max
  if excess > 0 then
    local head = redis.call('ZLEXCOUNT', key, '-', '(0')
    redis.call('ZREMRANGEBYRANK', key, head, head + excess - 1)
  end
end
local function zadd(key, from, to)
  for i = from, to, 500 do
    local args = {}
    for j = i, math.min(i + 499, to) do
      args[#args + 1] = 0
      args[#args + 1] = ARGV[j]
    end
    redis.call('ZADD', key, unpack(args))
  end
end
`

/** ARGV: upper bound ('+' or '(<id>'), offset, limit → false when cold or building, else {count, members}. */
const READ = `
local built = false
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '-', '(0')) do
  if m == '$' then built = true else return false end
end
if not built then return false end
local count = redis.call('ZLEXCOUNT', KEYS[1], '[0', '+')
return {count, redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[1], '[0', 'LIMIT', ARGV[2], ARGV[3])}
`

/**
 * ARGV: now (ms), sentinel, ttl → 1 when a build was begun, 0 when the timeline is warm or another live
 * build is under way (one builder at a time: readers meanwhile answer from the database).
 */
const BEGIN = `
local built, building = false, false
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '-', '(0')) do
  if m == '$' then built = true
  else
    local expiry = tonumber(string.match(m, '^!(%d+):'))
    if expiry ~= nil and expiry < tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], m) else building = true end
  end
end
if built or building then return 0 end
redis.call('ZADD', KEYS[1], 0, ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

/** ARGV: sentinel, max, ttl, members… → 1 when merged, 0 when the build was voided. */
const FINISH = `${CAP}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], 0, '$')
zadd(KEYS[1], 4, #ARGV)
cap(KEYS[1], tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

/**
 * KEYS: timelines; ARGV: max, then per key its member count and members → how many timelines were added
 * to. A cold timeline is skipped (left for its reader to build). One call for many timelines: a post
 * fans out to dozens of followers, and a script call costs more than the commands in it.
 */
const ADD = `${CAP}
local max = tonumber(ARGV[1])
local at, added = 2, 0
for k = 1, #KEYS do
  local n = tonumber(ARGV[at])
  if redis.call('EXISTS', KEYS[k]) == 1 then
    zadd(KEYS[k], at + 1, at + n)
    cap(KEYS[k], max)
    added = added + 1
  end
  at = at + 1 + n
end
return added
`

/** Timelines per ADD call: bounds one script's run (Redis does nothing else meanwhile). */
const ADD_KEYS_PER_CALL = 64

interface Scripts {
  hfHomeRead(key: string, bound: string, offset: number, limit: number): Promise<[number, string[]] | null>
  hfHomeBegin(key: string, now: number, sentinel: string, ttl: number): Promise<number>
  hfHomeFinish(key: string, sentinel: string, max: number, ttl: number, ...members: string[]): Promise<number>
  hfHomeAdd(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>
}

export interface RedisHomeTimelinesOptions {
  /** A `redis://` URL (a connection is opened and closed here) or an ioredis client (left open). */
  connection: string | Redis
  max: number
  /** @default 'hf:mb:home:' */
  prefix?: string
}

/**
 * Home timelines in Redis sorted sets, shared by every process.
 *
 * @example
 * const timelines = redisHomeTimelines({ connection: 'redis://127.0.0.1:6379', max: 800 })
 * await timelines.add([{ userId: '7', entries: [{ post_id: '123', author_id: '9' }] }])
 */
export function redisHomeTimelines(options: RedisHomeTimelinesOptions): HomeTimelines {
  const owned = typeof options.connection === 'string'
  // While Redis is down a command fails within one reconnect delay (≤ 500 ms) or its timeout, so
  // readers degrade to the database quickly and consumers pause; it never queues for ever.
  const redis =
    typeof options.connection === 'string'
      ? new Redis(options.connection, {
          maxRetriesPerRequest: 1,
          commandTimeout: 2000,
          retryStrategy: (times) => Math.min(times * 50, 500),
        })
      : options.connection
  if (owned) redis.on('error', () => {}) // each command's caller gets its error
  redis.defineCommand('hfHomeRead', { numberOfKeys: 1, lua: READ })
  redis.defineCommand('hfHomeBegin', { numberOfKeys: 1, lua: BEGIN })
  redis.defineCommand('hfHomeFinish', { numberOfKeys: 1, lua: FINISH })
  redis.defineCommand('hfHomeAdd', { lua: ADD })
  const scripts = redis as unknown as Redis & Scripts
  const prefix = options.prefix ?? 'hf:mb:home:'
  const { max } = options
  const key = (userId: string) => `${prefix}${userId}`

  return {
    max,
    async read(userId, page, signal): Promise<StoredPage | undefined> {
      signal?.throwIfAborted()
      const bound = page.before === undefined ? '+' : `(${page.before.toString().padStart(19, '0')}`
      const got = await scripts.hfHomeRead(key(userId), bound, page.offset, page.limit)
      if (!got) return undefined
      return { entries: got[1].map(decodeEntry), truncated: got[0] >= max }
    },
    async add(deliveries: readonly Delivery[], signal) {
      signal?.throwIfAborted()
      const nonEmpty = deliveries.filter((d) => d.entries.length > 0)
      const calls: Promise<number>[] = []
      for (let i = 0; i < nonEmpty.length; i += ADD_KEYS_PER_CALL) {
        const chunk = nonEmpty.slice(i, i + ADD_KEYS_PER_CALL)
        const args: (string | number)[] = [max]
        for (const { entries } of chunk) args.push(entries.length, ...entries.map(encodeEntry))
        calls.push(scripts.hfHomeAdd(chunk.length, ...chunk.map((d) => key(d.userId)), ...args))
      }
      // Usually one call (a post rarely reaches more than 64 warm timelines); several are sent back to back.
      await Promise.all(calls)
    },
    async beginBuild(userId, signal) {
      signal?.throwIfAborted()
      const now = Date.now()
      const sentinel = `!${now + BUILD_TIMEOUT_MS}:${Math.random().toString(36).slice(2)}`
      const begun = await scripts.hfHomeBegin(key(userId), now, sentinel, TIMELINE_TTL_MS)
      return begun === 1 ? sentinel : undefined
    },
    async finishBuild(userId, token, entries: readonly TimelineEntry[], signal) {
      signal?.throwIfAborted()
      const members = entries.map(encodeEntry)
      return (await scripts.hfHomeFinish(key(userId), token, max, TIMELINE_TTL_MS, ...members)) === 1
    },
    async invalidate(userIds, signal) {
      signal?.throwIfAborted()
      if (userIds.length === 0) return
      const pipeline = redis.pipeline()
      for (const userId of userIds) pipeline.del(key(userId))
      await pipeline.exec()
    },
    async ping(signal) {
      signal?.throwIfAborted()
      await redis.ping()
    },
    async dump(userId, signal) {
      signal?.throwIfAborted()
      const got = await scripts.hfHomeRead(key(userId), '+', 0, max + 1)
      return got ? got[1].map(decodeEntry) : undefined
    },
    async close() {
      if (owned) await redis.quit().catch(() => redis.disconnect())
    },
  }
}
