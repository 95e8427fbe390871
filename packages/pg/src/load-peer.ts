import { PgError } from './errors.js'

/**
 * Loads a driver's client library, an optional peer dependency, at import of the driver's entry: a
 * missing install then fails that import with the command that fixes it (`E_PEER_MISSING`), not with a
 * bare resolution error at the first connect. Pass the `import()` itself, so bundlers and types see it.
 *
 * @example
 * const { PGlite } = await loadPeer(() => import('@electric-sql/pglite'), '@hundredfold/pg/pglite', '@electric-sql/pglite')
 */
export async function loadPeer<T>(load: () => Promise<T>, entry: string, peer: string): Promise<T> {
  try {
    return await load()
  } catch (err) {
    if ((err as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw err
    throw new PgError('E_PEER_MISSING', `${entry} needs ${peer}: npm install ${peer}`, {
      cause: err,
      context: { peer },
    })
  }
}
