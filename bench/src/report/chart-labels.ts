/** A label to place beside a vertical rule at `x` (pixels). */
export interface RuleLabel {
  x: number
  text: string
}

/** Where a label went: the left edge of its text (pixels) and its row (0 = top). */
export interface PlacedLabel extends RuleLabel {
  from: number
  row: number
}

/** Approximate width of a label in DejaVu Sans at `fontSize` (its average advance is about 0.6 em). */
export const textWidth = (text: string, fontSize: number): number => text.length * fontSize * 0.62

/**
 * Places labels of vertical rules so none overlaps another: each goes right of its rule (left when it
 * would leave the plot there, and inside the plot's edge when it fits neither side), on the first row
 * where it clears every label already placed.
 *
 * @example
 * placeRuleLabels([{ x: 100, text: 'MST 50ms' }, { x: 104, text: 'MST 10ms' }], { left: 72, right: 600 }, 11)
 * // the second goes on row 1
 */
export function placeRuleLabels(
  labels: readonly RuleLabel[],
  bounds: { left: number; right: number },
  fontSize: number,
): PlacedLabel[] {
  const gap = 5
  const placed: Array<PlacedLabel & { to: number }> = []
  for (const label of [...labels].sort((a, b) => a.x - b.x)) {
    const width = textWidth(label.text, fontSize)
    let from = label.x + gap
    if (from + width > bounds.right) from = label.x - gap - width
    from = Math.max(bounds.left + 2, Math.min(from, bounds.right - 2 - width))
    const to = from + width
    let row = 0
    while (placed.some((p) => p.row === row && from < p.to + gap && p.from < to + gap)) row++
    placed.push({ ...label, from, row, to })
  }
  return placed.map(({ to: _to, ...label }) => label)
}
