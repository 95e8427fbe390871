import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderNginxConf } from '../src/nginx-conf.js'
import { binaries } from '../src/paths.js'

const run = promisify(execFile)

describe('the nginx configuration', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-nginx-conf-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const render = (upstreams: Array<{ port: number; down?: boolean }>) =>
    renderNginxConf({
      prefix: dir,
      pidFile: join(dir, 'nginx.pid'),
      accessLog: join(dir, 'access.log'),
      errorLog: join(dir, 'error.log'),
      port: 18_888,
      upstreams,
      appKeepAliveMs: 5000,
      user: process.getuid?.() === 0 ? 'nobody nogroup' : undefined,
    })

  it("with --vip, also listens on the front network's client address, where the VIP pair passes", () => {
    const plain = render([{ port: 18_100 }])
    expect(plain.match(/^\s*listen /gm)).toHaveLength(1)
    const conf = renderNginxConf({
      prefix: dir,
      pidFile: join(dir, 'nginx.pid'),
      accessLog: join(dir, 'access.log'),
      errorLog: join(dir, 'error.log'),
      port: 18_888,
      upstreams: [{ port: 18_100 }],
      appKeepAliveMs: 5000,
      user: undefined,
      extraListen: ['10.231.7.1'],
    })
    expect(conf).toContain(
      '    listen 127.0.0.1:18888 backlog=4096;\n    listen 10.231.7.1:18888 backlog=4096;\n',
    )
  })

  it('keeps upstream connections alive, shorter than the apps do, with passive health', () => {
    const conf = render([{ port: 18_100 }, { port: 18_101 }])
    expect(conf).toContain('server 127.0.0.1:18100 max_fails=3 fail_timeout=2s;')
    expect(conf).toContain('server 127.0.0.1:18101 max_fails=3 fail_timeout=2s;')
    expect(conf).toMatch(/keepalive 64;/)
    expect(conf).toMatch(/keepalive_timeout 4000ms;/)
    expect(conf).toContain('proxy_http_version 1.1;')
    expect(conf).toContain('proxy_set_header Connection "";')
  })

  it('retries idempotent requests only, passes request ids through and logs upstream timings', () => {
    const conf = render([{ port: 18_100 }])
    const retry = /^\s*proxy_next_upstream (.*);$/m.exec(conf)![1]!
    expect(retry.split(' ')).toEqual(['error', 'timeout', 'http_502', 'http_504'])
    expect(retry).not.toContain('non_idempotent')
    expect(conf).toContain('proxy_set_header X-Request-Id $hf_request_id;')
    expect(conf).toMatch(/map \$http_x_request_id \$hf_request_id/)
    for (const v of [
      '$upstream_addr',
      '$upstream_status',
      '$upstream_response_time',
      '$upstream_connect_time',
      '$request_time',
    ]) {
      expect(conf).toContain(v)
    }
  })

  it('is accepted by nginx -t, also with a lone app marked down', async () => {
    await mkdir(join(dir, 'temp'), { recursive: true })
    for (const [name, upstreams] of [
      ['two.conf', [{ port: 18_100 }, { port: 18_101 }]],
      ['down.conf', [{ port: 18_100, down: true }]],
    ] as const) {
      await writeFile(join(dir, name), render([...upstreams]))
      const { stderr } = await run(binaries.nginx, [
        '-t',
        '-c',
        join(dir, name),
        '-p',
        `${dir}/`,
        '-e',
        join(dir, 'error.log'),
      ])
      expect(stderr).toContain('test is successful')
    }
  })
})
