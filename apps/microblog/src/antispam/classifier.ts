import { defaultFeatureBits, hashFeatures } from './hash-features.js'
import { normalizeText } from './normalize-text.js'
import { seededRandom } from './seeded-random.js'
import type { LabeledPost } from './training-data.js'

/**
 * A logistic regression over hashed features: one weight per bucket and a bias. The weights sit on a
 * `SharedArrayBuffer`, so the pool's workers read the one copy the main thread trained.
 */
export interface AntispamModel {
  /** The features hash into `2^bits` buckets. */
  readonly bits: number
  readonly bias: number
  /** `2^bits` weights. */
  readonly weights: Float32Array
}

/** Options of {@link trainModel}. */
export interface TrainModelOptions {
  /** Buckets are `2^bits`. @default 18 */
  bits?: number
  /** Passes over the posts. @default 3 */
  epochs?: number
  /** The first step size of stochastic gradient descent; it decays as 1/√t. @default 0.5 */
  learningRate?: number
  /** L2 penalty on each weight a step touches. @default 1e-6 */
  l2?: number
  /** Seeds the order posts are visited in. @default 1 */
  seed?: number
}

/** The defaults of {@link TrainModelOptions}. */
export const trainModelDefaults = Object.freeze({
  bits: defaultFeatureBits,
  epochs: 3,
  learningRate: 0.5,
  l2: 1e-6,
  seed: 1,
})

/**
 * Trains a logistic regression on labelled posts by stochastic gradient descent. Deterministic: the same
 * posts and options give the same weights, bit for bit (float32 arithmetic is IEEE everywhere).
 *
 * @example
 * const model = trainModel(generatePosts({ seed: 1, count: 4_000 }))
 * classifierLogit(model, hashFeatures(text, normalizeText(text), model.bits)) > 0 // spam
 */
export function trainModel(posts: readonly LabeledPost[], options: TrainModelOptions = {}): AntispamModel {
  const o = { ...trainModelDefaults, ...stripUndefined(options) }
  if (!Number.isInteger(o.bits) || o.bits < 8 || o.bits > 24) {
    throw new RangeError('options.bits must be an integer in [8, 24]')
  }
  if (!Number.isInteger(o.epochs) || o.epochs < 1)
    throw new RangeError('options.epochs must be a positive integer')
  const weights = new Float32Array(new SharedArrayBuffer(4 << o.bits))
  const samples = posts.map((post) => ({
    features: hashFeatures(post.text, normalizeText(post.text), o.bits),
    label: post.spam ? 1 : 0,
  }))
  const order = samples.map((_, i) => i)
  const random = seededRandom(o.seed)
  let bias = 0
  let step = 0
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffle(order, random)
    for (const i of order) {
      const { features, label } = samples[i]!
      const scale = 1 / Math.sqrt(Math.max(1, features.length))
      const rate = o.learningRate / Math.sqrt(1 + step++ / samples.length)
      const gradient = sigmoid(bias + scale * sum(weights, features)) - label
      bias -= rate * gradient
      const g = rate * gradient * scale
      const decay = rate * o.l2
      for (let k = 0; k < features.length; k++) {
        const j = features[k]!
        weights[j] = weights[j]! - g - decay * weights[j]!
      }
    }
  }
  return Object.freeze({ bits: o.bits, bias, weights })
}

/**
 * The model's log-odds that a post with these features is spam (> 0: more likely spam than not).
 *
 * @example
 * const logit = classifierLogit(model, hashFeatures(text, normalizeText(text), model.bits))
 */
export function classifierLogit(model: AntispamModel, features: Int32Array): number {
  return model.bias + sum(model.weights, features) / Math.sqrt(Math.max(1, features.length))
}

/** The logistic function: log-odds to a probability. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z))
}

function sum(weights: Float32Array, features: Int32Array): number {
  let total = 0
  for (let k = 0; k < features.length; k++) total += weights[features[k]!]!
  return total
}

function shuffle(items: number[], random: { int(min: number, max: number): number }): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(0, i)
    const t = items[i]!
    items[i] = items[j]!
    items[j] = t
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
