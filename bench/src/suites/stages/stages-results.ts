import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { machineInfo } from '../../machine/machine-info.js'
import { type BenchOptions, recordableOptions } from '../../options.js'
import { commandLine, type ResultsDocument } from '../../results.js'
import type { StageRow } from './stage-row.js'

/** The dataset every stage was loaded with. */
export interface StagesDataset {
  name: string
  source: string
  users: number
  edges: number
  /** Each user composed a uniform 0…this many posts while loading (the same seed in every stage). */
  max_posts_per_user: number
  seed: number
}

/**
 * `bench/results/stages.json`: a results document like every suite's (date, command, machine, options,
 * flat metrics, every step with its stage in the phase: `cache:mst`) plus the dataset and one row per stage.
 */
export interface StagesDocument extends ResultsDocument {
  dataset: StagesDataset
  stages: StageRow[]
}

/** What the suite hands to `writeStagesResults`. */
export type StagesInput = Pick<
  StagesDocument,
  'description' | 'dataset' | 'stages' | 'metrics' | 'steps' | 'notes'
>

/**
 * Writes `<outDir>/<suite>.json` atomically (temp file + rename) and returns its path.
 *
 * @example
 * const path = await writeStagesResults('stages', { description, dataset, stages: rows, metrics, steps, notes }, options)
 */
export async function writeStagesResults(
  suite: string,
  input: StagesInput,
  options: Readonly<BenchOptions>,
): Promise<string> {
  const document: StagesDocument = {
    suite,
    description: input.description,
    date: new Date().toISOString(),
    command: commandLine(),
    machine: machineInfo(),
    options: recordableOptions(options),
    dataset: input.dataset,
    stages: input.stages,
    metrics: input.metrics,
    steps: input.steps,
    notes: input.notes,
    extra: {},
  }
  await mkdir(options.outDir, { recursive: true })
  const path = join(options.outDir, `${suite}.json`)
  await writeFile(`${path}.tmp`, `${JSON.stringify(document, null, 2)}\n`)
  await rename(`${path}.tmp`, path)
  return path
}
