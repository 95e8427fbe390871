import { workerData } from 'node:worker_threads'
import { type AntispamVerdict, checkText } from './check-text.js'
import type { AntispamModel } from './classifier.js'
import { defaultAntispamModel } from './default-model.js'

// A piscina worker. The thread that made the pool passes its model in `workerData`: the weights are on a
// SharedArrayBuffer, so every worker reads the one copy instead of training its own at start.
const shared = (workerData as { antispamModel?: AntispamModel } | null)?.antispamModel
const model = shared ?? defaultAntispamModel()

/** Runs {@link checkText} on one post. */
export default function antispamTask(text: string): AntispamVerdict {
  return checkText(text, model)
}
