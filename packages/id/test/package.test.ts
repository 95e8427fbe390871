import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// `@hundredfold/id` installs alone: no dependency, and its sources import nothing but Node's own modules and
// each other. The one peer, optional, is vitest, for `@hundredfold/id/testing` (the lease-store contract)
// alone. The ID service, which needs PostgreSQL and metrics, is `@hundredfold/id-service`.

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: object
  peerDependencies?: object
  peerDependenciesMeta?: object
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
  it('has no dependencies, and no peer but vitest, optional', () => {
    expect(manifest.dependencies ?? {}).toEqual({})
    expect(Object.keys(manifest.peerDependencies ?? {})).toEqual(['vitest'])
    expect(manifest.peerDependenciesMeta).toEqual({ vitest: { optional: true } })
  })

  it('imports only node: modules and its own files, and vitest only in src/testing', () => {
    const imports = sources(join(ROOT, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"\n]*from '([^']+)'/gm)].map((m) => ({
        file: relative(ROOT, file),
        name: m[1]!,
      })),
    )
    expect(imports.length).toBeGreaterThan(10)
    const foreign = imports.filter(({ name }) => !name.startsWith('node:') && !name.startsWith('.'))
    expect(
      foreign.filter(({ file, name }) => !(name === 'vitest' && file.startsWith('src/testing/'))),
    ).toEqual([])
  })

  it.each(Object.keys(manifest.exports))('exports %s, which loads on its own', async (entry) => {
    const module = await import(join(ROOT, manifest.exports[entry]!['@hundredfold/source']))
    expect(Object.keys(module).length).toBeGreaterThan(0)
  })
})
