import { type AntispamModel, classifierLogit, sigmoid } from './classifier.js'
import { defaultAntispamModel } from './default-model.js'
import { extractUrls } from './extract-urls.js'
import { hashFeatures } from './hash-features.js'
import { normalizeText } from './normalize-text.js'
import { antispamRules, type RuleInput } from './rules.js'

/** The answer of the antispam check. */
export interface AntispamVerdict {
  /** Whether the post is spam: `score` ≥ 0.5. */
  spam: boolean
  /** The probability that the post is spam, in (0, 1): the classifier's log-odds plus the rules' weights. */
  score: number
  /** The names of the rules that fired, in the order of `antispamRules` (e.g. `['many-urls', 'phone-number']`). */
  rules: string[]
}

/**
 * Characters looked at: the HTTP edge allows 2,000, and a longer string from elsewhere must not hold a
 * worker for long. The rest is not read.
 */
export const maxCheckedLength = 4_000

/**
 * The antispam check, in this thread: normalizes the text three ways, runs the rules, and adds their
 * weights to the log-odds of the classifier over the hashed n-grams. Pure and deterministic for a given
 * model; never throws on a string. This is what the pool's workers run.
 *
 * @example
 * checkText('FREE v1agra!!! buy now at cheap-pills.ru')
 * // { spam: true, score: 0.99…, rules: ['blocklisted-domain', 'obfuscated-word', 'spam-phrase', 'shouting'] }
 */
export function checkText(text: string, model: AntispamModel = defaultAntispamModel()): AntispamVerdict {
  const input = text.length > maxCheckedLength ? text.slice(0, maxCheckedLength) : text
  const normalized = normalizeText(input)
  const ruleInput: RuleInput = { text: input, normalized, urls: extractUrls(normalized.plain) }
  let logit = classifierLogit(model, hashFeatures(input, normalized, model.bits))
  const rules: string[] = []
  for (const rule of antispamRules) {
    if (rule.fires(ruleInput)) {
      rules.push(rule.name)
      logit += rule.weight
    }
  }
  const score = sigmoid(logit)
  return { spam: score >= 0.5, score, rules }
}
