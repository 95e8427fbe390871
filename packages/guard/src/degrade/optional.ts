import type { DegradeSwitch } from './degrade-switch.js'

/**
 * Runs optional work unless the switch is on. While on, `fn` is skipped and counted (`skipped`): the
 * answer is `fallback()` if given, else a rejection with `E_DEGRADED`.
 *
 * @throws {GuardError} `E_DEGRADED` (`switch`) while on and without a fallback; otherwise what `fn` or
 *   `fallback` throws.
 * @example
 * const verdict = await optional(antispam, () => spam.check(post, { signal }), () => 'unchecked' as const)
 * const extras = await optional(recsSwitch, () => recs.fetch(user, { signal })) // E_DEGRADED while on
 */
export function optional<T>(degrade: DegradeSwitch, fn: () => T | Promise<T>): Promise<T>
export function optional<T, F>(
  degrade: DegradeSwitch,
  fn: () => T | Promise<T>,
  fallback: () => F | Promise<F>,
): Promise<T | F>
export async function optional<T, F>(
  degrade: DegradeSwitch,
  fn: () => T | Promise<T>,
  fallback?: () => F | Promise<F>,
): Promise<T | F> {
  if (!degrade.on) return fn()
  degrade.skip()
  if (fallback) return fallback()
  throw degrade.degradedError()
}
