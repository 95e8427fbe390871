import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  etcdFlags,
  haLayout,
  patroniConfig,
  renderPatroniConfig,
  resolvePatroniOptions,
  toYaml,
} from '../src/ha/index.js'

const run = promisify(execFile)
const python = '/usr/bin/python3'

/** Parses YAML with PyYAML, the parser Patroni itself uses. */
async function pyYaml(text: string): Promise<unknown> {
  const script = 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'
  const child = run(python, ['-c', script])
  child.child.stdin!.end(text)
  return JSON.parse((await child).stdout)
}

const hasPyYaml =
  existsSync(python) &&
  (await run(python, ['-c', 'import yaml']).then(
    () => true,
    () => false,
  ))

const layoutOf = (options: Parameters<typeof resolvePatroniOptions>[0] = {}) => {
  const resolved = resolvePatroniOptions({ basePort: 21_000, ...options })
  return { resolved, layout: haLayout(resolved, '/tmp/hf-patroni-x') }
}

const configOf = (options: Parameters<typeof resolvePatroniOptions>[0] = {}, index = 0): any => {
  const { resolved, layout } = layoutOf(options)
  return patroniConfig(resolved, layout, layout.members[index]!)
}

describe('Patroni cluster options', () => {
  it('defaults to 3 + 3 members, ttl 10, loop_wait 1, retry_timeout 4, asynchronous', () => {
    const o = resolvePatroniOptions()
    expect(o).toMatchObject({ members: 3, etcdMembers: 3, ttl: 10, loopWait: 1, retryTimeout: 4 })
    expect(o.synchronous).toBe(false)
    expect(o.basePort).toBe(18_200)
    expect(Object.isFrozen(o)).toBe(true)
  })

  it('rejects timings that break loop_wait + 2 × retry_timeout ≤ ttl, naming the option', () => {
    expect(() => resolvePatroniOptions({ ttl: 10, retryTimeout: 5 })).toThrow(/options\.ttl must be at least/)
    expect(() => resolvePatroniOptions({ ttl: 11, retryTimeout: 5 })).not.toThrow()
  })

  it.each([
    [{ etcdMembers: 2 }, 'options.etcdMembers'],
    [{ members: 0 }, 'options.members'],
    [{ basePort: 80 }, 'options.basePort'],
    [{ scope: 'a b' }, 'options.scope'],
    [{ parameters: { 'bad name': 1 } }, 'options.parameters'],
    [{ startTimeoutMs: 0 }, 'options.startTimeoutMs'],
  ])('rejects %j with E_INVALID_OPTION naming %s', (options, option) => {
    expect(() => resolvePatroniOptions(options)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option }),
    )
  })
})

describe('the port layout', () => {
  it('gives every member its own ports from the base: etcd +0/+10, PostgreSQL +20, REST +30', () => {
    const { layout } = layoutOf()
    expect(layout.etcd.map((m) => [m.name, m.clientPort, m.peerPort])).toEqual([
      ['etcd-1', 21_000, 21_010],
      ['etcd-2', 21_001, 21_011],
      ['etcd-3', 21_002, 21_012],
    ])
    expect(layout.members.map((m) => [m.name, m.pgPort, m.restPort])).toEqual([
      ['pg-1', 21_020, 21_030],
      ['pg-2', 21_021, 21_031],
      ['pg-3', 21_022, 21_032],
    ])
    expect(layout.members[1]).toMatchObject({
      url: 'postgres://postgres@127.0.0.1:21021/postgres',
      restUrl: 'http://127.0.0.1:21031',
      dataDir: '/tmp/hf-patroni-x/pg-2/data',
      configFile: '/tmp/hf-patroni-x/pg-2/patroni.yml',
    })
  })
})

describe('etcd flags', () => {
  it('bootstrap a static cluster on loopback naming every member', () => {
    const { layout } = layoutOf()
    const flags = etcdFlags(layout, layout.etcd[1]!, 'hundredfold')
    expect(flags).toContain('--name=etcd-2')
    expect(flags).toContain('--data-dir=/tmp/hf-patroni-x/etcd-2')
    expect(flags).toContain('--listen-client-urls=http://127.0.0.1:21001')
    expect(flags).toContain('--advertise-client-urls=http://127.0.0.1:21001')
    expect(flags).toContain('--listen-peer-urls=http://127.0.0.1:21011')
    expect(flags).toContain('--initial-advertise-peer-urls=http://127.0.0.1:21011')
    expect(flags).toContain(
      '--initial-cluster=etcd-1=http://127.0.0.1:21010,etcd-2=http://127.0.0.1:21011,etcd-3=http://127.0.0.1:21012',
    )
    expect(flags).toContain('--initial-cluster-state=new')
  })
})

describe('the Patroni configuration', () => {
  it('points every member at all etcd members through the etcd3 section', () => {
    const config = configOf()
    expect(config.etcd3).toEqual({ hosts: ['127.0.0.1:21000', '127.0.0.1:21001', '127.0.0.1:21002'] })
    expect(config.etcd).toBeUndefined()
  })

  it('gives each member its own name, REST API and PostgreSQL address', () => {
    const config = configOf({}, 2)
    expect(config.name).toBe('pg-3')
    expect(config.restapi).toEqual({ listen: '127.0.0.1:21032', connect_address: '127.0.0.1:21032' })
    expect(config.postgresql).toMatchObject({
      listen: '127.0.0.1:21022',
      connect_address: '127.0.0.1:21022',
      data_dir: '/tmp/hf-patroni-x/pg-3/data',
      bin_dir: '/usr/lib/postgresql/15/bin',
      parameters: { unix_socket_directories: '/tmp/hf-patroni-x/pg-3' },
    })
  })

  it('bootstraps the DCS with fast failover timings and the cluster-wide settings', () => {
    const { dcs } = configOf().bootstrap
    expect(dcs).toMatchObject({
      ttl: 10,
      loop_wait: 1,
      retry_timeout: 4,
      maximum_lag_on_failover: 1_048_576,
      synchronous_mode: false,
    })
    expect(dcs.synchronous_node_count).toBeUndefined()
    expect(dcs.postgresql.parameters).toMatchObject({ max_connections: 200, shared_buffers: '32MB' })
  })

  it('asks for one synchronous standby with synchronous: true', () => {
    const { dcs } = configOf({ synchronous: true }).bootstrap
    expect(dcs).toMatchObject({
      synchronous_mode: true,
      synchronous_node_count: 1,
      synchronous_mode_strict: false,
    })
  })

  it('merges parameters over the defaults', () => {
    const { parameters } = configOf({ parameters: { shared_buffers: '64MB', work_mem: '8MB' } }).bootstrap.dcs
      .postgresql
    expect(parameters).toMatchObject({ shared_buffers: '64MB', work_mem: '8MB', max_connections: 200 })
  })

  it('trusts loopback and the socket, with postgres as superuser and a replication role', () => {
    const { postgresql } = configOf()
    expect(postgresql.pg_hba).toEqual([
      'local all all trust',
      'host all all 127.0.0.1/32 trust',
      'local replication all trust',
      'host replication all 127.0.0.1/32 trust',
    ])
    expect(postgresql.authentication).toEqual({
      superuser: { username: 'postgres' },
      replication: { username: 'replicator' },
      rewind: { username: 'postgres' },
    })
  })

  it.skipIf(!hasPyYaml)('is YAML that PyYAML reads back as the same object', async () => {
    const { resolved, layout } = layoutOf({ synchronous: true })
    const member = layout.members[0]!
    expect(await pyYaml(renderPatroniConfig(resolved, layout, member))).toEqual(
      patroniConfig(resolved, layout, member),
    )
  })
})

describe('toYaml', () => {
  it.skipIf(!hasPyYaml)('keeps YAML 1.1 words, quotes and nesting as they were', async () => {
    const value = {
      on: 'off',
      yes: ['no', 'y', 'null', '~', ''],
      'a key: with colon': { nested: [{ x: 1, y: [true, false, null] }, [], {}] },
      text: 'line\nbreak "quoted" \\ and \t tab',
      n: -1.5,
    }
    expect(await pyYaml(toYaml(value))).toEqual(value)
  })

  it('writes block style, one key per line', () => {
    expect(toYaml({ a: { b: 1 }, c: ['d'] })).toBe('a:\n  b: 1\nc:\n  - "d"\n')
  })
})
