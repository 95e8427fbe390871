import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { StackError } from './errors.js'

/** Whether nothing listens on `port` of the loopback address (nor on the wildcard). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

/** Fails with `E_PORT_IN_USE` listing every port of `wanted` that something else holds. */
export async function assertPortsFree(
  wanted: ReadonlyArray<{ port: number; component: string }>,
): Promise<void> {
  const taken = []
  for (const entry of wanted) if (!(await isPortFree(entry.port))) taken.push(entry)
  if (taken.length === 0) return
  const list = taken.map((t) => `${t.port} (${t.component})`).join(', ')
  throw new StackError(
    'E_PORT_IN_USE',
    `port${taken.length > 1 ? 's' : ''} ${list} already in use by another process: stop it, or move the stack (--port, --base-port)`,
    { ports: taken, component: taken[0]!.component },
  )
}

/** Waits until `port` is free again (a process that just exited may leave it briefly), up to `timeoutMs`. */
export async function waitPortFree(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!(await isPortFree(port))) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}
