import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { createRandom } from '../../random.js'
import type { BackendConfig, FleetCommand, FleetReady, FleetReply } from './backend-protocol.js'

/**
 * The backends of the balance suite, in a process of their own so that the client's event loop (and the
 * latencies it measures) never shares a thread with them. Started by `startBackendFleet` with IPC: the parent
 * sets one backend's latency, kills it (the server closes and every socket is destroyed, so new connections
 * are refused) and reads the request counts. Exits when the parent goes away.
 */
const config = JSON.parse(process.argv[2] ?? '{}') as BackendConfig
const random = createRandom(config.seed)

interface Backend {
  server: Server
  sockets: Set<Socket>
  /** A fixed latency replacing the base service time (the slow backend), or null. */
  latencyMs: number | null
  killed: boolean
  received: number
}

/** A lognormal draw (Box–Muller) around the configured median, capped. */
function serviceTimeMs(): number {
  const u = 1 - random.next()
  const v = random.next()
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  return Math.min(config.serviceCapMs, config.serviceMedianMs * Math.exp(config.serviceSigma * z))
}

function startBackend(index: number): Promise<Backend> {
  const body = `{"backend":${index}}`
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length) }
  const backend: Backend = {
    // Idle keep-alive sockets stay open through the run, so no picker loses requests to a keep-alive race.
    server: createServer(
      { keepAliveTimeout: 72_000 },
      (request: IncomingMessage, response: ServerResponse) => {
        backend.received++
        request.resume()
        setTimeout(() => {
          if (!backend.killed) response.writeHead(200, headers).end(body)
        }, backend.latencyMs ?? serviceTimeMs())
      },
    ),
    sockets: new Set(),
    latencyMs: null,
    killed: false,
    received: 0,
  }
  backend.server.on('connection', (socket: Socket) => {
    backend.sockets.add(socket)
    socket.once('close', () => backend.sockets.delete(socket))
  })
  return new Promise((resolve, reject) => {
    backend.server.once('error', reject)
    backend.server.listen(0, '127.0.0.1', () => resolve(backend))
  })
}

function kill(backend: Backend): void {
  backend.killed = true
  backend.server.close()
  for (const socket of backend.sockets) socket.destroy()
  backend.sockets.clear()
}

const backends = await Promise.all(Array.from({ length: config.backends }, (_, i) => startBackend(i)))

function answer(command: FleetCommand): FleetReply {
  if (command.op !== 'counts') {
    const backend = backends[command.index]
    if (!backend) return { id: command.id, error: `no backend #${command.index}` }
    if (command.op === 'latency') backend.latencyMs = command.ms
    else kill(backend)
  }
  return { id: command.id, counts: backends.map((b) => b.received) }
}

process.on('message', (command: FleetCommand) => process.send?.(answer(command)))
process.once('disconnect', () => {
  for (const backend of backends) kill(backend)
  process.exit(0)
})
const ready: FleetReady = {
  ready: true,
  ports: backends.map((b) => {
    const address = b.server.address()
    return typeof address === 'object' && address ? address.port : 0
  }),
}
process.send?.(ready)
