/**
 * A regular expression as Kafka applies its patterns (Java's Matcher.matches: the whole string
 * must match): subscription regexes, transactional id patterns, client metrics selectors.
 * undefined when the source does not compile.
 */
export function wholeMatchRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`, 'u')
  } catch {
    return undefined
  }
}
