import type { ShardMap } from '../map/shard-map.js'
import type { ShardRouter } from '../router/shard-router.js'
import type { WriteHold } from '../router/write-gate.js'
import type { RouterSwitch } from './switch-routers.js'

/** In-process holds by router and switch, so a switch finished later in this process releases them. */
const localHolds = new WeakMap<ShardRouter, Map<string, { hold: WriteHold; startedAt: number }>>()

/** The routers given in process: held, switched and released directly. @internal */
export class LocalRouters {
  readonly #routers: readonly ShardRouter[]
  readonly #id: string

  constructor(routers: readonly ShardRouter[], id: string) {
    this.#routers = routers
    this.#id = id
  }

  async hold(databases: readonly number[], signal: AbortSignal | undefined): Promise<void> {
    await Promise.all(
      this.#routers.map(async (router) => {
        let holds = localHolds.get(router)
        if (holds === undefined) {
          holds = new Map()
          localHolds.set(router, holds)
        }
        if (holds.has(this.#id)) return
        const startedAt = performance.now()
        const hold = await router.hold(databases, signal ? { signal } : {})
        holds.set(this.#id, { hold, startedAt })
      }),
    )
  }

  release(): void {
    for (const router of this.#routers) {
      const holds = localHolds.get(router)
      holds?.get(this.#id)?.hold.release()
      holds?.delete(this.#id)
    }
  }

  switchTo(map: ShardMap): RouterSwitch[] {
    return this.#routers.map((router, i) => {
      if (router.map.version < map.version) router.useMap(map)
      const held = localHolds.get(router)?.get(this.#id)
      held?.hold.release()
      localHolds.get(router)?.delete(this.#id)
      return {
        id: `local-${i}`,
        name: 'in-process',
        pauseMs: held ? performance.now() - held.startedAt : 0,
        bufferedWrites: held?.hold.buffered ?? 0,
        version: router.map.version,
      }
    })
  }
}
