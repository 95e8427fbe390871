import { withinOneEdit } from './edit-distance.js'
import type { FoundUrl } from './extract-urls.js'
import {
  blocklistedDomains,
  distinctiveSpamWords,
  spamPhrases,
  spamWords,
  suspiciousTlds,
  urlShorteners,
} from './lexicon.js'
import type { NormalizedText } from './normalize-text.js'

/** What every rule reads: the post as sent, its normalized views, and its links. */
export interface RuleInput {
  readonly text: string
  readonly normalized: NormalizedText
  readonly urls: readonly FoundUrl[]
}

/**
 * A named test on a post. When it fires, its `weight` is added to the classifier's log-odds, so one
 * strong rule (a blocklisted domain) can outvote the classifier, and a weak one (a phone number) only
 * tips a post the classifier is unsure of.
 */
export interface AntispamRule {
  /** Stable, kebab-case: what the verdict's `rules` lists. */
  readonly name: string
  /** Log-odds added when it fires. */
  readonly weight: number
  fires(input: RuleInput): boolean
}

const blocklist = new Set(blocklistedDomains)
const shorteners = new Set(urlShorteners)
const badTlds = new Set(suspiciousTlds)
const lexicon = new Set(spamWords)
const wordPattern = /[\p{L}\p{N}]+/gu
const letterPattern = /\p{L}/gu
const upperPattern = /\p{Lu}/gu
const repeated = /(.)\1{4,}/su
const phoneCandidate =
  /(?<![\p{L}\p{N}+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d[\d\s.-]{6,16}\d(?![\p{L}\p{N}])/gu
const isoDate = /^\d{4}[-.]\d{2}[-.]\d{2}\b/
const phrases = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${spamPhrases.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`,
  'u',
)
const moneyBait = [
  /\$\s?\d[\d,.]*\s*k?\s*(?:\/|per|a|an|every)\s*(?:day|week|hour|hr|month)\b/u,
  /\b\d+(?:\.\d+)?\s?%\s*(?:daily|weekly|monthly|returns?|roi|profit)\b/u,
  /\b(?:turn|double|triple|multiply)\s+(?:your\s+)?\$?\d/u,
]
const wallets = [
  /(?<![\p{L}\p{N}])[13][a-km-zA-HJ-NP-Z1-9]{25,34}(?![\p{L}\p{N}])/u,
  /(?<![\p{L}\p{N}])bc1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{38,58}(?![\p{L}\p{N}])/iu,
  /(?<![\p{L}\p{N}])0x[0-9a-f]{40}(?![\p{L}\p{N}])/iu,
]
const latin = /\p{Script=Latin}/u
const lookAlikeScripts = /[\p{Script=Cyrillic}\p{Script=Greek}]/u
const styledLetters =
  /[\u{1d400}-\u{1d7ff}\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u24b6-\u24e9\u{1f130}-\u{1f189}ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ]/u
const invisibleInWord = /[\p{L}\p{N}](?:\u034f|[\u00ad\u180e\u200b-\u200d\u2060\ufeff])+[\p{L}\p{N}]/u

/**
 * The rules, in the order the verdict lists them.
 *
 * | name | fires when |
 * | --- | --- |
 * | `blocklisted-domain` | a link is on a blocklisted host or a subdomain of one |
 * | `obfuscated-word` | a spam word appears only once leet-speak, look-alikes, spacing or a misspelling are undone |
 * | `crypto-wallet` | a Bitcoin or Ethereum address |
 * | `mixed-script` | a word mixes Latin letters with Cyrillic or Greek look-alikes |
 * | `invisible-chars` | an invisible character inside a word |
 * | `spam-phrase` | a phrase almost only spam uses (`buy now`, `no prescription`) |
 * | `money-bait` | an income per period, a percentage of returns, "double your $" |
 * | `many-urls` | three links or more |
 * | `url-shortener` | a link through a shortener |
 * | `suspicious-tld` | a link on a TLD mostly registered for abuse |
 * | `phone-number` | a phone number (9–15 digits, with a `+`, brackets or separators) |
 * | `styled-letters` | mathematical, fullwidth, circled or small-capital letters |
 * | `repeated-chars` | one character five times or more in a row |
 * | `shouting` | at least 12 letters, 70 % or more of them capitals |
 */
export const antispamRules: readonly AntispamRule[] = Object.freeze([
  {
    name: 'blocklisted-domain',
    weight: 4,
    fires: ({ urls }) => urls.some(({ host }) => onList(host, blocklist)),
  },
  { name: 'obfuscated-word', weight: 2.5, fires: ({ normalized }) => hiddenSpamWords(normalized).length > 0 },
  {
    name: 'crypto-wallet',
    weight: 2.5,
    fires: ({ normalized }) => wallets.some((w) => w.test(normalized.folded)),
  },
  { name: 'mixed-script', weight: 2, fires: ({ normalized }) => mixesScripts(normalized.plain) },
  { name: 'invisible-chars', weight: 2, fires: ({ text }) => invisibleInWord.test(text) },
  { name: 'spam-phrase', weight: 1.5, fires: ({ normalized }) => phrases.test(normalized.unfolded) },
  {
    name: 'money-bait',
    weight: 1.5,
    fires: ({ normalized }) => moneyBait.some((m) => m.test(normalized.unfolded)),
  },
  { name: 'many-urls', weight: 1.5, fires: ({ urls }) => urls.length >= 3 },
  { name: 'url-shortener', weight: 1, fires: ({ urls }) => urls.some(({ host }) => shorteners.has(host)) },
  { name: 'suspicious-tld', weight: 1, fires: ({ urls }) => urls.some(({ tld }) => badTlds.has(tld)) },
  { name: 'phone-number', weight: 1, fires: ({ normalized }) => hasPhoneNumber(normalized.plain) },
  { name: 'styled-letters', weight: 1, fires: ({ text }) => styledLetters.test(text) },
  { name: 'repeated-chars', weight: 1, fires: ({ normalized }) => repeated.test(normalized.plain) },
  { name: 'shouting', weight: 1, fires: ({ text }) => isShouting(text) },
])

/**
 * Spam words the post hides: found among the unfolded words (exactly, as a plural, or — for the
 * distinctive ones — one edit away) but not among the plain words. `VIAGRA` is honest; `v1agra`,
 * `v i a g r a` and `viagrra` are not.
 *
 * @example
 * hiddenSpamWords(normalizeText('cheap v1agra')) // ['viagra']
 */
export function hiddenSpamWords(normalized: NormalizedText): string[] {
  const honest = new Set<string>()
  for (const word of normalized.plain.match(wordPattern) ?? []) {
    const hit = lexiconWord(word, false)
    if (hit) honest.add(hit)
  }
  const hidden = new Set<string>()
  for (const word of normalized.unfolded.match(wordPattern) ?? []) {
    const hit = lexiconWord(word, true)
    if (hit && !honest.has(hit)) hidden.add(hit)
  }
  return [...hidden]
}

function lexiconWord(word: string, fuzzy: boolean): string | undefined {
  if (lexicon.has(word)) return word
  if (word.endsWith('s') && lexicon.has(word.slice(0, -1))) return word.slice(0, -1)
  if (!fuzzy || word.length < 5) return undefined
  for (const spam of distinctiveSpamWords) {
    if (withinOneEdit(word, spam)) return spam
  }
  return undefined
}

function onList(host: string, list: ReadonlySet<string>): boolean {
  for (let at = 0; at !== -1; at = host.indexOf('.', at + 1)) {
    if (list.has(at === 0 ? host : host.slice(at + 1))) return true
  }
  return false
}

function mixesScripts(plain: string): boolean {
  if (!lookAlikeScripts.test(plain)) return false
  for (const word of plain.match(wordPattern) ?? []) {
    if (latin.test(word) && lookAlikeScripts.test(word)) return true
  }
  return false
}

function hasPhoneNumber(plain: string): boolean {
  for (const match of plain.matchAll(phoneCandidate)) {
    if (isoDate.test(match[0])) continue
    const digits = match[0].replace(/\D/g, '').length
    const separated = /[\s.()-]/.test(match[0]) || match[0].startsWith('+')
    if (digits >= 9 && digits <= 15 && separated) return true
  }
  return false
}

function isShouting(text: string): boolean {
  const letters = count(text, letterPattern)
  return letters >= 12 && count(text, upperPattern) >= 0.7 * letters
}

function count(s: string, pattern: RegExp): number {
  pattern.lastIndex = 0
  let n = 0
  while (pattern.exec(s) !== null) n++
  return n
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
