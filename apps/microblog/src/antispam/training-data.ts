import { hamPost } from './ham-posts.js'
import { seededRandom } from './seeded-random.js'
import { spamPost } from './spam-posts.js'

/** A post and whether it is spam. */
export interface LabeledPost {
  readonly text: string
  readonly spam: boolean
}

/** Options of {@link generatePosts}. */
export interface GeneratePostsOptions {
  /** The PRNG seed: the same seed gives the same posts, on every machine. @default 1 */
  seed?: number
  /** How many posts. @default 1_000 */
  count?: number
  /** The share of spam, in [0, 1]. @default 0.5 */
  spamShare?: number
}

/** The defaults of {@link GeneratePostsOptions}. */
export const generatePostsDefaults = Object.freeze({ seed: 1, count: 1_000, spamShare: 0.5 })

/**
 * Labelled posts for training and measuring the classifier, generated from word lists by a seeded PRNG
 * (no network, no data set to download): everyday posts, and spam of ten kinds (pharma, crypto, easy
 * money, link farms, followers, prizes, dating, casinos, loans, replicas) with links, phone numbers,
 * wallets, shouting, repeated characters and disguised words (leet-speak, look-alike letters, spacing,
 * invisible characters, styled letters).
 *
 * @example
 * const train = generatePosts({ seed: 1, count: 4_000 })
 * const heldOut = generatePosts({ seed: 2, count: 2_000 }) // another seed: posts the model never saw
 */
export function generatePosts(options: GeneratePostsOptions = {}): LabeledPost[] {
  const { seed, count, spamShare } = { ...generatePostsDefaults, ...stripUndefined(options) }
  if (!Number.isInteger(count) || count < 0) throw new RangeError('options.count must be an integer ≥ 0')
  if (!(spamShare >= 0 && spamShare <= 1)) throw new RangeError('options.spamShare must be in [0, 1]')
  const random = seededRandom(seed)
  const posts: LabeledPost[] = []
  for (let i = 0; i < count; i++) {
    const spam = random.chance(spamShare)
    posts.push({ text: spam ? spamPost(random) : hamPost(random), spam })
  }
  return posts
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
