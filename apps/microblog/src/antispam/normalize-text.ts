/**
 * Three views of a post, each undoing more of what spammers do to get past filters. The classifier reads
 * n-grams of all three and the rules compare them: a spam word present in `unfolded` but absent from
 * `plain` was hidden on purpose.
 */
export interface NormalizedText {
  /** NFKC (fullwidth `ｆｒｅｅ` and 𝐛𝐨𝐥𝐝 letters become ASCII), invisible characters removed, lower case. */
  readonly plain: string
  /** `plain` with look-alike letters (Cyrillic `а`, Greek `ο`) made Latin and accents removed. */
  readonly folded: string
  /**
   * `folded` with leet-speak unfolded (`v1agr@` → `viagra`), letters spelt out one by one joined
   * (`v.i.a.g.r.a` → `viagra`), and runs of three or more of a character cut to two.
   */
  readonly unfolded: string
}

// Characters that render as nothing (zero-width space, joiners, word joiner, BOM, soft hyphen, bidi
// controls): spam puts them inside words so that `via\u200bgra` is not `viagra`.
const invisible =
  /\u034f|[\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/g

// Letters of other scripts that look like Latin ones, by the shape of the upper or lower case form
// (Unicode's confusables.txt, the subset spam uses). Applied before lower-casing: Greek `Ν` looks like
// `N` but its lower case `ν` like `v`.
const lookAlikes: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  һ: 'h',
  ӏ: 'l',
  А: 'A',
  В: 'B',
  Е: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  У: 'Y',
  Х: 'X',
  Ѕ: 'S',
  І: 'I',
  Ј: 'J',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
  Ζ: 'Z',
  // Latin letters of other alphabets, and small capitals (which NFKC leaves alone)
  ı: 'i',
  ɡ: 'g',
  ɑ: 'a',
  ɩ: 'i',
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ꜰ: 'f',
  ɢ: 'g',
  ʜ: 'h',
  ɪ: 'i',
  ᴊ: 'j',
  ᴋ: 'k',
  ʟ: 'l',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ʀ: 'r',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ʏ: 'y',
  ᴢ: 'z',
}
const lookAlike = new RegExp(`[${Object.keys(lookAlikes).join('')}]`, 'gu')

const marks = /\p{M}+/gu

// Leet-speak: digits and symbols standing for letters, undone only inside a word that has letters (so
// `$5` and `10:30` stay as they are) and not in ordinals and units (`3rd`, `10k`, `7pm`, `90s`).
const leetLetters: Readonly<Record<string, string>> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '@': 'a',
  $: 's',
  '!': 'i',
  '|': 'l',
  '€': 'e',
}
// A word for leet-speak: letters, digits and the symbols that stand for letters, with `!` only between
// them (`cl!ck`), never as the end of a sentence. It is unfolded if a letter touches a symbol or digit.
const leetWord = /[\p{L}\p{N}@$|€]+(?:!+[\p{L}\p{N}@$|€]+)*/gu
const leetMixed = /\p{L}[0-9@$|€!]|[0-9@$|€!]\p{L}/u
const leetChar = /[0-9@$!|€]/g
const numberWithUnit = /^\d+(?:st|nd|rd|th|s|k|m|km|kg|g|h|hr|hrs|min|am|pm|x|p|gb|mb|d)$/
const spelledOut = /(?<![\p{L}\p{N}])(?:\p{L}[ .\-_*·•+]){2,}\p{L}(?![\p{L}\p{N}])/gu
const spellingSeparators = /[ .\-_*·•+]/g
const longRun = /(.)\1{2,}/gsu

/**
 * The three views of `text` (see {@link NormalizedText}). Pure and deterministic.
 *
 * @example
 * normalizeText('B U Y v1agr@ ｎｏｗ!!!').unfolded // 'buy viagra now!!'
 */
export function normalizeText(text: string): NormalizedText {
  const nfkc = text.normalize('NFKC').replace(invisible, '')
  const plain = nfkc.toLowerCase()
  const folded = nfkc
    .replace(lookAlike, (c) => lookAlikes[c] ?? c)
    .normalize('NFD')
    .replace(marks, '')
    .toLowerCase()
  const unfolded = folded
    .replace(leetWord, unleet)
    .replace(spelledOut, (run) => run.replace(spellingSeparators, ''))
    .replace(longRun, '$1$1')
  return { plain, folded, unfolded }
}

function unleet(word: string, offset: number, whole: string): string {
  const before = whole[offset - 1]
  // Mentions, hashtags and parts of URLs and e-mail addresses are names, not words in disguise.
  if (before === '@' || before === '#' || before === '/' || before === '.' || before === ':') return word
  if (word.startsWith('@')) return word
  if (!leetMixed.test(word) || numberWithUnit.test(word)) return word
  return word.replace(leetChar, (c) => leetLetters[c] ?? c)
}
