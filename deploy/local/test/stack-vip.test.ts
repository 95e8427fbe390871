import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type StackState, stackDown, stackUp } from '@hundredfold/stack'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isAlive } from '../src/ha/ha-process.js'
import { stackVipId } from '../src/stack-vip.js'
import { ipBin } from '../src/vip/ip-command.js'
import { vipPairDefaults } from '../src/vip/vip-pair-options.js'
import { freeBlock } from './free-block.js'

const run = promisify(execFile)
const hasNetns = await run(ipBin, ['netns', 'list']).then(
  () => true,
  () => false,
)
const skipped =
  process.getuid?.() !== 0
    ? 'not root'
    : !hasNetns
      ? '`ip netns` is unavailable'
      : !existsSync(vipPairDefaults.keepalivedBin)
        ? 'keepalived is not installed'
        : undefined

/** The ports of a stack of 1 app, no replica, no consumer, as offsets from its base; and nginx's. */
const offsets = [0, 10, 20, 21, 30, 31, 100]
const frontOffset = 160

/** What of the stack's front network exists now: namespaces and root-namespace links named `hf<id>-…`. */
function leftovers(id: string): string[] {
  const prefix = `hf${id}-`
  const spaces = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(prefix)) : []
  const links = readdirSync('/sys/class/net').filter((n) => n.startsWith(prefix))
  return [...spaces, ...links]
}

describe.skipIf(skipped !== undefined)(
  `npm run stack -- --vip: a VIP pair in front of the stack${skipped ? ` (skipped: ${skipped})` : ''}`,
  () => {
    let dir: string
    let state: StackState

    beforeAll(async () => {
      dir = await mkdtemp(join('/var/tmp', 'hf-stack-vip-test-'))
      const basePort = await freeBlock([...offsets, frontOffset], { from: 30_000, step: 200, blocks: 50 })
      const result = await stackUp({
        dir,
        apps: 1,
        replicas: 0,
        consumers: 0,
        basePort,
        port: basePort + frontOffset,
        drainMs: 200,
        vip: true,
        env: { HF_LOG_LEVEL: 'warn', HF_DB_POOL_MAX: '4', HF_NAMESPACE: 'stackviptest' },
        healthTimeoutMs: 30_000,
        signal: AbortSignal.timeout(35_000),
      })
      state = result.state
      expect(result.outcomes.get('vip')).toBe('started')
    }, 40_000)

    afterAll(async () => {
      if (dir) {
        await stackDown(dir, { purge: true }).catch((err: unknown) => console.error('stack down failed', err))
        await rm(dir, { recursive: true, force: true })
      }
    }, 30_000)

    it('serves the app through the VIP, lb1 holding it, while frontUrl stays nginx on loopback', async () => {
      expect(state.frontUrl).toBe(`http://127.0.0.1:${state.settings.port}`)
      expect(state.vip?.url).toMatch(/^http:\/\/10\.\d+\.\d+\.100:\d+$/)
      expect(state.vip?.network.id).toBe(stackVipId(dir))
      const res = await fetch(`${state.vip!.url}/readyz`, { signal: AbortSignal.timeout(5000) })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-served-by')).toBe('lb1')
    })

    it('leaves a whole VIP pair as it is on a second up', async () => {
      const again = await stackUp({ dir, signal: AbortSignal.timeout(20_000) })
      expect(again.outcomes.get('vip')).toBe('reused')
      expect(again.state.vip?.nodes.map((n) => n.nginx.pid)).toEqual(state.vip?.nodes.map((n) => n.nginx.pid))
      state = again.state
    }, 25_000)

    it('down stops the pair and deletes its namespaces and link', async () => {
      const procs = state.vip!.nodes.flatMap((n) => [
        n.nginx,
        n.keepalived,
        ...n.workers,
        ...n.keepalivedChildren,
      ])
      expect(procs.filter(isAlive)).toHaveLength(procs.length)
      expect(leftovers(stackVipId(dir)).length).toBeGreaterThan(0)
      const result = await stackDown(dir)
      expect(result.stopped.filter((s) => s.name.endsWith('keepalived')).map((s) => s.outcome)).toEqual([
        'stopped',
        'stopped',
      ])
      expect(procs.filter(isAlive)).toEqual([])
      expect(leftovers(stackVipId(dir))).toEqual([])
      await expect(fetch(`${state.vip!.url}/readyz`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow()
    }, 25_000)
  },
)
