import { GuardError } from '../errors.js'

/**
 * The error for an optional peer dependency that is not installed: `E_PEER_MISSING`, naming the command
 * that fixes it; any other import failure is rethrown as it is. @internal
 */
export function peerMissing(entry: string, peer: string): (error: unknown) => never {
  return (error) => {
    if ((error as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') throw error
    throw new GuardError(
      'E_PEER_MISSING',
      `${entry} needs ${peer}: npm install ${peer}`,
      {},
      { cause: error },
    )
  }
}

// fastify is an optional peer dependency: loaded here, at import of `@hundredfold/guard/fastify`, so a
// missing install fails that import with the command that fixes it, not with a bare resolution error.
await import('fastify').catch(peerMissing('@hundredfold/guard/fastify', 'fastify'))
