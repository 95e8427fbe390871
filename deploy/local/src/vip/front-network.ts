import type { FrontLayout, FrontNode } from './front-layout.js'

/**
 * A private test network for a floating address: a bridge in a namespace of its own, two
 * load-balancer namespaces on it, and the root namespace on it as the client.
 */
export interface FrontNetwork extends FrontLayout {
  /** Every namespace it made: `hf<id>-lb1`, `hf<id>-lb2`, `hf<id>-br`. */
  readonly namespaces: readonly string[]
  readonly nodes: readonly [FrontNode, FrontNode]
  /** Deletes every link and namespace it made; idempotent. Stop what runs in the namespaces first. */
  destroy(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
