import { describe, expect, it } from 'vitest'
import { hasWrk2PostText, wrk2PostJson, wrk2PostText } from '../src/http/views.js'
import type { Post, User } from '../src/services/types.js'

const post: Post = {
  post_id: '386324164438421698',
  author_id: '386324164438421001',
  req_id: '7411902402472846150',
  post_type: 0,
  text: 'hello @username_1 http://short-url/abcdefghij',
  mentions: [{ user_id: '386324164438421002', username: 'username_1', external_id: '1' }],
  urls: [{ shortened_url: 'http://short-url/abcdefghij', expanded_url: 'http://example.com' }],
  media: [{ media_id: '123456789012345678', media_type: 'png' }],
  latitude: null,
  longitude: null,
  created_at: new Date('2026-12-02T01:00:00Z'),
}
const author = {
  user_id: post.author_id,
  username: 'username_0',
  external_id: '0',
} as User

describe('wrk2 post text', () => {
  it('is the JSON of the DeathStarBench view, kept for the post object once its author is known', () => {
    const copy = { ...post }
    expect(JSON.parse(wrk2PostText(copy, undefined))).toEqual(wrk2PostJson(copy, undefined))
    expect(hasWrk2PostText(copy)).toBe(false) // without its author: not kept
    const text = wrk2PostText(copy, author)
    expect(JSON.parse(text)).toEqual(wrk2PostJson(copy, author))
    expect(hasWrk2PostText(copy)).toBe(true)
    expect(wrk2PostText(copy, undefined)).toBe(text)
    expect(hasWrk2PostText({ ...post })).toBe(false) // another object (an L2 copy) is serialized afresh
  })
})
