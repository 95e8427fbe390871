/** A link found in a post: its host (lower case, `www.` removed, IDNs in punycode) and its TLD. */
export interface FoundUrl {
  readonly host: string
  readonly tld: string
}

// Links with a scheme or `www.`, and bare domains (`cheap-pills.ru/buy`) whose TLD is a common one, so
// that `fun.then` in a sentence typed without a space is not a link.
const withScheme = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/giu
const bareTlds =
  'com|net|org|io|co|ru|biz|info|xyz|top|click|online|site|live|win|icu|me|uk|de|fr|ly|gd|gl|cc|app|dev|shop|bet|date|loan|work|tk|ml|gq|cf|ga|store|vip|pro|club|buzz|rest|us|in|cn'
const bare = new RegExp(
  String.raw`(?<![\p{L}\p{N}@./:-])(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+(?:${bareTlds})(?![\p{L}\p{N}-])(?:/[^\s<>"'${'`'}]*)?`,
  'giu',
)

/**
 * The links in `text` (NFKC, lower case), with their hosts parsed by WHATWG URL rules, as a browser would
 * open them. Not a validator: what a browser cannot open is left out.
 *
 * @example
 * extractUrls('see www.Example.com and cheap-pills.ru/x').map((u) => u.host) // ['example.com', 'cheap-pills.ru']
 */
export function extractUrls(text: string): FoundUrl[] {
  const found: FoundUrl[] = []
  const add = (raw: string) => {
    const href = /^https?:\/\//i.test(raw) ? raw : `http://${raw}`
    if (!URL.canParse(href)) return
    let host = new URL(href).hostname.replace(/\.$/, '')
    if (host.startsWith('www.')) host = host.slice(4)
    if (!host.includes('.')) return
    found.push({ host, tld: host.slice(host.lastIndexOf('.') + 1) })
  }
  for (const match of text.matchAll(withScheme)) add(match[0])
  for (const match of text.replace(withScheme, ' ').matchAll(bare)) add(match[0])
  return found
}
