/**
 * The principal of a TLS client, as Kafka's default principal builder makes it: `User:` and the
 * certificate subject in RFC 2253 form (most specific part first: `CN=app,OU=eng,O=acme,C=US`),
 * rewritten by ssl.principal.mapping.rules. Clients without a certificate are User:ANONYMOUS.
 */
import type { X509Certificate } from 'node:crypto'

export const ANONYMOUS = 'User:ANONYMOUS'

/** One of ssl.principal.mapping.rules: DEFAULT, or a pattern the whole subject must match. */
type PrincipalRule = { kind: 'default' } | { kind: 'rule'; pattern: RegExp; replacement: string; fold: '' | 'L' | 'U' }

/** Parses ssl.principal.mapping.rules (`RULE:pattern/replacement/[LU]` and `DEFAULT`, comma separated). */
export function parsePrincipalRules(value: string): PrincipalRule[] {
  const rules: PrincipalRule[] = []
  // A comma inside a rule's pattern or replacement is escaped, or sits between RULE: and the last slash.
  const re = /\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?))\s*(?:,|$)/gy
  let at = 0
  while (at < value.length) {
    const m = re.exec(value)
    if (m === null || m[0] === '') break
    at = re.lastIndex
    if (m[1]) rules.push({ kind: 'default' })
    else {
      rules.push({
        kind: 'rule',
        pattern: new RegExp(`^(?:${m[2]})$`),
        replacement: m[3] as string,
        fold: (m[4] ?? '') as '' | 'L' | 'U',
      })
    }
  }
  if (at < value.trim().length || rules.length === 0) {
    throw new Error(
      `Invalid value ${value} for configuration ssl.principal.mapping.rules: Invalid rule: ${value.slice(at)}`,
    )
  }
  return rules
}

/** The subject of a certificate in RFC 2253 order, as Java's X500Principal.getName() gives it. */
export function subjectName(cert: X509Certificate): string {
  return cert.subject.split('\n').reverse().join(',')
}

/** The principal of a client certificate's subject under the mapping rules; undefined when no rule applies. */
export function mapSubject(subject: string, rules: readonly PrincipalRule[]): string | undefined {
  for (const rule of rules) {
    if (rule.kind === 'default') return `User:${subject}`
    if (!rule.pattern.test(subject)) continue
    const name = subject.replace(rule.pattern, rule.replacement)
    return `User:${rule.fold === 'L' ? name.toLowerCase() : rule.fold === 'U' ? name.toUpperCase() : name}`
  }
  return undefined
}
