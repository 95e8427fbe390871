import { randomFillSync } from 'node:crypto'

/**
 * Random bytes handed out from a 4 KB pool that one `randomFillSync` refills. A compose draws a request
 * id, and `randomBytes(8)` per compose was one system call each: 3–4 % of the accepting path's time in
 * a profile at 800 composes/s. The bytes are the same cryptographic randomness, drawn 512 ids at a time.
 */
const pool = Buffer.alloc(4096)
let next = pool.length

/** A uniformly random integer in [0, 2^63), as a decimal string (DeathStarBench's `req_id`). */
export function randomInt63(): string {
  if (next + 8 > pool.length) {
    randomFillSync(pool)
    next = 0
  }
  const value = pool.readBigUInt64BE(next) >> 1n
  next += 8
  return value.toString()
}
