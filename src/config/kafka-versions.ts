/**
 * Kafka release versions as Kafka 3.x's MetadataVersion (earlier ApiVersion) parses them: the
 * values its deprecated `message.format.version` and `log.message.format.version` accepted.
 * samsa only checks them; it never acts on one.
 */

/** Every internal version Kafka 3.9 knows, oldest first ("3.0-IV1" is release 3.0, internal version 1). */
const INTERNAL_VERSIONS: readonly string[] = [
  '0.8.0',
  '0.8.1',
  '0.8.2',
  '0.9.0',
  '0.10.0-IV0',
  '0.10.0-IV1',
  '0.10.1-IV0',
  '0.10.1-IV1',
  '0.10.1-IV2',
  '0.10.2-IV0',
  '0.11.0-IV0',
  '0.11.0-IV1',
  '0.11.0-IV2',
  '1.0-IV0',
  '1.1-IV0',
  '2.0-IV0',
  '2.0-IV1',
  '2.1-IV0',
  '2.1-IV1',
  '2.1-IV2',
  '2.2-IV0',
  '2.2-IV1',
  '2.3-IV0',
  '2.3-IV1',
  '2.4-IV0',
  '2.4-IV1',
  '2.5-IV0',
  '2.6-IV0',
  '2.7-IV0',
  '2.7-IV1',
  '2.7-IV2',
  '2.8-IV0',
  '2.8-IV1',
  '3.0-IV0',
  '3.0-IV1',
  '3.1-IV0',
  '3.2-IV0',
  '3.3-IV0',
  '3.3-IV1',
  '3.3-IV2',
  '3.3-IV3',
  '3.4-IV0',
  '3.5-IV0',
  '3.5-IV1',
  '3.5-IV2',
  '3.6-IV0',
  '3.6-IV1',
  '3.6-IV2',
  '3.7-IV0',
  '3.7-IV1',
  '3.7-IV2',
  '3.7-IV3',
  '3.7-IV4',
  '3.8-IV0',
  '3.9-IV0',
]

/** Each accepted spelling ("2.8-IV1", and the release alone, "2.8") and the internal version it stands for. */
const VERSION_BY_KEY: ReadonlyMap<string, string> = (() => {
  const out = new Map<string, string>()
  // A release alone names its latest internal version, so later entries overwrite earlier ones.
  for (const v of INTERNAL_VERSIONS) out.set(v.replace(/-IV\d$/, ''), v)
  for (const v of INTERNAL_VERSIONS) out.set(v, v)
  return out
})()

/**
 * The internal version a Kafka version string names, or undefined when Kafka rejects it. As in
 * Kafka's MetadataVersion.fromVersionString, segments past the third ("0.10.0.1") or, for
 * releases from 1.0 on, the second ("2.8.1") are ignored; the value is trimmed first, as Kafka's
 * ConfigDef trims strings.
 */
export function parseKafkaVersion(value: string): string | undefined {
  const version = value.trim()
  const segments = version.split('.')
  // Java's String.split drops trailing empty strings: "2.8." stays one key, which is invalid.
  while (segments.length > 0 && segments.at(-1) === '') segments.pop()
  const kept = version.startsWith('0.') ? 3 : 2
  const key = segments.length <= kept ? version : segments.slice(0, kept).join('.')
  return VERSION_BY_KEY.get(key)
}

/** Why the value of config `name` is not a Kafka version, or undefined when it is one. */
export function invalidKafkaVersion(name: string, value: string): string | undefined {
  if (parseKafkaVersion(value) !== undefined) return undefined
  return `${name} must be a Kafka version such as 0.10.0, 2.8-IV1 or 3.0, got "${value}"`
}
