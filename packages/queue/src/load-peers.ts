import { QueueError } from './errors.js'

/** The modules {@link loadPeers} resolves: each package name's namespace. */
export type LoadedPeers<T extends Record<string, () => Promise<unknown>>> = {
  readonly [P in keyof T]: Awaited<ReturnType<T[P]>>
}

/**
 * Imports the optional peer dependencies an export entry needs, when that entry is imported. When
 * some are not installed the import fails with `E_PEER_MISSING`, naming every one missing and the
 * `npm install` that fixes it in one go, instead of a bare resolution error for the first of them.
 * Pass the `import()`s themselves, so bundlers and types see them.
 *
 * @example
 * const { vitest } = await loadPeers('@hundredfold/queue/testing', { vitest: () => import('vitest') })
 *
 * @internal
 */
export async function loadPeers<const T extends Record<string, () => Promise<unknown>>>(
  entry: string,
  imports: T,
): Promise<LoadedPeers<T>> {
  const names = Object.keys(imports)
  const settled = await Promise.allSettled(names.map((name) => imports[name]!()))
  const missing: { peer: string; error: unknown }[] = []
  for (const [i, outcome] of settled.entries()) {
    if (outcome.status === 'fulfilled') continue
    // Anything but "not installed" (a broken install, a syntax error) is the peer's own error.
    if ((outcome.reason as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw outcome.reason
    missing.push({ peer: names[i]!, error: outcome.reason })
  }
  const [first] = missing
  if (first) {
    const peers = missing.map((m) => m.peer)
    throw new QueueError(
      'E_PEER_MISSING',
      `${entry} needs ${peers.join(', ')}: npm install ${peers.join(' ')}`,
      {
        cause: first.error,
        context: { peer: first.peer },
      },
    )
  }
  return Object.fromEntries(
    names.map((name, i) => [name, (settled[i] as PromiseFulfilledResult<unknown>).value]),
  ) as LoadedPeers<T>
}
