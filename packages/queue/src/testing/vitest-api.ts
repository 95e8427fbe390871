import { loadPeers } from '../load-peers.js'

// vitest, an optional peer dependency that the contract suites are written against: loaded here, at
// import of `@hundredfold/queue/testing`, so a missing install fails that import with the command that
// fixes it. Types come from `import type`, which is erased; values come from here.
const { vitest } = await loadPeers('@hundredfold/queue/testing', { vitest: () => import('vitest') })

export const { afterAll, afterEach, describe, expect, it } = vitest
