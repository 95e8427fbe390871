import type { NormalizedText } from './normalize-text.js'

/** Feature hashing: every feature is a bucket in `[0, 2^bits)`, so the model is one array, no vocabulary. */
export const defaultFeatureBits = 18

// One seed per kind of feature, so the word `buy` and the trigram `buy` land in different buckets.
const WORD = 0x9e3779b9
const BIGRAM = 0x85ebca6b
const CHAR_UNFOLDED = 0xc2b2ae35
const CHAR_PLAIN = 0x27d4eb2f
const SHAPE = 0x165667b1

const wordPattern = /[\p{L}\p{N}]+/gu
const urlPath = /(\b(?:https?:\/\/|www\.)?(?:[\p{L}\p{N}-]+\.)+[\p{L}]{2,})\/[^\s]*/gu
const urlPattern = /\bhttps?:\/\/|\bwww\./g
const upperPattern = /\p{Lu}/gu
const letterPattern = /\p{L}/gu
const digitPattern = /\p{N}/gu
const symbolPattern = /[!$%*€£¥₿]/g
const emojiPattern = /\p{Extended_Pictographic}/gu

/**
 * The hashed features of a post, as bucket indices (a bucket appears once per occurrence):
 *
 * - word unigrams and bigrams of the unfolded text;
 * - character 3-, 4- and 5-grams of the unfolded text with its punctuation collapsed to spaces (what
 *   survives misspellings and new spam words);
 * - character 3- and 4-grams of the plain text, punctuation and digits kept (`$$$`, `v1a`, `!!!`: the
 *   disguise itself is a signal);
 * - shape features: length, share of capitals, digits and symbols, URLs and emoji, each in a few
 *   buckets.
 *
 * The n-grams read a link's host but not its path: random paths would teach the model that any random
 * characters are spam.
 *
 * @example
 * const x = hashFeatures('Buy now!', normalizeText('Buy now!'), 18) // Int32Array of bucket indices
 */
export function hashFeatures(
  text: string,
  normalized: NormalizedText,
  bits = defaultFeatureBits,
): Int32Array {
  const out = new FeatureSink(bits)
  const words = normalized.unfolded.replace(urlPath, '$1').match(wordPattern) ?? []
  let previous = 0
  for (let i = 0; i < words.length; i++) {
    const h = hashString(words[i]!, WORD)
    out.push(h)
    if (i > 0) out.push(mix(Math.imul(previous, 31) ^ h ^ BIGRAM))
    previous = h
  }
  charGrams(out, ` ${words.join(' ')} `, CHAR_UNFOLDED, 3, 5)
  charGrams(out, normalized.plain.replace(urlPath, '$1'), CHAR_PLAIN, 3, 4)
  shape(out, text, normalized)
  return out.take()
}

/** Character n-grams of `s` for n in [min, max], hashed as they are read (no substrings are made). */
function charGrams(out: FeatureSink, s: string, seed: number, min: number, max: number): void {
  const n = s.length
  for (let i = 0; i + min <= n; i++) {
    let h = seed
    const end = Math.min(n, i + max)
    for (let j = i; j < end; j++) {
      h = Math.imul(h ^ s.charCodeAt(j), 0x01000193)
      if (j - i + 1 >= min) out.push(mix(h ^ (j - i)))
    }
  }
}

function shape(out: FeatureSink, text: string, normalized: NormalizedText): void {
  const letters = count(text, letterPattern)
  const upper = count(text, upperPattern)
  const feature = (name: number, level: number) =>
    out.push(mix(Math.imul(name + 1, 0x2545f491) ^ level ^ SHAPE))
  feature(0, Math.min(8, Math.floor(Math.log2(1 + text.length))))
  feature(1, letters < 8 ? -1 : Math.floor((upper / letters) * 5))
  feature(2, Math.min(6, Math.floor((count(text, digitPattern) / Math.max(1, text.length)) * 20)))
  feature(3, Math.min(5, count(normalized.plain, urlPattern)))
  feature(4, Math.min(5, count(text, symbolPattern)))
  feature(5, Math.min(5, count(text, emojiPattern)))
}

function count(s: string, pattern: RegExp): number {
  pattern.lastIndex = 0
  let n = 0
  while (pattern.exec(s) !== null) n++
  return n
}

/** FNV-1a over UTF-16 code units, then {@link mix}. */
export function hashString(s: string, seed: number): number {
  let h = seed
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return mix(h)
}

/** murmur3's finalizer: FNV's low bits are poor, this spreads every input bit over the 32. */
function mix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/** A growable Int32Array of bucket indices. */
class FeatureSink {
  readonly #shift: number
  #buffer = new Int32Array(512)
  #length = 0

  constructor(bits: number) {
    this.#shift = 32 - bits
  }

  push(hash: number): void {
    if (this.#length === this.#buffer.length) {
      const bigger = new Int32Array(this.#buffer.length * 2)
      bigger.set(this.#buffer)
      this.#buffer = bigger
    }
    this.#buffer[this.#length++] = hash >>> this.#shift
  }

  take(): Int32Array {
    return this.#buffer.subarray(0, this.#length)
  }
}
