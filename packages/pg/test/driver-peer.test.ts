import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const HIDE = fileURLToPath(new URL('../../../scripts/hide-packages.mjs', import.meta.url))

describe.each([
  { entry: '@hundredfold/pg/pglite', file: 'pglite', peer: '@electric-sql/pglite' },
  { entry: '@hundredfold/pg/node-postgres', file: 'pg', peer: 'pg' },
])('$entry without $peer', ({ entry, file, peer }) => {
  it(`fails its import with E_PEER_MISSING and the command that installs ${peer}`, async () => {
    const url = new URL(`../src/drivers/${file}/index.ts`, import.meta.url).href
    const script = `import(${JSON.stringify(url)}).then(
      () => console.log('imported'),
      (err) => console.log(JSON.stringify({ code: err.code, name: err.name, message: err.message, peer: err.context?.peer, cause: err.cause?.code })),
    )`
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', HIDE, '-e', script], {
      env: { ...process.env, HIDE_PACKAGES: peer },
    })
    expect(JSON.parse(stdout)).toEqual({
      code: 'E_PEER_MISSING',
      name: 'PgError',
      message: `${entry} needs ${peer}: npm install ${peer}`,
      peer,
      cause: 'ERR_MODULE_NOT_FOUND',
    })
  })
})
