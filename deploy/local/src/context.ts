import type { ResolvedStackOptions } from './options.js'
import { type ProcessRecord, type StackState, writeState } from './state.js'

/** What happened to a process during `up`. */
export type Outcome = 'started' | 'reused' | 'restarted' | 'reloaded' | 'stopped'

/** What each step of `up` shares: the options, the state being built, and what it did. */
export interface UpContext {
  readonly options: ResolvedStackOptions
  readonly state: StackState
  /** Writes `stack.json` (after every process started, so `down` always knows what runs). */
  save(): Promise<void>
  /** Notes what happened to a process, and says so. */
  note(record: ProcessRecord, outcome: Outcome): void
  readonly outcomes: Map<string, Outcome>
}

/** A context whose `save` writes `stack.json` and whose `note` logs `<name>: <outcome> (pid, port)`. */
export function createContext(options: ResolvedStackOptions, state: StackState): UpContext {
  const outcomes = new Map<string, Outcome>()
  return {
    options,
    state,
    outcomes,
    save: () => writeState(state),
    note(record, outcome) {
      outcomes.set(record.name, outcome)
      options.log(
        `${record.name}: ${outcome}${record.pid ? ` (pid ${record.pid}, port ${record.port})` : ''}`,
      )
    },
  }
}
