import type { SeededRandom } from './seeded-random.js'

// What spammers do to a post so that a word list misses it. The generator applies these to spam posts,
// and normalizeText undoes them; the disguise itself is also a feature (`v1a` is a spam trigram).

const leet: Readonly<Record<string, readonly string[]>> = {
  a: ['4', '@'],
  e: ['3'],
  i: ['1', '!'],
  o: ['0'],
  s: ['5', '$'],
  t: ['7'],
}
const cyrillic: Readonly<Record<string, string>> = {
  a: 'а',
  e: 'е',
  o: 'о',
  p: 'р',
  c: 'с',
  x: 'х',
  y: 'у',
  i: 'і',
}
const greek: Readonly<Record<string, string>> = { o: 'ο', v: 'ν', i: 'ι', a: 'α', k: 'κ', t: 'τ' }

/** `viagra` → `v1agr@`: some letters replaced by digits or symbols. */
export function leetSpeak(r: SeededRandom, word: string): string {
  return mapLetters(word, (c) => (leet[c] && r.chance(0.6) ? r.pick(leet[c]) : c))
}

/** `viagra` → `vіаgrа`: some letters replaced by Cyrillic or Greek look-alikes. */
export function lookAlikes(r: SeededRandom, word: string): string {
  const table = r.chance(0.7) ? cyrillic : greek
  return mapLetters(word, (c) => (table[c] && r.chance(0.7) ? table[c] : c))
}

/** `viagra` → `v.i.a.g.r.a` (or with spaces, dashes, stars). */
export function spacedOut(r: SeededRandom, word: string): string {
  return [...word].join(r.pick([' ', '.', '-', '*', '_']))
}

/** `viagra` → `via\u200bgra`: an invisible character inside. */
export function invisibleInside(r: SeededRandom, word: string): string {
  if (word.length < 2) return word
  const i = r.int(1, word.length - 1)
  return word.slice(0, i) + r.pick(['\u200b', '\u200c', '\u2060', '\u00ad']) + word.slice(i)
}

/** `free` → `𝐟𝐫𝐞𝐞` (mathematical bold), `ｆｒｅｅ` (fullwidth) or `ꜰʀᴇᴇ` (small capitals). */
export function styled(r: SeededRandom, word: string): string {
  const style = r.int(0, 2)
  return mapLetters(word, (c) => {
    const code = c.charCodeAt(0)
    if (code < 97 || code > 122) return c
    if (style === 0) return String.fromCodePoint(0x1d41a + code - 97)
    if (style === 1) return String.fromCodePoint(0xff41 + code - 97)
    return smallCaps[code - 97] ?? c
  })
}
const smallCaps = [...'ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘqʀꜱᴛᴜᴠᴡxʏᴢ']

/** `free` → `freeeeee`. */
export function stretched(r: SeededRandom, word: string): string {
  const i = r.int(0, word.length - 1)
  return word.slice(0, i + 1) + word.charAt(i).repeat(r.int(4, 9)) + word.slice(i + 1)
}

/** `bitcoin` → `bitcoiin`: a letter doubled, as a deliberate misspelling. */
export function misspelt(r: SeededRandom, word: string): string {
  const i = r.int(1, Math.max(1, word.length - 1))
  return word.slice(0, i) + word.charAt(i - 1) + word.slice(i)
}

function mapLetters(word: string, f: (c: string) => string): string {
  let out = ''
  for (const c of word) out += f(c)
  return out
}
