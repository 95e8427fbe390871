import { setMaxListeners } from 'node:events'
import { abortedError } from '../errors.js'

/**
 * Runs `run` for every item, at most `maxConcurrency` at a time, and returns the results in the
 * items' order. The first failure aborts the signal handed to the other runs (with that failure
 * as its reason) and is what the fan-out rejects with; the caller's abort wins over everything.
 *
 * @example
 * const counts = await fanOut(targets, 4, signal, (target, _, signal) => queryShard(target, sql, [], signal, {}))
 * @internal
 */
export async function fanOut<T, U>(
  items: readonly T[],
  maxConcurrency: number,
  signal: AbortSignal,
  run: (item: T, index: number, signal: AbortSignal) => Promise<U>,
): Promise<U[]> {
  if (signal.aborted) throw abortedError(signal)
  const controller = new AbortController()
  const inner = AbortSignal.any([signal, controller.signal])
  // Every shard query (and its driver) listens on this one signal; dozens of shards are expected.
  setMaxListeners(0, inner)
  const results = new Array<U>(items.length)
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++
      try {
        results[index] = await run(items[index]!, index, inner)
      } catch (error) {
        if (failure === undefined) {
          failure = { error }
          controller.abort(error)
        }
      }
    }
  }
  const workers = Math.min(maxConcurrency, items.length)
  await Promise.all(Array.from({ length: workers }, worker))
  if (failure !== undefined) throw signal.aborted ? abortedError(signal) : failure.error
  return results
}
