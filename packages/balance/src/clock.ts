/** Milliseconds from an arbitrary origin; injectable so tests drive time by hand. @internal */
export type Clock = () => number

/** The default clock: `performance.now()`, monotonic. @internal */
export const monotonic: Clock = () => performance.now()
