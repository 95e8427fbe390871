import { setTimeout as sleep } from 'node:timers/promises'
import type { Deployment } from './deployment.js'
import type { MicroblogProcess } from './microblog-process.js'

/** What the monkey did. */
export interface ChaosFigures {
  /** Workers SIGKILLed. */
  kills: number
  natsRestarts: number
  /** How long the broker was away, in total. */
  natsDownMs: number
  /** Workers that exited without being killed (e.g. started while the broker was away), then replaced. */
  workerExits: string[]
}

export interface ChaosMonkey {
  /** SIGKILLs nats-server, waits `downMs`, starts it again on the same port and store. */
  restartNats(downMs: number): Promise<void>
  /** Stops killing; workers that exit on their own are still replaced until `stop()`. */
  stopKilling(): Promise<void>
  stop(): Promise<ChaosFigures>
}

/**
 * Keeps `deployment` at its number of workers like an orchestrator would, while every
 * `killEveryMs[0]…killEveryMs[1]` ms (uniformly random) it SIGKILLs a random worker and starts a
 * replacement at once. A worker that exits by itself is noted and replaced too.
 */
export function startChaos(
  deployment: Deployment,
  options: { random: () => number; killEveryMs: readonly [number, number] },
): ChaosMonkey {
  const figures: ChaosFigures = { kills: 0, natsRestarts: 0, natsDownMs: 0, workerExits: [] }
  const killed = new WeakSet<MicroblogProcess>()
  let supervising = true
  const killing = new AbortController()
  let restarting: Promise<void> | undefined

  const watch = (worker: MicroblogProcess) => {
    worker.exited.then((exit) => {
      if (killed.has(worker) || !supervising) return
      const why = worker.tail().split('\n').filter(Boolean).slice(-1)[0] ?? ''
      figures.workerExits.push(`${worker.name} exited (${exit.signal ?? exit.code}): ${why.slice(0, 200)}`)
      void deployment.stopWorker(worker)
      if (supervising) watch(deployment.startWorker())
    })
  }
  for (const worker of deployment.workers) watch(worker)

  const killLoop = (async () => {
    const [min, max] = options.killEveryMs
    while (!killing.signal.aborted) {
      try {
        await sleep(min + options.random() * (max - min), undefined, { signal: killing.signal })
      } catch {
        break
      }
      const live = [...deployment.workers]
      const victim = live[Math.floor(options.random() * live.length)]
      if (!victim) continue
      killed.add(victim)
      await deployment.stopWorker(victim, 'SIGKILL')
      figures.kills++
      watch(deployment.startWorker())
    }
  })()

  return {
    restartNats(downMs) {
      restarting = (async () => {
        await restarting
        const down = Date.now()
        await deployment.nats.kill()
        await sleep(downMs)
        await deployment.nats.start()
        figures.natsDownMs += Date.now() - down
        figures.natsRestarts++
      })()
      return restarting
    },
    async stopKilling() {
      killing.abort()
      await killLoop
    },
    async stop() {
      killing.abort()
      await killLoop
      await restarting?.catch(() => {})
      supervising = false
      return figures
    },
  }
}
