/** Edit distance for "did you mean" suggestions. */

/** Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      )
    }
    previous = current
  }
  return previous[b.length] as number
}

/**
 * The candidate closest to `name`, if it is close enough to be a typo: at most a third of the
 * name's length away (and never more than 4 edits).
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(4, Math.max(1, Math.floor(name.length / 3)))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const c of candidates) {
    const d = editDistance(name, c)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}
