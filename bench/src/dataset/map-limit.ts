import { throwIfAborted } from '../errors.js'

/**
 * Runs `fn` over `items` with at most `limit` in flight; the first failure stops new work and is rethrown.
 *
 * @example
 * await mapLimit(users, 32, (id) => register(id, signal), signal)
 */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  let nextIndex = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && nextIndex < items.length) {
      throwIfAborted(signal)
      const index = nextIndex++
      try {
        await fn(items[index] as T, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failure) throw failure.error
}
