import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'vitest'
import { QueueError } from '../index.js'

let counter = 0
/** A stream name no other test (or test file running at the same time) uses. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`
}

export async function expectCode(promise: Promise<unknown>, code: string): Promise<QueueError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected ${code}, but it succeeded`)
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(QueueError)
  expect((err as QueueError).code).toBe(code)
  return err as QueueError
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(25)
  }
}
