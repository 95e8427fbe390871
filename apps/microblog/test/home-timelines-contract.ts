import { afterEach, beforeEach, expect, it } from 'vitest'
import type { HomeTimelines, TimelineEntry } from '../src/storage/home-timelines.js'

let next = 1_000_000_000_000n
/** Fresh, increasing post ids (as Snowflake ids are) and a fresh user per call. */
const id = () => (next++).toString()
const entry = (author = '42'): TimelineEntry => ({ post_id: id(), author_id: author })
const page = { offset: 0, limit: 100 }

/** The rules every home-timeline store keeps; run against the in-process and the Redis store. */
export function homeTimelinesContract(make: (max: number) => HomeTimelines): void {
  // Each test gets a store of its own holding at most 10 entries per timeline.
  let store: HomeTimelines
  beforeEach(() => {
    store = make(10)
  })
  afterEach(() => store.close())

  it('reads a never-built timeline as cold, and fan-out leaves it cold', async () => {
    const user = id()
    expect(await store.read(user, page)).toBeUndefined()
    await store.add([{ userId: user, entries: [entry()] }])
    expect(await store.read(user, page)).toBeUndefined()
  })

  it('builds a timeline, serves it newest first, and takes fan-out after', async () => {
    const user = id()
    const [a, b, c] = [entry(), entry(), entry()]
    const token = await store.beginBuild(user)
    expect(token).toBeDefined()
    expect(await store.finishBuild(user, token!, [a, b])).toBe(true)
    expect(await store.beginBuild(user)).toBeUndefined() // warm
    await store.add([{ userId: user, entries: [c] }])
    expect(await store.read(user, page)).toEqual({ entries: [c, b, a], truncated: false })
    expect(await store.read(user, { before: BigInt(c.post_id), offset: 0, limit: 1 })).toEqual({
      entries: [b],
      truncated: false,
    })
    expect(await store.read(user, { offset: 1, limit: 5 })).toEqual({ entries: [b, a], truncated: false })
  })

  it('keeps an empty timeline warm', async () => {
    const user = id()
    const token = await store.beginBuild(user)
    expect(await store.finishBuild(user, token!, [])).toBe(true)
    expect(await store.read(user, page)).toEqual({ entries: [], truncated: false })
  })

  it('takes fan-out while building, so a post stored during the build is not lost', async () => {
    const user = id()
    const old = entry()
    const token = await store.beginBuild(user)
    expect(await store.read(user, page)).toBeUndefined() // building reads as cold
    const during = entry()
    await store.add([{ userId: user, entries: [during] }])
    expect(await store.finishBuild(user, token!, [old])).toBe(true)
    expect((await store.read(user, page))!.entries).toEqual([during, old])
  })

  it('lets one reader build at a time: a second beginBuild during a live build gets no token', async () => {
    const user = id()
    const first = await store.beginBuild(user)
    expect(first).toBeDefined()
    expect(await store.beginBuild(user)).toBeUndefined()
    expect(await store.finishBuild(user, first!, [])).toBe(true)
    expect(await store.beginBuild(user)).toBeUndefined() // warm
  })

  it('drops a build voided by an invalidation, and the next build wins', async () => {
    const user = id()
    const stale = await store.beginBuild(user)
    await store.invalidate([user])
    const fresh = await store.beginBuild(user)
    expect(fresh).toBeDefined()
    expect(fresh).not.toBe(stale)
    expect(await store.finishBuild(user, stale!, [entry()])).toBe(false)
    expect(await store.read(user, page)).toBeUndefined()
    const good = entry()
    expect(await store.finishBuild(user, fresh!, [good])).toBe(true)
    expect((await store.read(user, page))!.entries).toEqual([good])
  })

  it('caps each timeline at its newest max entries and says so', async () => {
    const user = id()
    const all = Array.from({ length: 25 }, () => entry())
    const token = await store.beginBuild(user)
    await store.finishBuild(user, token!, all.slice(0, 15))
    await store.add([{ userId: user, entries: all.slice(15) }])
    const got = await store.read(user, page)
    expect(got!.entries).toEqual(all.slice(15).reverse())
    expect(got!.truncated).toBe(true)
  })

  it('keeps one entry per post however often it is delivered', async () => {
    const user = id()
    const e = entry()
    const token = await store.beginBuild(user)
    await store.finishBuild(user, token!, [e])
    await store.add([{ userId: user, entries: [e] }])
    await store.add([
      { userId: user, entries: [e] },
      { userId: user, entries: [e] },
    ])
    expect((await store.read(user, page))!.entries).toEqual([e])
    expect(await store.dump(user)).toEqual([e])
  })

  it('delivers to many timelines in one call', async () => {
    const users = [id(), id(), id()]
    for (const user of users.slice(0, 2)) await store.finishBuild(user, (await store.beginBuild(user))!, [])
    const e = entry()
    await store.add(users.map((userId) => ({ userId, entries: [e] })))
    expect(await store.dump(users[0]!)).toEqual([e])
    expect(await store.dump(users[1]!)).toEqual([e])
    expect(await store.dump(users[2]!)).toBeUndefined()
  })

  it('honours an aborted signal', async () => {
    const signal = AbortSignal.abort(new Error('stop'))
    await expect(store.read(id(), page, signal)).rejects.toThrow('stop')
  })
}
