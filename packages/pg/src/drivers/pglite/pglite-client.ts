import type { PGlite, PGliteOptions } from '@electric-sql/pglite'
import { loadPeer } from '../../load-peer.js'

// PGlite, an optional peer dependency, loaded once for the whole driver at import of its entry.
const pglite = await loadPeer(
  () => import('@electric-sql/pglite'),
  '@hundredfold/pg/pglite',
  '@electric-sql/pglite',
)

/** Opens a PGlite database (`memory://` for one in memory). */
export function createPglite(dataDir: string, options: PGliteOptions): Promise<PGlite> {
  return pglite.PGlite.create(dataDir, options)
}
