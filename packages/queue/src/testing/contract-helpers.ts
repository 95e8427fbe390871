import { setTimeout as sleep } from 'node:timers/promises'
import { QueueError, type QueueErrorCode, type QueueErrorContext } from '../index.js'
import { expect } from './vitest-api.js'

let counter = 0
/** A stream name no other test (or test file running at the same time) uses. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`
}

/**
 * Awaits `promise`, which must reject with a `QueueError` of `code` whose `context` has (at least) the
 * fields given, and returns that error for any further checks.
 *
 * @example
 * await expectCode(stream.publish({ id: 'm3', data: '3' }), 'E_STREAM_FULL', { limit: 'maxMessages' })
 */
export async function expectCode(
  promise: Promise<unknown>,
  code: QueueErrorCode,
  context: QueueErrorContext = {},
): Promise<QueueError> {
  const [outcome] = await Promise.allSettled([promise])
  expect(outcome, `expected ${code}`).toMatchObject({ status: 'rejected', reason: { code, context } })
  const { reason } = outcome as PromiseRejectedResult
  expect(reason).toBeInstanceOf(QueueError)
  return reason
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(25)
  }
}
