import type { StreamConfig } from '@nats-io/jetstream'
import type { StreamSettings, StreamSpec } from '../../driver.js'
import { DiscardPolicy, nanos, RetentionPolicy, StorageType } from './nats-client.js'

/** The settings JetStream lets an update change (`jsm.streams.update` merges them into the rest). */
export function updatableConfig(spec: StreamSpec) {
  return {
    subjects: spec.subjects,
    duplicate_window: nanos(spec.duplicateWindowMs),
    // JetStream's "no limit" is 0 for the age and -1 for the others.
    max_age: spec.maxAgeMs === Number.POSITIVE_INFINITY ? 0 : nanos(spec.maxAgeMs),
    max_bytes: finiteOr(spec.maxBytes, -1),
    max_msgs: finiteOr(spec.maxMessages, -1),
    discard: spec.discard === 'new' ? DiscardPolicy.New : DiscardPolicy.Old,
    num_replicas: spec.replicas,
  }
}

/** The whole configuration of a new stream. */
export function createConfig(spec: StreamSpec) {
  return {
    ...updatableConfig(spec),
    name: spec.name,
    storage: spec.storage === 'file' ? StorageType.File : StorageType.Memory,
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
  }
}

/** The settings a stream has on the server, in this package's terms. */
export function settingsOf(config: StreamConfig): StreamSettings {
  return {
    duplicateWindowMs: Math.round((config.duplicate_window ?? 0) / 1e6),
    storage: config.storage === StorageType.Memory ? 'memory' : 'file',
    // A stream made by other tools may say `interest`, which this package never sets: shown as it is.
    retention: config.retention as StreamSettings['retention'],
    discard: config.discard === DiscardPolicy.New ? 'new' : 'old',
    maxAgeMs: config.max_age > 0 ? Math.round(config.max_age / 1e6) : Number.POSITIVE_INFINITY,
    maxBytes: config.max_bytes > 0 ? config.max_bytes : Number.POSITIVE_INFINITY,
    maxMessages: config.max_msgs > 0 ? config.max_msgs : Number.POSITIVE_INFINITY,
    replicas: config.num_replicas,
  }
}

function finiteOr(value: number, none: number): number {
  return value === Number.POSITIVE_INFINITY ? none : value
}
