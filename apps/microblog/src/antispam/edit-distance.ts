/**
 * Whether `a` becomes `b` with at most one edit: a letter inserted, deleted, replaced, or two
 * neighbours swapped (optimal string alignment distance ≤ 1). Linear, without a matrix.
 *
 * @example
 * withinOneEdit('viagrra', 'viagra') // true
 * withinOneEdit('btiocin', 'bitcoin') // false: two swaps
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true
  const la = a.length
  const lb = b.length
  if (Math.abs(la - lb) > 1) return false
  let i = 0
  while (i < la && i < lb && a.charCodeAt(i) === b.charCodeAt(i)) i++
  if (la === lb) {
    // One replacement: the rest is equal. Or one swap of neighbours.
    if (a.slice(i + 1) === b.slice(i + 1)) return true
    return (
      a.charAt(i) === b.charAt(i + 1) && a.charAt(i + 1) === b.charAt(i) && a.slice(i + 2) === b.slice(i + 2)
    )
  }
  // One insertion or deletion: skip a letter of the longer word.
  return la > lb ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1)
}
