/**
 * Stable codes of {@link StackError}. Callers match on `code`, never on `message`.
 *
 * - `E_INVALID_OPTION`: a flag or `HF_STACK_*` variable failed validation, or asks for a change the running stack cannot make in place.
 * - `E_PORT_IN_USE`: a port the stack needs is held by a process it did not start.
 * - `E_MISSING_BINARY`: a server binary (nginx, postgres, redis-server, nats-server) is not installed.
 * - `E_NOT_BUILT`: the microblog or the ID service has no build (`npm run build`).
 * - `E_PERMISSION`: PostgreSQL must run as the `postgres` OS user, and this process can neither be nor become it.
 * - `E_COMMAND_FAILED`: a command the stack runs (initdb, pg_ctl, pg_basebackup, nginx -t) failed.
 * - `E_NOT_HEALTHY`: a process did not become healthy within its bound (the message names its log).
 * - `E_NOT_RUNNING`: the command needs a running stack and there is none in that directory.
 * - `E_BUSY`: another `up`, `down` or `restart` holds the stack's lock.
 */
export type StackErrorCode =
  | 'E_INVALID_OPTION'
  | 'E_PORT_IN_USE'
  | 'E_MISSING_BINARY'
  | 'E_NOT_BUILT'
  | 'E_PERMISSION'
  | 'E_COMMAND_FAILED'
  | 'E_NOT_HEALTHY'
  | 'E_NOT_RUNNING'
  | 'E_BUSY'

/** Context fields a {@link StackError} may carry; which ones are set depends on `code`. */
export interface StackErrorContext {
  /** `E_INVALID_OPTION`: the flag or variable, e.g. `--apps` or `HF_STACK_APPS`. */
  option?: string
  /** `E_PORT_IN_USE`, `E_NOT_HEALTHY`: the process concerned, e.g. `app-2`. */
  component?: string
  /** `E_PORT_IN_USE`: the ports taken, each with what the stack wanted it for. */
  ports?: ReadonlyArray<{ port: number; component: string }>
  /** `E_NOT_HEALTHY`, `E_COMMAND_FAILED`: where to look. */
  log?: string
  /** `E_COMMAND_FAILED`, `E_MISSING_BINARY`: the command line. */
  command?: string
  /** `E_NOT_RUNNING`, `E_BUSY`: the stack's directory. */
  dir?: string
}

/**
 * The one error class of `@hundredfold/stack`: a stable `code`, the context fields for that code, and `cause`.
 *
 * @example
 * try {
 *   await stackUp({ apps: 2 })
 * } catch (err) {
 *   if (err instanceof StackError && err.code === 'E_PORT_IN_USE') console.error(err.ports)
 *   else throw err
 * }
 */
export class StackError extends Error {
  override readonly name = 'StackError'
  readonly code: StackErrorCode
  readonly option?: string
  readonly component?: string
  readonly ports?: ReadonlyArray<{ port: number; component: string }>
  readonly log?: string
  readonly command?: string
  readonly dir?: string

  constructor(
    code: StackErrorCode,
    message: string,
    context: StackErrorContext = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.code = code
    Object.assign(this, context)
  }
}
