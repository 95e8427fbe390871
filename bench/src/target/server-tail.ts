/** What a started server shows of itself: its last output lines. */
export interface TailedServer {
  tail(): string
}

/**
 * Runs `fn`; on failure, logs the server's last output lines first (what it said before the failure is
 * usually the cause), then rethrows.
 *
 * @example
 * return await withServerTail(target, log, () => measureWorkload(definition, options, signal, target))
 */
export async function withServerTail<T>(
  server: TailedServer,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    const tail = server
      .tail()
      .split('\n')
      .slice(-6)
      .map((line) => (line.length > 600 ? `${line.slice(0, 600)}…` : line))
      .join('\n')
    if (tail) log(`server output before the failure (last lines):\n${tail}`)
    throw error
  }
}
