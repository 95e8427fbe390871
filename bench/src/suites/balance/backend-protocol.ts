/** How the backends of one fleet answer; handed to the child process as its one argument (JSON). */
export interface BackendConfig {
  /** HTTP servers to start, each on 127.0.0.1 port 0. */
  backends: number
  /** Median of the lognormal base service time, in ms. */
  serviceMedianMs: number
  /** σ of the log of the base service time (0.5: p99 ≈ 3.2 × the median). */
  serviceSigma: number
  /** Base service times are capped here, in ms, so one draw cannot look like a slow backend. */
  serviceCapMs: number
  seed: number
}

/** The parent's commands; each is answered with a {@link FleetReply} of the same `id`. */
export type FleetCommand =
  | { id: number; op: 'latency'; index: number; ms: number | null }
  | { id: number; op: 'kill'; index: number }
  | { id: number; op: 'counts' }

/** A command's answer: the requests each backend has received so far, or why the command failed. */
export type FleetReply = { id: number; counts: number[] } | { id: number; error: string }

/** The child's first message, once every server listens. */
export interface FleetReady {
  ready: true
  ports: number[]
}
