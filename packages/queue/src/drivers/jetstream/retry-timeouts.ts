import { setTimeout as sleep } from 'node:timers/promises'

/** Tries of a stream or consumer set-up that timed out, and the pause before the n-th try (× n). */
export const SETUP_TRIES = 4
export const SETUP_RETRY_MS = 250

/** A request nobody answered in time (nats.js `TimeoutError`), as opposed to an answer that said no. */
export function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || /^timeout$/i.test(err.message))
}

/**
 * Runs `setUp` (an idempotent create-or-update of a stream or a consumer) again when it times out, up to
 * `tries` times in all. A JetStream cluster answers such a request once its meta leader has applied it:
 * just after the cluster started, or with the same create racing from another process (which NATS 2.9
 * may leave unanswered), the request times out although it was, or will be, applied. `setUp` must look
 * first and then create or update, so a second try after a create that did land updates it. Any other
 * error, and the last timeout, are thrown.
 *
 * @example
 * await retryTimeouts(() => createOrUpdate(jsm, spec), signal)
 */
export async function retryTimeouts<T>(
  setUp: () => Promise<T>,
  signal?: AbortSignal,
  tries = SETUP_TRIES,
  retryMs = SETUP_RETRY_MS,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await setUp()
    } catch (err) {
      if (!isTimeout(err) || attempt >= tries || signal?.aborted) throw err
      await sleep(retryMs * attempt, undefined, signal ? { signal } : {})
    }
  }
}
