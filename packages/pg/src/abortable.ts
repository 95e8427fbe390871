import { abortError } from './errors.js'

/**
 * Runs `run`, and rejects with `E_ABORTED` as soon as `signal` fires, calling `onAbort` first so the
 * caller can retire a session whose statement may still be running.
 */
export async function abortable<T>(
  run: () => Promise<T>,
  signal: AbortSignal | undefined,
  context: Record<string, unknown>,
  onAbort: () => void,
): Promise<T> {
  if (!signal) return run()
  if (signal.aborted) throw abortError(signal, context)
  let listener: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    listener = () => {
      onAbort()
      reject(abortError(signal, context))
    }
    signal.addEventListener('abort', listener, { once: true })
  })
  try {
    return await Promise.race([run(), aborted])
  } finally {
    signal.removeEventListener('abort', listener!)
  }
}
