import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { binaries } from '../src/paths.js'
import {
  chooseSubnet,
  cidrOverlaps,
  formatCidr,
  frontLayout,
  parseCidr,
  parseIpv4,
  renderKeepalivedConf,
  renderVipNginxConf,
  resolveFrontOptions,
  resolveVipPairOptions,
} from '../src/vip/index.js'

const run = promisify(execFile)
const cidr = (text: string) => parseCidr(text)!
/** A loopback port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
const route = (text: string) => ({ network: cidr(text), text })

describe('IPv4 networks', () => {
  it('parses prefixes, bare addresses (/32) and default (0/0), clearing host bits', () => {
    expect(parseCidr('10.231.7.9/24')).toEqual({ base: parseIpv4('10.231.7.0'), bits: 24 })
    expect(parseCidr('192.0.2.2')).toEqual({ base: parseIpv4('192.0.2.2'), bits: 32 })
    expect(parseCidr('default')).toEqual({ base: 0, bits: 0 })
    for (const bad of [
      '10.231.7.0/33',
      '10.231.7/24',
      '256.0.0.0/8',
      '01.2.3.4',
      'fe80::/64',
      '1.2.3.4/2/3',
    ]) {
      expect(parseCidr(bad)).toBeUndefined()
    }
  })

  it('overlaps when one contains the other', () => {
    expect(cidrOverlaps(cidr('10.0.0.0/8'), cidr('10.231.7.0/24'))).toBe(true)
    expect(cidrOverlaps(cidr('10.231.7.1'), cidr('10.231.7.0/24'))).toBe(true)
    expect(cidrOverlaps(cidr('10.231.7.0/24'), cidr('10.231.8.0/24'))).toBe(false)
    expect(cidrOverlaps(cidr('192.0.2.0/24'), cidr('10.231.0.0/16'))).toBe(false)
  })
})

describe('choosing the front subnet', () => {
  const routes = [route('default'), route('192.0.2.0/24'), route('127.0.0.0/8')]

  it('picks a /24 of 10.231.0.0/16 that no route overlaps, the same for the same id; a default route does not count', () => {
    const picked = chooseSubnet(routes, 'abc')
    expect(picked.bits).toBe(24)
    expect(cidrOverlaps(picked, cidr('10.231.0.0/16'))).toBe(true)
    expect(chooseSubnet(routes, 'abc')).toEqual(picked)
    const taken = [
      ...routes,
      route(formatCidr(picked)),
      route(`${formatCidr(picked).split('/')[0]!.replace(/0$/, '1')}`),
    ]
    const next = chooseSubnet(taken, 'abc')
    expect(next).not.toEqual(picked)
    expect(taken.some((r) => r.network.bits > 0 && cidrOverlaps(r.network, next))).toBe(false)
  })

  it('takes a wanted subnet unless a route overlaps it, and then names the route', () => {
    expect(formatCidr(chooseSubnet(routes, 'x', cidr('10.231.9.0/24')))).toBe('10.231.9.0/24')
    expect(() => chooseSubnet([...routes, route('10.0.0.0/8')], 'x', cidr('10.231.9.0/24'))).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', message: expect.stringContaining('10.0.0.0/8') }),
    )
  })

  it('fails with E_INVALID_OPTION when every /24 of the pool is routed', () => {
    expect(() => chooseSubnet([route('10.231.0.0/16')], 'x')).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'options.subnet' }),
    )
  })
})

describe('the front network layout and options', () => {
  it('keeps every name within 15 characters and puts client .1, lb1 .11, lb2 .12, the VIP .100', () => {
    const layout = frontLayout('abcdefgh', parseIpv4('10.231.7.0')!)
    const names = [layout.bridgeNamespace, layout.clientInterface, ...layout.nodes.map((n) => n.namespace)]
    expect(names).toEqual(['hfabcdefgh-br', 'hfabcdefgh-c', 'hfabcdefgh-lb1', 'hfabcdefgh-lb2'])
    for (const name of names) expect(name.length).toBeLessThanOrEqual(15)
    expect(layout.subnet).toBe('10.231.7.0/24')
    expect([layout.clientAddress, ...layout.nodes.map((n) => n.address), layout.vip]).toEqual([
      '10.231.7.1',
      '10.231.7.11',
      '10.231.7.12',
      '10.231.7.100',
    ])
  })

  it('generates a short id and rejects a bad id or subnet, naming the option', () => {
    expect(resolveFrontOptions().id).toMatch(/^[a-z0-9]{6}$/)
    expect(Object.isFrozen(resolveFrontOptions())).toBe(true)
    for (const [options, option] of [
      [{ id: 'toolong12' }, 'options.id'],
      [{ id: 'Up' }, 'options.id'],
      [{ subnet: '10.231.7.0/23' }, 'options.subnet'],
      [{ subnet: '10.231.7.5/24' }, 'options.subnet'],
      [{ subnet: '8.8.8.0/24' }, 'options.subnet'],
      [{ commandTimeoutMs: 0 }, 'options.commandTimeoutMs'],
    ] as const) {
      expect(() => resolveFrontOptions(options)).toThrow(
        expect.objectContaining({ code: 'E_INVALID_OPTION', option }),
      )
    }
  })
})

describe('VIP pair options', () => {
  it('defaults to port 8088, priorities 250 > 200, adverts every 0.2 s, a check every second', () => {
    const o = resolveVipPairOptions()
    expect(o).toMatchObject({ port: 8088, virtualRouterId: 51, advertIntS: 0.2, checkIntervalS: 1 })
    expect(o.priorities).toEqual([250, 200])
    expect(o.backends).toEqual([])
    expect(Object.isFrozen(o)).toBe(true)
    expect(resolveVipPairOptions({ backends: ['http://10.231.7.1:8080'] }).backends).toEqual([
      { host: '10.231.7.1', port: 8080 },
    ])
  })

  it.each([
    [{ backends: ['http://example.com:80'] }, 'options.backends'],
    [{ backends: ['https://10.0.0.1:443'] }, 'options.backends'],
    [{ backends: ['http://10.0.0.1:80/api'] }, 'options.backends'],
    [{ priorities: [100, 150] as const }, 'options.priorities'],
    [{ priorities: [255, 1] as const }, 'options.priorities'],
    [{ advertIntS: 0.005 }, 'options.advertIntS'],
    [{ checkIntervalS: 0.5 }, 'options.checkIntervalS'],
    [{ virtualRouterId: 0 }, 'options.virtualRouterId'],
    [{ port: 70_000 }, 'options.port'],
  ])('rejects %o, naming %s', (options, option) => {
    expect(() => resolveVipPairOptions(options)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION', option }),
    )
  })
})

describe('keepalived.conf', () => {
  const conf = renderKeepalivedConf({
    name: 'lb1',
    interface: 'eth0',
    address: '10.231.7.11',
    peers: ['10.231.7.12'],
    vip: '10.231.7.100',
    virtualRouterId: 51,
    priority: 150,
    advertIntS: 0.2,
    check: {
      command: '/usr/bin/curl -sf -m 0.8 -o /dev/null http://10.231.7.11:8088/healthz',
      intervalS: 1,
      timeoutS: 1,
    },
  })
  const line = (key: string) => new RegExp(`^\\s*${key}$`, 'm')

  it('runs VRRPv3 over unicast between the two nodes, with fractional adverts', () => {
    expect(conf).toMatch(line('vrrp_version 3'))
    expect(conf).toMatch(line('unicast_src_ip 10.231.7.11'))
    expect(conf).toMatch(/unicast_peer \{\s+10\.231\.7\.12\s+\}/)
    expect(conf).toMatch(line('advert_int 0.2'))
    expect(conf).toMatch(line('priority 150'))
    expect(conf).toMatch(line('virtual_router_id 51'))
    expect(conf).toMatch(/virtual_ipaddress \{\s+10\.231\.7\.100\/32 dev eth0\s+\}/)
    expect(conf).toMatch(line('state BACKUP'))
    expect(conf).not.toContain('vrrp_strict') // strict mode forbids unicast
  })

  it('drops the VIP after one failed check of its nginx, and takes it back after one success', () => {
    expect(conf).toContain('script "/usr/bin/curl -sf -m 0.8 -o /dev/null http://10.231.7.11:8088/healthz"')
    for (const key of ['interval 1', 'timeout 1', 'fall 1', 'rise 1']) expect(conf).toMatch(line(key))
    expect(conf).toMatch(/track_script \{\s+nginx_alive\s+\}/)
    expect(conf).toMatch(line('enable_script_security'))
    expect(conf).not.toMatch(/weight/) // no weight: a failed check means FAULT, which releases the VIP
  })

  it('refuses a check command that would break out of its quotes', () => {
    expect(() =>
      renderKeepalivedConf({
        name: 'lb1',
        interface: 'eth0',
        address: '10.0.0.1',
        peers: [],
        vip: '10.0.0.2',
        virtualRouterId: 1,
        priority: 1,
        advertIntS: 1,
        check: { command: 'true" ; "x', intervalS: 1, timeoutS: 1 },
      }),
    ).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION', option: 'check.command' }))
  })
})

describe('the VIP nginx.conf', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-vip-conf-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  const render = (
    backends: Array<{ host: string; port: number }>,
    listen = ['10.231.7.100', '10.231.7.12'],
    port = 8088,
  ) =>
    renderVipNginxConf({
      name: 'lb2',
      prefix: dir,
      pidFile: join(dir, 'nginx.pid'),
      errorLog: join(dir, 'error.log'),
      listen,
      port,
      backends,
      user: process.getuid?.() === 0 ? 'nobody nogroup' : undefined,
    })

  it('runs in the foreground and listens on the VIP and on its own address', () => {
    const conf = render([])
    expect(conf).toMatch(/^daemon off;$/m)
    expect(conf).toContain('listen 10.231.7.100:8088;')
    expect(conf).toContain('listen 10.231.7.12:8088;')
    expect(conf).toContain('return 200 "lb2";')
    expect(conf).toMatch(/location = \/healthz/)
    expect(conf).toMatch(/location \/ \{\s+return 404;/)
  })

  it('proxies everything else to the backends, naming itself in X-Served-By', () => {
    const conf = render([{ host: '10.231.7.1', port: 8080 }])
    expect(conf).toContain('server 10.231.7.1:8080 max_fails=3 fail_timeout=2s;')
    expect(conf).toContain('proxy_pass http://backends;')
    expect(conf).toContain('add_header X-Served-By lb2 always;')
  })

  // nginx -t binds what it listens on: loopback and a port free now, not the VIP of a namespace.
  it('is accepted by nginx -t, with and without backends', async () => {
    await mkdir(join(dir, 'temp'), { recursive: true })
    const port = await freePort()
    for (const [name, backends] of [
      ['none.conf', []],
      [
        'two.conf',
        [
          { host: '10.231.7.1', port: 8080 },
          { host: '10.231.7.2', port: 8080 },
        ],
      ],
    ] as const) {
      await writeFile(join(dir, name), render([...backends], ['127.0.0.1'], port))
      const args = ['-t', '-c', join(dir, name), '-p', `${dir}/`, '-e', join(dir, 'error.log')]
      const { stderr } = await run(binaries.nginx, args)
      expect(stderr).toContain('test is successful')
    }
  })
})
