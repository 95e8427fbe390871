import { connect, createServer, type Socket } from 'node:net'

/** A TCP relay: each connection to `host:port` piped to its target, bytes both ways. */
export interface TcpRelay extends AsyncDisposable {
  readonly host: string
  readonly port: number
  /** Stops listening and destroys every connection it holds. */
  close(): Promise<void>
}

/**
 * Listens on `host` (port 0: any) and pipes each connection to `toHost:toPort` — how a server in a
 * namespace reaches one that listens on the root namespace's loopback only.
 *
 * @example
 * await using relay = await startTcpRelay('10.232.7.1', '127.0.0.1', 18200)
 */
export async function startTcpRelay(
  host: string,
  toHost: string,
  toPort: number,
  { signal }: { signal?: AbortSignal } = {},
): Promise<TcpRelay> {
  signal?.throwIfAborted()
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(toPort, toHost)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve))
  const close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resolve())
    })
  return {
    host,
    port: (server.address() as { port: number }).port,
    close,
    [Symbol.asyncDispose]: close,
  }
}
