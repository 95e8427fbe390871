import { expect } from 'vitest'
import { ShardError } from '../../src/index.js'

/** The `ShardError` that `fn` throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): ShardError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ShardError)
    return error as ShardError
  }
  throw new Error('expected a ShardError')
}

/** The `ShardError` that `promise` rejects with; fails the test if it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<ShardError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  return thrown(() => {
    throw error ?? new Error('expected a rejection')
  })
}
