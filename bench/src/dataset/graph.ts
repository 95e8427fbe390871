import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BenchError } from '../errors.js'
import { createRandom } from '../random.js'

/** An undirected social graph; users are 0…users-1. */
export interface SocialGraph {
  name: string
  users: number
  /** Undirected edges, each once; a loader follows both directions. */
  edges: ReadonlyArray<readonly [number, number]>
  source: 'file' | 'generated'
}

/** Size of socfb-Reed98, the graph DeathStarBench socialNetwork loads. */
export const REED98 = Object.freeze({ name: 'socfb-Reed98', users: 962, edges: 18_812 })

/**
 * Reads a graph in DeathStarBench's format: `<name>.nodes` holds the user count, `<name>.edges` one `a b`
 * pair per line. The name is the folder's base name.
 */
export async function readGraph(dir: string): Promise<SocialGraph> {
  const name = dir.replace(/\/+$/, '').split('/').pop() ?? 'graph'
  let nodesText: string
  let edgesText: string
  try {
    nodesText = await readFile(join(dir, `${name}.nodes`), 'utf8')
    edgesText = await readFile(join(dir, `${name}.edges`), 'utf8')
  } catch (cause) {
    throw new BenchError('E_BENCH_DATASET', `cannot read dataset ${name} in ${dir}`, {
      context: { dir },
      cause,
    })
  }
  const users = Number.parseInt(nodesText.trim(), 10)
  if (!Number.isInteger(users) || users <= 0) {
    throw new BenchError('E_BENCH_DATASET', `${name}.nodes must hold a positive user count`, {
      context: { dir },
    })
  }
  const edges: Array<readonly [number, number]> = []
  for (const line of edgesText.split('\n')) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 2 || fields[0] === '') continue
    const a = Number(fields[0])
    const b = Number(fields[1])
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= users || b >= users) {
      throw new BenchError('E_BENCH_DATASET', `${name}.edges has an invalid line: ${line}`, {
        context: { dir },
      })
    }
    if (a !== b) edges.push([a, b])
  }
  return { name, users, edges, source: 'file' }
}

/**
 * A random graph of a given size (uniform edges, no self-loops or duplicates), for when the dataset folder is
 * absent. Same node and edge counts as socfb-Reed98 by default; the degree distribution is flatter.
 *
 * @example
 * const graph = generateGraph(962, 18_812, 42)
 */
export function generateGraph(users: number, edgeCount: number, seed: number): SocialGraph {
  const maxEdges = (users * (users - 1)) / 2
  if (edgeCount > maxEdges) {
    throw new BenchError('E_BENCH_DATASET', `a graph of ${users} users has at most ${maxEdges} edges`, {
      context: { users, edgeCount },
    })
  }
  const random = createRandom(seed)
  const seen = new Set<number>()
  const edges: Array<readonly [number, number]> = []
  while (edges.length < edgeCount) {
    const a = random.int(0, users - 1)
    const b = random.int(0, users - 1)
    if (a === b) continue
    const key = Math.min(a, b) * users + Math.max(a, b)
    if (seen.has(key)) continue
    seen.add(key)
    edges.push([a, b])
  }
  return { name: `generated-${users}-${edgeCount}`, users, edges, source: 'generated' }
}

/** Reads the dataset folder, or generates a graph (socfb-Reed98 size by default) when told to or when it is absent. */
export async function resolveGraph(
  dir: string,
  options: { generate: boolean; seed: number; users?: number; edges?: number },
): Promise<SocialGraph> {
  if (!options.generate) {
    try {
      return await readGraph(dir)
    } catch (error) {
      if (!(error instanceof BenchError) || !(error.cause as { code?: string } | undefined)?.code) throw error
      if ((error.cause as { code?: string }).code !== 'ENOENT') throw error
    }
  }
  return generateGraph(options.users ?? REED98.users, options.edges ?? REED98.edges, options.seed)
}
