/**
 * Checks the CLI makes before asking the broker, with the broker's own rules and wording: topic
 * names (Kafka's Topic.validate) and config values (the registry the broker validates with). A
 * value the broker would refuse is a usage error (exit code 2) before any request is sent. Config
 * names the registry does not know are left to the broker: another Kafka may know them.
 */
import { invalidTopicName } from '../broker/topics.ts'
import { BROKER_CONFIG_BY_NAME } from '../config/broker-configs.ts'
import { TOPIC_CONFIG_BY_NAME, validateConfigValue } from '../config/topic-configs.ts'
import { UsageError } from './common.ts'

/** Throws a usage error for a topic name Kafka would refuse. */
export function checkTopicName(name: string): void {
  const why = invalidTopicName(name)
  if (why !== undefined) throw new UsageError(`invalid topic name: ${why}`)
}

/** Throws a usage error for the first config value the broker would refuse. */
export function checkConfigValues(kind: 'topic' | 'broker', values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    const def = (kind === 'topic' ? TOPIC_CONFIG_BY_NAME : BROKER_CONFIG_BY_NAME).get(name)
    const why = def === undefined ? undefined : validateConfigValue(def, value)
    if (why !== undefined) throw new UsageError(`invalid config ${name}=${value}: ${why}`)
  }
}
