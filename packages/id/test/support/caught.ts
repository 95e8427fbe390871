import { expect } from 'vitest'
import { IdError } from '../../src/index.js'

/** The `IdError` that `fn` throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): IdError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(IdError)
    return error as IdError
  }
  throw new Error('expected an IdError')
}

/** The `IdError` that `promise` rejects with; fails the test if it resolves or rejects with something else. */
export async function rejection(promise: Promise<unknown>): Promise<IdError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  )
  return thrown(() => {
    throw error ?? new Error('expected a rejection')
  })
}
