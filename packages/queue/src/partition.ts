/**
 * The partition of a key: FNV-1a (32 bit) of its UTF-8 bytes modulo `partitions`. Stable across
 * processes and versions, so every producer sends a key to the same `<stream>.<n>` subject.
 *
 * @example
 * partitionOf('user:42', 8) // → a number in 0…7, the same every time
 */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5
  // ASCII keys (the common case) hash their char codes, which equal their UTF-8 bytes: no allocation.
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c > 0x7f) return utf8Partition(key, partitions)
    hash = Math.imul(hash ^ c, 0x01000193)
  }
  return (hash >>> 0) % partitions
}

function utf8Partition(key: string, partitions: number): number {
  let hash = 0x811c9dc5
  for (const byte of encoder.encode(key)) hash = Math.imul(hash ^ byte, 0x01000193)
  return (hash >>> 0) % partitions
}

const encoder = new TextEncoder()
