import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import type { GraphService } from '../src/services/graph-service.js'
import type { PostService } from '../src/services/post-service.js'
import { MAX_CONCURRENT_REBUILDS, TimelineService } from '../src/services/timeline-service.js'
import { memoryHomeTimelines } from '../src/storage/home-timelines-memory.js'

describe('home timeline rebuilds', () => {
  it(`run at most ${MAX_CONCURRENT_REBUILDS} at once; other cold readers are served by the page query`, async () => {
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    // Every source query waits at the gate, so rebuilds pile up as they would on a slow database.
    const graph = { followees: async () => (await gate, ['9']) } as unknown as GraphService
    const posts = {
      mentioning: async () => [],
      keysByAuthors: async () => [{ post_id: '100', author_id: '9' }],
      getMany: async (keys: Array<{ post_id: string }>) => keys.map((k) => ({ post_id: k.post_id })),
    } as unknown as PostService
    const timelines = new TimelineService(posts, graph, memoryHomeTimelines({ max: 50 }))
    const readers = MAX_CONCURRENT_REBUILDS + 3
    const pages = Array.from({ length: readers }, (_, i) => timelines.home(String(i + 1), { limit: 10 }))
    await sleep(10)
    expect(timelines.homeReads.deferred).toBe(3)
    open()
    for (const page of await Promise.all(pages)) expect(page).toEqual([{ post_id: '100' }])
    expect(timelines.homeReads).toMatchObject({ rebuild: MAX_CONCURRENT_REBUILDS, deferred: 3 })
    // A deferred timeline is still cold: its next reader rebuilds it.
    await timelines.home(String(readers), { limit: 10 })
    expect(timelines.homeReads.rebuild).toBe(MAX_CONCURRENT_REBUILDS + 1)
  })
})
