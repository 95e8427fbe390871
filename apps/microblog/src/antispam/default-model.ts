import { type AntispamModel, trainModel } from './classifier.js'
import { generatePosts } from './training-data.js'

/**
 * What the shipped model is trained on. Training happens on first use rather than at build time: 3,000
 * generated posts train in about 0.3 s of CPU, while the model (2^18 float32 weights) would be a 1 MB
 * file to keep in git and regenerate whenever a word list changes. Same seed, same weights, on every
 * machine.
 */
export const defaultTraining = Object.freeze({ seed: 20_240_601, count: 3_000, spamShare: 0.5 })

let trained: AntispamModel | undefined

/**
 * The model {@link checkText} uses unless given another: trained once per thread on first use, from
 * {@link defaultTraining}. The pool's workers do not train it again: they get its weights from the
 * thread that made the pool.
 *
 * @example
 * const model = defaultAntispamModel() // ~0.3 s the first time, then the same object
 */
export function defaultAntispamModel(): AntispamModel {
  trained ??= trainModel(generatePosts(defaultTraining), { seed: defaultTraining.seed })
  return trained
}
