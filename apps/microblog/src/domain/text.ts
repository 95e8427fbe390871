import { randomInt } from 'node:crypto'

// DeathStarBench's text-service patterns, so its workload's mentions and URLs are found the same way;
// the URL class also takes / ? # : ; , @ so that paths and queries stay part of the URL.
const urlPattern = /(http:\/\/|https:\/\/)([a-zA-Z0-9_!~*'().&=+$%/?#:;,@-]+)/g
const mentionPattern = /@([a-zA-Z0-9_-]+)/g
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** A URL found in a post, and the short form the text carries instead. */
export interface PostUrl {
  shortened_url: string
  expanded_url: string
}

/** The usernames a text mentions, in order of first appearance, without duplicates. */
export function extractMentions(text: string): string[] {
  const names = new Set<string>()
  for (const match of text.matchAll(mentionPattern)) names.add(match[1]!)
  return [...names]
}

/** Finds URLs and replaces each with a short one (`http://short-url/<10 chars>`), as DeathStarBench does. */
export function shortenUrls(text: string): { text: string; urls: PostUrl[] } {
  const urls: PostUrl[] = []
  const replaced = text.replace(urlPattern, (expanded) => {
    const shortened = `http://short-url/${randomString(10)}`
    urls.push({ shortened_url: shortened, expanded_url: expanded })
    return shortened
  })
  return { text: replaced, urls }
}

function randomString(length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)]
  return out
}
