import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const HIDE = fileURLToPath(new URL('../../../scripts/hide-packages.mjs', import.meta.url))
const ENTRY = new URL('../src/drivers/redis/index.ts', import.meta.url).href

describe('@hundredfold/cache/redis without ioredis', () => {
  it('fails its import with E_PEER_MISSING and the command that installs ioredis', async () => {
    const script = `import(${JSON.stringify(ENTRY)}).then(
      () => console.log('imported'),
      (err) => console.log(JSON.stringify({ code: err.code, message: err.message, peer: err.context?.peer })),
    )`
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', HIDE, '-e', script], {
      env: { ...process.env, HIDE_PACKAGES: 'ioredis' },
    })
    expect(JSON.parse(stdout)).toEqual({
      code: 'E_PEER_MISSING',
      message: '@hundredfold/cache/redis needs ioredis: npm install ioredis',
      peer: 'ioredis',
    })
  })
})
