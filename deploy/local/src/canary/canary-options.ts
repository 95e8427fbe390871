import { resolve } from 'node:path'
import { StackError } from '../errors.js'
import { limits } from '../options.js'
import { type JudgeRules, judgeDefaults } from './judge.js'

/** What `canaryRelease` takes. */
export interface CanaryOptions {
  /** The build directory to release: it holds a built microblog, `<build>/dist/main.js`. */
  build: string
  /** The stack's directory. @default `HF_STACK_DIR`, else the stack's default */
  dir?: string
  /** The first step's share of requests, in percent (`1`, `'1%'`, `'0.5%'`). @default 1 */
  share?: number | string
  /**
   * The shares the rollout goes through after the first, in percent, ending at 100.
   * @default [10, 50, 100] (those above `share`)
   */
  steps?: readonly number[]
  /** How long each step holds before it may advance, in ms. @default 30000 */
  stepMs?: number
  /** Canary processes. @default the stack's number of apps, so at 100% it has the baseline's capacity */
  canaryApps?: number
  /** How steps are judged (over `judgeDefaults`). */
  rules?: Partial<JudgeRules>
  /** How often the split log is read and the step judged, in ms. @default 500 */
  pollMs?: number
  /** Told of each step. @default silent */
  log?: (line: string) => void
  /** Bounds each health wait (the canary's start, each app's restart on promotion). @default 60000 */
  healthTimeoutMs?: number
  /** Aborts the rollout: the canary is rolled back (outcome `aborted`). */
  signal?: AbortSignal
}

/** `CanaryOptions` resolved: every field set, validated, frozen. */
export interface ResolvedCanaryOptions {
  readonly build: string
  readonly dir: string | undefined
  /** Every step's share in percent, the first being `share`, the last 100. */
  readonly steps: readonly number[]
  readonly stepMs: number
  readonly canaryApps: number | undefined
  readonly rules: Readonly<JudgeRules>
  readonly pollMs: number
  readonly log: (line: string) => void
  readonly healthTimeoutMs: number
  readonly signal: AbortSignal | undefined
}

/** The defaults of `CanaryOptions`. */
export const canaryDefaults = Object.freeze({
  share: 1,
  steps: Object.freeze([10, 50, 100]),
  stepMs: 30_000,
  pollMs: 500,
  healthTimeoutMs: 60_000,
})

/**
 * A share in percent from `1`, `'1'`, `'1%'` or `'0.25%'`: above 0, at most 100, at most two decimals
 * (nginx's `split_clients` precision). `E_INVALID_OPTION` naming `option` otherwise.
 *
 * @example
 * parseShare('0.5%') // 0.5
 */
export function parseShare(raw: number | string, option = 'options.share'): number {
  const text = String(raw).trim().replace(/%$/, '')
  const value = Number(text)
  if (!/^\d+(\.\d{1,2})?$/.test(text) || !(value > 0) || value > 100) {
    throw new StackError(
      'E_INVALID_OPTION',
      `${option} must be a percentage above 0 and at most 100 with at most two decimals (e.g. 1%), got '${raw}'`,
      { option },
    )
  }
  return value
}

/** Resolves and validates `options`; messages name the option. */
export function resolveCanaryOptions(options: CanaryOptions): ResolvedCanaryOptions {
  if (typeof options.build !== 'string' || options.build === '') {
    throw new StackError('E_INVALID_OPTION', 'options.build must name a build directory', {
      option: 'options.build',
    })
  }
  const first = parseShare(options.share ?? canaryDefaults.share)
  const later = (options.steps ?? canaryDefaults.steps).map((s, i) => parseShare(s, `options.steps[${i}]`))
  for (const [i, share] of later.entries()) {
    if (i > 0 && share <= later[i - 1]!) {
      throw new StackError('E_INVALID_OPTION', 'options.steps must rise', { option: 'options.steps' })
    }
  }
  const steps = [first, ...later.filter((s) => s > first)]
  if (steps[steps.length - 1] !== 100) steps.push(100)
  const stepMs = options.stepMs ?? canaryDefaults.stepMs
  if (!(stepMs > 0) || !Number.isFinite(stepMs)) {
    throw new StackError('E_INVALID_OPTION', `options.stepMs must be a positive number, got ${stepMs}`, {
      option: 'options.stepMs',
    })
  }
  const canaryApps = options.canaryApps
  if (
    canaryApps !== undefined &&
    (!Number.isInteger(canaryApps) || canaryApps < 1 || canaryApps > limits.apps)
  ) {
    throw new StackError(
      'E_INVALID_OPTION',
      `options.canaryApps must be an integer in 1..${limits.apps}, got ${canaryApps}`,
      { option: 'options.canaryApps' },
    )
  }
  const rules = { ...judgeDefaults, ...options.rules }
  for (const [key, value] of Object.entries(rules)) {
    const integer = key === 'minRequests' || key === 'minLatencyRequests'
    if (!(value >= 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new StackError(
        'E_INVALID_OPTION',
        `options.rules.${key} must be a non-negative ${integer ? 'integer' : 'number'}, got ${value}`,
        { option: `options.rules.${key}` },
      )
    }
  }
  if (rules.maxHoldFactor < 1) {
    throw new StackError('E_INVALID_OPTION', 'options.rules.maxHoldFactor must be at least 1', {
      option: 'options.rules.maxHoldFactor',
    })
  }
  const pollMs = options.pollMs ?? canaryDefaults.pollMs
  if (!(pollMs > 0)) {
    throw new StackError('E_INVALID_OPTION', 'options.pollMs must be positive', { option: 'options.pollMs' })
  }
  return Object.freeze({
    build: resolve(options.build),
    dir: options.dir,
    steps: Object.freeze(steps),
    stepMs,
    canaryApps,
    rules: Object.freeze(rules),
    pollMs,
    log: options.log ?? (() => {}),
    healthTimeoutMs: options.healthTimeoutMs ?? canaryDefaults.healthTimeoutMs,
    signal: options.signal,
  })
}
