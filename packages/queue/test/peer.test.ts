import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const HIDE = fileURLToPath(new URL('../../../scripts/hide-packages.mjs', import.meta.url))
const NATS = ['@nats-io/jetstream', '@nats-io/nats-core', '@nats-io/transport-node']

/** Imports `file` (under src/) in a fresh node where `hidden` are not installed → what the import threw. */
async function importWithout(file: string, hidden: readonly string[]) {
  const url = new URL(`../src/${file}`, import.meta.url).href
  const script = `import(${JSON.stringify(url)}).then(
    () => console.log(JSON.stringify({ imported: true })),
    (err) => console.log(JSON.stringify({ code: err.code, name: err.name, message: err.message, peer: err.context?.peer, cause: err.cause?.code })),
  )`
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--import', HIDE, '-e', script], {
    env: { ...process.env, HIDE_PACKAGES: hidden.join(',') },
  })
  return JSON.parse(stdout) as Record<string, unknown>
}

describe.each([
  ...NATS.map((peer) => ({
    entry: '@hundredfold/queue/jetstream',
    file: 'drivers/jetstream/index.ts',
    peer,
  })),
  { entry: '@hundredfold/queue/testing', file: 'testing/index.ts', peer: 'vitest' },
])('$entry without $peer', ({ entry, file, peer }) => {
  it(`fails its import with E_PEER_MISSING and the command that installs ${peer}`, async () => {
    expect(await importWithout(file, [peer])).toEqual({
      code: 'E_PEER_MISSING',
      name: 'QueueError',
      message: `${entry} needs ${peer}: npm install ${peer}`,
      peer,
      cause: 'ERR_MODULE_NOT_FOUND',
    })
  })
})

describe('@hundredfold/queue/jetstream without any NATS library', () => {
  it('names every missing peer in one npm install', async () => {
    expect(await importWithout('drivers/jetstream/index.ts', NATS)).toEqual({
      code: 'E_PEER_MISSING',
      name: 'QueueError',
      message: `@hundredfold/queue/jetstream needs ${NATS.join(', ')}: npm install ${NATS.join(' ')}`,
      peer: NATS[0],
      cause: 'ERR_MODULE_NOT_FOUND',
    })
  })
})

describe('@hundredfold/queue', () => {
  it('needs no peer: the main entry (and its in-process driver) imports without NATS and vitest', async () => {
    expect(await importWithout('index.ts', [...NATS, 'vitest'])).toEqual({ imported: true })
  })
})
