import type { Random } from '../random.js'
import { dsbUsername } from './dsb.js'

const openers = [
  'just got back from',
  'spent the afternoon at',
  'finally tried',
  'heading to',
  'loved',
  'missed',
]
const things = [
  'the park',
  'the library',
  'that ramen place',
  'the farmers market',
  'band practice',
  'the lake',
]
const whens = ['this morning', 'tonight', 'after work', 'on saturday', 'with the team', 'in the rain']
const afters = [
  'so good',
  'worth it',
  'a bit chaotic',
  'lovely',
  'surprisingly fun',
  'exhausting',
  'ok I guess',
]
const tails = ['lol', 'haha', 'no regrets', 'wish me luck', 'who is in next week?', 'photos soon', '']

/**
 * A post for the JSON API (`POST /api/v1/posts`), written as a person writes one: a sentence from small
 * word lists, 1–3 mentions `@username_N` of other users, and now and then a few more words. The API checks
 * what it is sent for spam (a `422 E_SPAM` refusal stores nothing), and DeathStarBench's text — 256
 * random characters and up to six random links — reads as spam to any classifier; the `/wrk2-api`
 * surface keeps that text and only counts the verdict.
 *
 * @example
 * apiPostText(createRandom(1), 962, 7) // 'finally tried the lake tonight, so good @username_12 lol'
 */
export function apiPostText(random: Random, users: number, authorId: number): string {
  const pick = (list: readonly string[]) => list[random.int(0, list.length - 1)]!
  let text = `${pick(openers)} ${pick(things)} ${pick(whens)}, ${pick(afters)}`
  const mentions = random.int(1, 3)
  for (let i = 0; i < mentions; i++) {
    let mentioned = random.int(0, users - 1)
    while (mentioned === authorId && users > 1) mentioned = random.int(0, users - 1)
    text += ` @${dsbUsername(mentioned)}`
  }
  if (random.int(0, 3) === 0) text += ' (photos later)'
  const tail = pick(tails)
  return tail === '' ? text : `${text} ${tail}`
}
