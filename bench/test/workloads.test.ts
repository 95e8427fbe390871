import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkText, defaultAntispamModel } from '../../apps/microblog/src/antispam/index.js'
import { generateGraph, REED98, readGraph, resolveGraph } from '../src/dataset/graph.js'
import { isEmptyPage } from '../src/loadgen/request.js'
import { DEFAULT_DATASET_DIR } from '../src/paths.js'
import { createRandom } from '../src/random.js'
import { apiSource } from '../src/workloads/api.js'
import { apiPostText } from '../src/workloads/api-post-text.js'
import { DSB_MIX, dsbComposeForm, dsbSource, dsbTimelineRead } from '../src/workloads/dsb.js'

describe('DeathStarBench workload', () => {
  it('reads a uniform user in 0…961 with start in 0…100 and stop = start + 10', () => {
    const random = createRandom(3)
    for (let i = 0; i < 2000; i++) {
      const spec = dsbTimelineRead(i % 2 ? 'home' : 'user', random, 962)
      const url = new URL(spec.path, 'http://x')
      expect(url.pathname).toBe(i % 2 ? '/wrk2-api/home-timeline/read' : '/wrk2-api/user-timeline/read')
      const userId = Number(url.searchParams.get('user_id'))
      const start = Number(url.searchParams.get('start'))
      expect(userId).toBeGreaterThanOrEqual(0)
      expect(userId).toBeLessThanOrEqual(961)
      expect(start).toBeGreaterThanOrEqual(0)
      expect(start).toBeLessThanOrEqual(100)
      expect(Number(url.searchParams.get('stop'))).toBe(start + 10)
      expect(spec.page).toBe(true)
    }
  })

  it('composes posts as compose-post.lua does', () => {
    const random = createRandom(5)
    for (let i = 0; i < 500; i++) {
      const form = dsbComposeForm(random, 962, 17)
      expect(form.get('username')).toBe('username_17')
      expect(form.get('user_id')).toBe('17')
      expect(form.get('post_type')).toBe('0')
      const text = form.get('text') ?? ''
      expect(text.slice(0, 256)).toMatch(/^[A-Za-z0-9]{256}$/)
      const mentions = [...text.matchAll(/ @username_(\d+)/g)].map((m) => Number(m[1]))
      expect(mentions.length).toBeGreaterThanOrEqual(1)
      expect(mentions.length).toBeLessThanOrEqual(6)
      expect(mentions).not.toContain(17)
      const urls = [...text.matchAll(/ http:\/\/([A-Za-z0-9]+)/g)].map((m) => m[1])
      expect(urls.length).toBeGreaterThanOrEqual(1)
      expect(urls.length).toBeLessThanOrEqual(6)
      for (const url of urls) expect(url).toHaveLength(64)
      const ids = JSON.parse(form.get('media_ids') ?? '') as string[]
      const types = JSON.parse(form.get('media_types') ?? '') as string[]
      expect(ids.length).toBeGreaterThanOrEqual(1)
      expect(ids.length).toBeLessThanOrEqual(5)
      for (const id of ids) expect(id).toMatch(/^[1-9]\d{17}$/)
      expect(types).toEqual(ids.map(() => 'png'))
    }
  })

  it('mixes 60% home, 30% user, 10% compose', () => {
    const source = dsbSource(DSB_MIX, 962)
    const random = createRandom(11)
    const counts: Record<string, number> = { home: 0, user: 0, compose: 0 }
    const n = 20_000
    for (let i = 0; i < n; i++) counts[source(random).endpoint]! += 1
    expect(counts['home']! / n).toBeCloseTo(0.6, 1)
    expect(counts['user']! / n).toBeCloseTo(0.3, 1)
    expect(counts['compose']! / n).toBeCloseTo(0.1, 1)
  })

  it('sends the api mix with bearer tokens', () => {
    const sessions = [0, 1, 2].map((index) => ({ index, userId: String(1000 + index), token: `t${index}` }))
    const source = apiSource(DSB_MIX, sessions)
    const random = createRandom(2)
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const spec = source(random)
      seen.add(spec.endpoint)
      expect(spec.headers?.['authorization']).toMatch(/^Bearer t[012]$/)
      if (spec.endpoint === 'user') expect(spec.path).toMatch(/^\/api\/v1\/users\/100[012]\/posts\?limit=10$/)
      if (spec.endpoint === 'home') expect(spec.path).toBe('/api/v1/timeline?limit=10')
      if (spec.endpoint === 'compose')
        expect(JSON.parse(spec.body ?? '{}').text).toMatch(/^[a-z].* @username_\d+/)
    }
    expect(seen).toEqual(new Set(['home', 'user', 'compose']))
  })

  it('recognises empty pages', () => {
    expect(isEmptyPage('[]')).toBe(true)
    expect(isEmptyPage(' [] ')).toBe(true)
    expect(isEmptyPage('{"items":[],"next":null}')).toBe(true)
    expect(isEmptyPage('[{"post_id":"1"}]')).toBe(false)
    expect(isEmptyPage('{"items":[{"id":"1"}]}')).toBe(false)
  })
})

describe('social graph', () => {
  it('generates a graph of socfb-Reed98 size without self-loops or duplicates', () => {
    const graph = generateGraph(REED98.users, REED98.edges, 1)
    expect(graph.users).toBe(962)
    expect(graph.edges).toHaveLength(18_812)
    const keys = new Set(graph.edges.map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`))
    expect(keys.size).toBe(18_812)
    for (const [a, b] of graph.edges) {
      expect(a).not.toBe(b)
      expect(Math.max(a, b)).toBeLessThan(962)
    }
  })

  it('falls back to a generated graph when the folder is absent', async () => {
    const graph = await resolveGraph('/nonexistent/socfb-Reed98', { generate: false, seed: 1 })
    expect(graph.source).toBe('generated')
    expect(graph.edges).toHaveLength(REED98.edges)
  })

  it.skipIf(!existsSync(DEFAULT_DATASET_DIR))('reads socfb-Reed98 from the shared datasets', async () => {
    const graph = await readGraph(DEFAULT_DATASET_DIR)
    expect(graph.users).toBe(962)
    expect(graph.edges).toHaveLength(18_812)
  })
})

describe('apiPostText', () => {
  it("reads as ham to the microblog's own antispam model, which refuses spam on /api/v1/posts", () => {
    const model = defaultAntispamModel()
    const random = createRandom(3)
    const texts = Array.from({ length: 5000 }, (_, i) => apiPostText(random, 962, i % 962))
    expect(texts.filter((text) => checkText(text, model).spam)).toEqual([])
    expect(texts.every((text) => /@username_\d+/.test(text))).toBe(true)
  })
})
