// A route server of the guard suite in a process of its own, so that the load's event loop and the
// server's do not share a core: starts the contender's app on 127.0.0.1 port 0, reports the port over
// IPC, and closes when the parent disconnects.
import type { AddressInfo } from 'node:net'
import { buildRouteApp, type RouteServerConfig } from './route-app.js'

const config = JSON.parse(process.argv[2] ?? '{}') as RouteServerConfig
const { app, close } = await buildRouteApp(config)
await app.listen({ port: 0, host: '127.0.0.1' })
process.send!({ port: (app.server.address() as AddressInfo).port })
process.once('disconnect', () => {
  void close().finally(() => process.exit(0))
})
