import { type ChildProcess, spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

/** Options of {@link startNatsServer}. */
export interface NatsServerOptions {
  /** The port to listen on. @default a free port */
  port?: number
  /** JetStream's store directory; kept after `stop()` when given. @default a new temporary directory, removed on `stop()` */
  storeDir?: string
}

/** A `nats-server -js` of the test's own (own port, own store directory), never a shared one. */
export interface NatsServer extends AsyncDisposable {
  /**
   * `nats://127.0.0.1:<port>`: what `jetstreamDriver({ servers })` takes, and a URL an application's
   * configuration (an environment variable) can hold as it is.
   */
  readonly url: string
  readonly port: number
  /**
   * Sends `signal` to the server. `SIGKILL` (the default) and `SIGTERM` wait for it to exit; `SIGSTOP`
   * leaves it running but deaf (what clients send stays unread in its socket) until `SIGCONT`.
   */
  kill(signal?: NodeJS.Signals): Promise<void>
  /**
   * SIGSTOP: the server reads nothing and answers nothing until `resume()`; a `kill()` meanwhile
   * discards what clients sent it, as a crash of a stalled broker would.
   */
  pause(): void
  /** SIGCONT: a paused server reads its sockets again. */
  resume(): void
  /**
   * Starts the server again after `kill()`, on the same port and store; resolves once it accepts
   * connections. Rejects while it is running.
   */
  start(): Promise<void>
  /** Kills the server (SIGKILL: no clean shutdown) and starts it again on the same port and store. */
  restart(): Promise<void>
  /** Kills the server and removes the store directory it created. Also `await using`. */
  stop(): Promise<void>
}

/**
 * Starts `nats-server -js` (from `/usr/sbin/nats-server` or `PATH`) and resolves once it accepts
 * connections.
 *
 * @example
 * await using nats = await startNatsServer()
 * const queue = createQueue({ driver: jetstreamDriver({ servers: nats.url }) })
 * await nats.restart() // SIGKILL, then the same port and store again
 * nats.pause() // a stalled broker: connections stay open, nothing is answered
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const binary = findNatsServer()
  const port = options.port ?? (await freePort())
  const ownStore = options.storeDir === undefined
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), 'hf-queue-nats-')))
  let child: ChildProcess | undefined
  const running = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null
  const start = async () => {
    if (running(child)) throw new Error(`nats-server is running already on ${port}`)
    const c = spawn(binary, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], {
      stdio: 'ignore',
    })
    child = c
    await waitForPort(port, c)
  }
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child
    if (!running(c)) return
    if (signal === 'SIGSTOP' || signal === 'SIGCONT') {
      c.kill(signal)
      return
    }
    child = undefined
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill(signal)
    if (signal !== 'SIGKILL') c.kill('SIGCONT') // a stopped server must run to handle SIGTERM
    await exited
  }
  const stop = async () => {
    await kill('SIGKILL')
    if (ownStore) await rm(storeDir, { recursive: true, force: true })
  }
  const signalIfRunning = (signal: NodeJS.Signals) => {
    if (running(child)) child.kill(signal)
  }
  await start()
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    pause: () => signalIfRunning('SIGSTOP'),
    resume: () => signalIfRunning('SIGCONT'),
    start,
    async restart() {
      await kill('SIGKILL')
      await start()
    },
    stop,
    [Symbol.asyncDispose]: stop,
  }
}

const CANDIDATES = ['/usr/sbin/nats-server']

function findNatsServer(): string {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean)
  for (const path of [...CANDIDATES, ...dirs.map((d) => join(d, 'nats-server'))]) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  throw new Error(
    'startNatsServer: no nats-server binary at /usr/sbin/nats-server or on PATH; install it ' +
      '(https://github.com/nats-io/nats-server/releases) or add its directory to PATH',
  )
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

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 15_000
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`nats-server exited with code ${child.exitCode} before listening on ${port}`)
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
