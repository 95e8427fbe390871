// The microblog's antispam check on compose: rules plus a logistic regression over hashed n-grams,
// trained at first use on posts the project generates, run on a bounded worker pool. See createAntispam.
export { type Antispam, type AntispamStats, createAntispam } from './antispam.js'
export { type AntispamOptions, antispamDefaults } from './antispam-options.js'
export { type AntispamVerdict, checkText, maxCheckedLength } from './check-text.js'
export {
  type AntispamModel,
  classifierLogit,
  type TrainModelOptions,
  trainModel,
  trainModelDefaults,
} from './classifier.js'
export { defaultAntispamModel, defaultTraining } from './default-model.js'
export { hashFeatures } from './hash-features.js'
export { type NormalizedText, normalizeText } from './normalize-text.js'
export { type AntispamRule, antispamRules, hiddenSpamWords } from './rules.js'
export {
  type GeneratePostsOptions,
  generatePosts,
  generatePostsDefaults,
  type LabeledPost,
} from './training-data.js'
