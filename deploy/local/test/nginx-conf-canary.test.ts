import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseSplitLine } from '../src/canary/split-log.js'
import { type NginxCanaryInput, renderNginxConf } from '../src/nginx-conf.js'
import { binaries } from '../src/paths.js'

const run = promisify(execFile)

describe('the nginx configuration with a canary', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hf-nginx-canary-'))
    await mkdir(join(dir, 'temp'), { recursive: true })
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  const render = (canary?: NginxCanaryInput) =>
    renderNginxConf({
      prefix: dir,
      pidFile: join(dir, 'nginx.pid'),
      accessLog: join(dir, 'access.log'),
      errorLog: join(dir, 'error.log'),
      port: 18_888,
      upstreams: [{ port: 18_100 }, { port: 18_101 }],
      appKeepAliveMs: 5000,
      user: process.getuid?.() === 0 ? 'nobody nogroup' : undefined,
      ...(canary ? { canary } : {}),
    })
  const canary = (sharePct: number): NginxCanaryInput => ({
    upstreams: [{ port: 18_150 }, { port: 18_151 }],
    sharePct,
    splitLog: join(dir, 'split.log'),
  })
  const splitBlock = (conf: string) => /split_clients "\$request_id" \$hf_pool \{\n([^}]*)\}/.exec(conf)?.[1]

  it('sends the share to the canary group and the rest to the apps, split on nginx’s own request id', () => {
    const conf = render(canary(1))
    expect(conf).toMatch(
      /upstream microblog_canary \{\n\s+server 127\.0\.0\.1:18150 max_fails=3 fail_timeout=2s;\n\s+server 127\.0\.0\.1:18151 max_fails=3 fail_timeout=2s;/,
    )
    expect(
      splitBlock(conf)
        ?.trim()
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual(['1% microblog_canary;', '* microblog;'])
    expect(conf).toContain('proxy_pass http://$hf_pool;')
    expect(conf).not.toContain('proxy_pass http://microblog;')
    // The baseline's upstream is untouched.
    expect(conf).toContain('server 127.0.0.1:18100 max_fails=3 fail_timeout=2s;')
  })

  it('logs each request with the side that served it, unbuffered, in a line the rollout parses', () => {
    const conf = render(canary(10))
    expect(conf).toContain(`access_log ${join(dir, 'split.log')} hf_split;`)
    const format = /log_format hf_split '([^']*)';/.exec(conf)?.[1]
    expect(format).toBe('$msec $hf_pool $status $request_time $upstream_response_time "$upstream_addr"')
    // The main access log stays as it was.
    expect(conf).toContain(`access_log ${join(dir, 'access.log')} hf_upstream buffer=64k flush=1s;`)
    // A line in that format, as nginx writes it, parses.
    expect(parseSplitLine('1733300000.123 microblog_canary 500 0.004 0.004 "127.0.0.1:18150"')).toEqual({
      atMs: 1_733_300_000_123,
      pool: 'canary',
      status: 500,
      requestMs: 4,
    })
    expect(
      parseSplitLine('1733300000.500 microblog 200 0.031 0.030, 0.001 "127.0.0.1:18100, 127.0.0.1:18101"'),
    ).toMatchObject({ pool: 'baseline', status: 200, requestMs: 31 })
    expect(parseSplitLine('1733300000.5 other 200 0.1 0.1 "-"')).toBeUndefined()
  })

  it('at 100% sends everything to the canary (no catch-all), with fractional shares kept', () => {
    expect(splitBlock(render(canary(100)))?.trim()).toBe('100% microblog_canary;')
    expect(splitBlock(render(canary(0.25)))).toContain('0.25% microblog_canary;')
  })

  it('with no canary, or a canary at 0%, is the configuration without one', () => {
    const plain = render()
    expect(plain).not.toContain('split_clients')
    expect(plain).not.toContain('microblog_canary')
    expect(plain).toContain('proxy_pass http://microblog;')
    expect(render(canary(0))).toBe(plain)
  })

  it('is accepted by nginx -t at every step of a rollout', async () => {
    for (const share of [0.5, 1, 10, 50, 100]) {
      const file = join(dir, `canary-${share}.conf`)
      await writeFile(file, render(canary(share)))
      const { stderr } = await run(binaries.nginx, [
        '-t',
        '-c',
        file,
        '-p',
        `${dir}/`,
        '-e',
        join(dir, 'error.log'),
      ])
      expect(stderr, `share ${share}%`).toContain('test is successful')
    }
  })
})
