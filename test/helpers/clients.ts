/**
 * Real third-party clients for end-to-end tests: kafkajs (with the snappy, lz4 and zstd codecs a
 * kafkajs user registers), @platformatic/kafka, and @confluentinc/kafka-javascript where it is
 * installed.
 */
import { createRequire } from 'node:module'
import type { KafkaConfig, Kafka as KafkaType } from 'kafkajs'
import { loadKafkajs } from '../protocol/records/helpers.ts'
import type { ConfluentKafkaJS, ConfluentNative } from './confluent-types.ts'

const require = createRequire(import.meta.url)

/** A kafkajs client for the broker, with every compression codec registered and logs quiet. */
export function kafkajsClient(bootstrap: string, config: Partial<KafkaConfig> = {}): KafkaType {
  loadKafkajs()
  const { Kafka, logLevel } = require('kafkajs') as typeof import('kafkajs')
  return new Kafka({ brokers: [bootstrap], clientId: 'samsa-test', logLevel: logLevel.NOTHING, ...config })
}

export type Platformatic = typeof import('@platformatic/kafka')

/** @platformatic/kafka, loaded lazily (it warns about its engines on Node 20 but works). */
export async function platformatic(): Promise<Platformatic> {
  return import('@platformatic/kafka')
}

/**
 * Options of a @platformatic/kafka classic group member that notices rebalances within a test's
 * patience (3 s session and rebalance timeouts, 200 ms heartbeats), reading strings.
 */
export function platformaticMemberOptions(
  pk: Platformatic,
  member: { clientId: string; bootstrap: string; groupId: string },
  extra: Record<string, unknown> = {},
): ConstructorParameters<Platformatic['Consumer']>[0] {
  return {
    clientId: member.clientId,
    bootstrapBrokers: [member.bootstrap],
    groupId: member.groupId,
    sessionTimeout: 3000,
    heartbeatInterval: 200,
    rebalanceTimeout: 3000,
    maxWaitTime: 100,
    deserializers: pk.stringDeserializers,
    ...extra,
  } as ConstructorParameters<Platformatic['Consumer']>[0]
}

const CONFLUENT = '@confluentinc/kafka-javascript'

export const CONFLUENT_MISSING = `${CONFLUENT} is not installed (it compiles librdkafka, see Development in README.md); CI installs it`

/**
 * The KafkaJS-compatible API of @confluentinc/kafka-javascript, or undefined when the package is
 * absent. It is an optional dependency that CI installs with --no-save; locally it may also come
 * from NODE_PATH. An installed package that fails to load is an error, not a reason to skip.
 */
export function confluentKafkaJS(): ConfluentKafkaJS | undefined {
  return confluentNative()?.KafkaJS
}

/** The whole package (its node-rdkafka-style API beside KafkaJS), or undefined when it is absent. */
export function confluentNative(): (ConfluentNative & { KafkaJS: ConfluentKafkaJS }) | undefined {
  try {
    require.resolve(CONFLUENT)
  } catch {
    return undefined
  }
  return require(CONFLUENT) as ConfluentNative & { KafkaJS: ConfluentKafkaJS }
}
