/**
 * Real third-party clients for end-to-end tests: kafkajs (with the snappy, lz4 and zstd codecs a
 * kafkajs user registers) and @platformatic/kafka.
 */
import { createRequire } from 'node:module'
import type { KafkaConfig, Kafka as KafkaType } from 'kafkajs'
import { loadKafkajs } from '../protocol/records/helpers.ts'

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
