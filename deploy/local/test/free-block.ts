import { createServer } from 'node:net'

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * A base port, `from + k × step` below the ephemeral range, whose every `base + offset` is free on
 * 127.0.0.1 now: a stack test's block of ports.
 */
export async function freeBlock(
  offsets: readonly number[],
  { from, step, blocks }: { from: number; step: number; blocks: number },
): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = from + Math.floor(Math.random() * blocks) * step
    if ((await Promise.all(offsets.map((o) => isFree(base + o)))).every(Boolean)) return base
  }
  throw new Error(`no free block of ports in ${from}-${from + blocks * step - 1}`)
}
