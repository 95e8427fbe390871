import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * A `nats-server -js` of the test's own: own port, own store directory, never the shared broker.
 * Like `packages/queue/test/nats-server.ts`, plus `pause()` / `resume()` (SIGSTOP / SIGCONT), which
 * the lost-acknowledgement drill needs: a stopped server leaves what clients send unread in its socket,
 * and a SIGKILL then discards it.
 */
export interface NatsBroker extends AsyncDisposable {
  /** `nats://127.0.0.1:<port>`, the form `HF_NATS_URL` takes. */
  readonly url: string
  /** Starts the server (again) on the same port and store; resolves once it accepts connections. */
  start(): Promise<void>
  /** SIGKILL: no clean shutdown, nothing flushed that the server had not written. */
  kill(): Promise<void>
  /** SIGSTOP: the server reads nothing and answers nothing until `resume()` or `kill()`. */
  pause(): void
  resume(): void
}

export async function startNatsBroker(): Promise<NatsBroker> {
  const port = await freePort()
  const storeDir = await mkdtemp(join(tmpdir(), 'hf-chaos-nats-'))
  let child: ChildProcess | undefined
  const start = async () => {
    if (child) throw new Error('nats-server is running already')
    child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: 'ignore',
    })
    await waitForPort(port)
  }
  const kill = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    start,
    kill,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    async [Symbol.asyncDispose]() {
      await kill()
      await rm(storeDir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket()
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
      socket.connect(port, '127.0.0.1')
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}`)
    await sleep(50)
  }
}
