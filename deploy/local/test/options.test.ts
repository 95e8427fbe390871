import { resolveStackOptions, StackError, stackDefaults } from '@hundredfold/stack'
import { describe, expect, it } from 'vitest'
import { microblogSettings } from '../src/apps.js'
import { passThrough, planStack } from '../src/layout.js'
import { natsArgs } from '../src/nats.js'
import { stackVipId } from '../src/stack-vip.js'
import { allProcesses, natsNodes } from '../src/state.js'
import { frontLayout } from '../src/vip/front-layout.js'

describe('stack options', () => {
  it('takes flags over HF_STACK_* over the running stack over the defaults', () => {
    const env = { HF_STACK_APPS: '4', HF_STACK_PORT: '9000' }
    expect(resolveStackOptions({ env })).toMatchObject({ apps: 4, port: 9000, replicas: 2, consumers: 1 })
    expect(resolveStackOptions({ env, apps: 3 }).apps).toBe(3)
    expect(resolveStackOptions({ env: {} }, { apps: 5, port: 7000 })).toMatchObject({ apps: 5, port: 7000 })
    expect(resolveStackOptions({ env: {} })).toMatchObject({
      dir: stackDefaults.dir,
      port: 8088,
      basePort: 18_000,
      drainMs: 1000,
    })
  })

  it('rejects a bad value, naming the variable or option', () => {
    const bad = (fn: () => unknown) => {
      try {
        fn()
      } catch (err) {
        expect(err).toBeInstanceOf(StackError)
        expect((err as StackError).code).toBe('E_INVALID_OPTION')
        return (err as StackError).message
      }
      throw new Error('did not throw')
    }
    expect(bad(() => resolveStackOptions({ env: { HF_STACK_APPS: 'two' } }))).toMatch(
      /HF_STACK_APPS must be an integer in 1\.\.50, got 'two'/,
    )
    expect(bad(() => resolveStackOptions({ env: {}, replicas: 12 }))).toMatch(
      /options\.replicas must be an integer in 0\.\.9/,
    )
    expect(bad(() => resolveStackOptions({ env: {}, port: 18_050 }))).toMatch(/falls in the internal block/)
  })

  it('passes every HF_* setting to the apps but the ones the stack sets and its own', () => {
    expect(
      passThrough({
        HF_WRK2_API: 'on',
        HF_LOG_LEVEL: 'warn',
        HF_DATABASE_URL: 'postgres://elsewhere/x',
        HF_PORT: '1',
        HF_STACK_DIR: '/x',
        HF_TEST_REDIS_URL: 'redis://x',
        PATH: '/bin',
      }),
    ).toEqual({ HF_LOG_LEVEL: 'warn', HF_WRK2_API: 'on' })
  })

  it('lays the processes out on fixed offsets from the base port', () => {
    const state = planStack(resolveStackOptions({ env: {}, dir: '/var/tmp/x', basePort: 20_000, port: 9090 }))
    expect(state.postgres!.primary.port).toBe(20_000)
    expect(state.postgres!.replicas.map((r) => r.port)).toEqual([20_001, 20_002])
    expect([state.redis.port, state.nats.port, state.nats.monitorPort]).toEqual([20_010, 20_020, 20_021])
    expect([state.nats.name, state.nats.routePort, state.natsCluster]).toEqual(['nats', undefined, undefined])
    expect(state.natsUrl).toBe('nats://127.0.0.1:20020')
    expect(state.idServices.map((r) => r.port)).toEqual([20_030, 20_031])
    expect(state.consumers.map((r) => r.port)).toEqual([20_040])
    expect(state.apps.map((r) => r.port)).toEqual([20_100, 20_101])
    expect(state.frontUrl).toBe('http://127.0.0.1:9090')
    expect(state.replicaUrls).toEqual([
      'postgres://postgres@127.0.0.1:20001/microblog',
      'postgres://postgres@127.0.0.1:20002/microblog',
    ])
  })

  it('with --ha, lays etcd and Patroni out from base + 150, hands the apps every member, and checks its switches', () => {
    const options = resolveStackOptions({
      env: { HF_STACK_HA: 'on', HF_PG_SYNC: 'on' },
      dir: '/var/tmp/x',
      basePort: 20_000,
      port: 9090,
    })
    expect(options).toMatchObject({ ha: true, pgSync: true })
    const state = planStack(options)
    expect(state.postgres).toBeUndefined()
    expect(state.patroni?.synchronous).toBe(true)
    expect(state.patroni?.etcd.map((r) => r.port)).toEqual([20_150, 20_151, 20_152])
    expect(state.patroni?.members.map((r) => [r.name, r.port, r.monitorPort])).toEqual([
      ['pg-1', 20_170, 20_180],
      ['pg-2', 20_171, 20_181],
      ['pg-3', 20_172, 20_182],
    ])
    expect(state.databaseHosts).toEqual(
      [20_170, 20_171, 20_172].map((p) => `postgres://postgres@127.0.0.1:${p}/microblog`),
    )
    expect(state.replicaUrls).toEqual([])
    const refused = (env: Record<string, string>, extra = {}) => {
      try {
        resolveStackOptions({ env, ...extra })
      } catch (err) {
        return (err as StackError).message
      }
      return 'accepted'
    }
    expect(refused({ HF_PG_SYNC: 'on' })).toMatch(/HF_PG_SYNC=on needs --ha/)
    expect(refused({ HF_STACK_HA: 'yes' })).toMatch(/HF_STACK_HA must be on or off/)
    expect(refused({ HF_STACK_HA: 'on' }, { replicas: 0 })).toMatch(/--ha needs at least one replica/)
    // The Patroni block widens the internal block to 200 ports.
    expect(refused({ HF_STACK_HA: 'on' }, { basePort: 20_000, port: 20_190 })).toMatch(/20000\.\.20199/)
    expect(refused({}, { basePort: 20_000, port: 20_190 })).toBe('accepted')
  })

  it("with --vip (HF_STACK_VIP=on), records it in the settings and keeps the running stack's VIP", () => {
    expect(resolveStackOptions({ env: {} }).vip).toBe(false)
    expect(resolveStackOptions({ env: { HF_STACK_VIP: 'on' } }).vip).toBe(true)
    expect(resolveStackOptions({ env: { HF_STACK_VIP: 'on' }, vip: false }).vip).toBe(false)
    // The running stack's setting wins over the default, a variable over it: `off` turns it off.
    expect(resolveStackOptions({ env: {} }, { vip: true }).vip).toBe(true)
    expect(resolveStackOptions({ env: { HF_STACK_VIP: 'off' } }, { vip: true }).vip).toBe(false)
    expect(() => resolveStackOptions({ env: { HF_STACK_VIP: 'yes' } })).toThrow(
      /HF_STACK_VIP must be on or off, got 'yes'/,
    )
    const options = resolveStackOptions({ env: {}, vip: true, ha: true, dir: '/var/tmp/x' })
    const state = planStack(options)
    expect(state.settings).toMatchObject({ vip: true, ha: true })
    expect(state.vip).toBeUndefined()
    expect(state.frontUrl).toBe('http://127.0.0.1:8088')
    const network = frontLayout(stackVipId('/var/tmp/x'), 0x0ae70700)
    const vip = { url: 'http://10.231.7.100:8088', network, dir: '/var/tmp/x/vip', nodes: [] }
    const next = planStack(options, { ...state, vip })
    expect(next.vip).toEqual(vip)
    expect(JSON.parse(JSON.stringify(next)).vip.network.clientAddress).toBe('10.231.7.1')
    // The same directory names the same namespaces, within Linux's 15 characters.
    expect(stackVipId('/var/tmp/x')).toBe(stackVipId('/var/tmp/x'))
    expect(stackVipId('/var/tmp/x')).not.toBe(stackVipId('/var/tmp/y'))
    expect(stackVipId('/var/tmp/x')).toMatch(/^[a-z0-9]{1,8}$/)
    expect(network.clientInterface.length).toBeLessThanOrEqual(15)
  })

  it('with --ha, runs NATS as three clustered nodes on +20…+28 and hands the apps all three at R3', () => {
    const options = resolveStackOptions({ env: { HF_STACK_HA: 'on' }, dir: '/var/tmp/x', basePort: 20_000 })
    const state = planStack(options)
    const nodes = natsNodes(state)
    expect(nodes.map((r) => [r.name, r.port, r.monitorPort, r.routePort])).toEqual([
      ['nats-1', 20_020, 20_021, 20_022],
      ['nats-2', 20_023, 20_024, 20_025],
      ['nats-3', 20_026, 20_027, 20_028],
    ])
    expect(state.nats.name).toBe('nats-1')
    expect(state.natsCluster?.map((r) => r.name)).toEqual(['nats-2', 'nats-3'])
    expect(new Set(nodes.map((r) => r.dataDir)).size).toBe(3)
    // Each process once, in `allProcesses` as in `status` and `down`.
    const names = allProcesses(state).map((r) => r.name)
    expect(names.filter((n) => n.startsWith('nats'))).toEqual(['nats-1', 'nats-2', 'nats-3'])
    expect(new Set(names).size).toBe(names.length)
    expect(state.natsUrl).toBe('nats://127.0.0.1:20020,nats://127.0.0.1:20023,nats://127.0.0.1:20026')
    const app = microblogSettings(state, state.apps[0]!)
    expect(app).toMatchObject({ HF_NATS_URL: state.natsUrl, HF_QUEUE_REPLICAS: '3' })
    // The user's own HF_QUEUE_REPLICAS wins; without --ha the stack sets none.
    const own = planStack(
      resolveStackOptions({
        env: { HF_STACK_HA: 'on', HF_QUEUE_REPLICAS: '1' },
        dir: '/var/tmp/x',
        basePort: 20_000,
      }),
    )
    expect(microblogSettings(own, own.apps[0]!)['HF_QUEUE_REPLICAS']).toBe('1')
    const single = planStack(resolveStackOptions({ env: {}, dir: '/var/tmp/x', basePort: 20_000 }))
    expect(microblogSettings(single, single.apps[0]!)['HF_QUEUE_REPLICAS']).toBeUndefined()
    // nats-2: its own store and name, a route port, routes to the other two.
    expect(natsArgs(state, state.natsCluster![0]!)).toEqual([
      '-js',
      '-a',
      '127.0.0.1',
      '-p',
      '20023',
      '-m',
      '20024',
      '-sd',
      '/var/tmp/x/nats/nats-2',
      '-n',
      'nats-2',
      '--cluster',
      'nats://127.0.0.1:20025',
      '--cluster_name',
      'hf-stack-20020',
      '--routes',
      'nats://127.0.0.1:20022,nats://127.0.0.1:20028',
    ])
    expect(natsArgs(single, single.nats)).not.toContain('--cluster')
  })
})
