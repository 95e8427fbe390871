/** Runs `fn` over `items`, at most `limit` at once; after a failure starts no more, then throws the first. @internal */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  let first: { error: unknown } | undefined
  const worker = async () => {
    while (first === undefined && next < items.length) {
      const item = items[next++]!
      try {
        await fn(item)
      } catch (error) {
        first ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  if (first !== undefined) throw first.error
}
