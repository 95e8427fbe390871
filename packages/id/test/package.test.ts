import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// `@hundredfold/id` installs alone: no dependency, no peer, and its sources import nothing but Node's own
// modules and each other. The ID service, which needs PostgreSQL and metrics, is `@hundredfold/id-service`.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: object
  peerDependencies?: object
  exports: Record<string, { '@hundredfold/source': string }>
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

describe('@hundredfold/id as a package', () => {
  it('has no dependencies and no peer dependencies', () => {
    expect(manifest.dependencies ?? {}).toEqual({})
    expect(manifest.peerDependencies ?? {}).toEqual({})
  })

  it('imports only node: modules and its own files', () => {
    const imports = sources(join(ROOT, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"\n]*from '([^']+)'/gm)].map(
        (m) => m[1]!,
      ),
    )
    expect(imports.length).toBeGreaterThan(10)
    expect(imports.filter((name) => !name.startsWith('node:') && !name.startsWith('.'))).toEqual([])
  })

  it.each(Object.keys(manifest.exports))('exports %s, which loads on its own', async (entry) => {
    const module = await import(join(ROOT, manifest.exports[entry]!['@hundredfold/source']))
    expect(Object.keys(module).length).toBeGreaterThan(0)
  })
})
