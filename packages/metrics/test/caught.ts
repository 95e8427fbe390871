import { expect } from 'vitest'
import { MetricsError } from '../src/index.js'

/** The `MetricsError` that `fn` throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): MetricsError {
  let error: unknown = new Error('nothing was thrown')
  try {
    fn()
  } catch (caught) {
    error = caught
  }
  expect(error).toBeInstanceOf(MetricsError)
  return error as MetricsError
}
