import { expect } from 'vitest'
import { MetricsError } from '../src/index.js'

/** The `MetricsError` that `fn` throws; fails the test if it throws nothing or something else. */
export function thrown(fn: () => unknown): MetricsError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(MetricsError)
    return error as MetricsError
  }
  throw new Error('expected a MetricsError')
}
