import { performance } from 'node:perf_hooks'

/** Ids per second a generator function reaches in a tight loop for `windowMs` (after a short warm-up). */
export function idsPerSecond(generate: () => unknown, windowMs: number, batch = 1): number {
  const run = (ms: number): number => {
    const start = performance.now()
    const end = start + ms
    let calls = 0
    let now = start
    while (now < end) {
      // Read the timer once per 1024 calls: the loop measures the generator, not performance.now().
      for (let i = 0; i < 1024; i++) generate()
      calls += 1024
      now = performance.now()
    }
    return (calls * batch * 1000) / (now - start)
  }
  run(Math.min(300, windowMs / 4))
  return run(windowMs)
}

/** Generates `count` ids as fast as possible and counts those that occur more than once. */
export function duplicatesIn(generate: () => bigint, count: number): number {
  const ids = new BigInt64Array(count)
  for (let i = 0; i < count; i++) ids[i] = generate()
  ids.sort()
  let duplicates = 0
  for (let i = 1; i < count; i++) if (ids[i] === ids[i - 1]) duplicates++
  return duplicates
}
