/**
 * The options of a JAAS login module entry as Kafka's sasl.jaas.config holds them:
 * `org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="secret";`.
 */

/** The key=value options of a JAAS config (quoted values unescaped). */
export function jaasOptions(config: string): Map<string, string> {
  const options = new Map<string, string>()
  const re = /([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))/g
  for (const m of config.matchAll(re)) {
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] as string)
    options.set(m[1] as string, value)
  }
  return options
}

/** The users of a PLAIN login module: its `user_<name>="<password>"` options. */
export function jaasPlainUsers(config: string): Map<string, string> {
  const users = new Map<string, string>()
  for (const [key, value] of jaasOptions(config)) {
    if (key.startsWith('user_') && key.length > 5) users.set(key.slice(5), value)
  }
  return users
}
