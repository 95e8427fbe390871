import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** A nats-server of the test's own (own port, own store directory), never the shared one. */
export interface OwnNatsServer {
  readonly url: string
  /** Kills the server (SIGKILL: no clean shutdown) and starts it again on the same port and store. */
  restart(): Promise<void>
  kill(): Promise<void>
  start(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export async function startNatsServer(): Promise<OwnNatsServer> {
  const port = await freePort()
  const storeDir = await mkdtemp(join(tmpdir(), 'hf-queue-nats-'))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: 'ignore',
    })
    await waitForPort(port)
  }
  const kill = async () => {
    const c = child
    child = undefined
    if (!c || c.exitCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill('SIGKILL')
    await exited
  }
  await start()
  return {
    url: `127.0.0.1:${port}`,
    start,
    kill,
    async restart() {
      await kill()
      await start()
    },
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
  const deadline = Date.now() + 10_000
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
