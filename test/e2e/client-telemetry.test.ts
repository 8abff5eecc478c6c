/**
 * Client telemetry (KIP-714) from real clients: a CLIENT_METRICS subscription is set through
 * @platformatic/kafka's admin API, then librdkafka (through @confluentinc/kafka-javascript) and
 * Apache Kafka's Java client push their producer metrics, which appear on the broker's /metrics
 * under their client id and the instance id the broker gave them; no push is refused. Each client
 * is skipped with a message where it is not installed.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { CONFLUENT_MISSING, confluentKafkaJS, platformatic } from '../helpers/clients.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaClient } from '../helpers/java-client.ts'

const CLIENT_METRICS = 16
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const confluent = confluentKafkaJS()

describe('client telemetry from real clients', () => {
  let broker: Broker

  before(async () => {
    broker = await startBroker({ httpPort: 0 })
    const plt = await platformatic()
    const admin = new plt.Admin({ clientId: 'telemetry-admin', bootstrapBrokers: [broker.bootstrap], retries: 0 })
    try {
      await admin.createTopics({ topics: ['telemetry'], partitions: 1, replicas: 1 })
      await admin.incrementalAlterConfigs({
        resources: [
          {
            resourceType: CLIENT_METRICS,
            resourceName: 'producers',
            configs: [
              { name: 'metrics', configOperation: 0, value: 'org.apache.kafka.producer.' },
              { name: 'interval.ms', configOperation: 0, value: '1000' },
              { name: 'match', configOperation: 0, value: 'client_id=telemetry-.*' },
            ],
          },
        ],
      })
    } finally {
      await admin.close()
    }
  })
  after(() => broker.close())

  /** The instance ids of the clients with this client id that have producer metrics on /metrics. */
  async function pushedInstances(clientId: string): Promise<string[]> {
    const text = await (await fetch(`http://localhost:${broker.httpPort}/metrics`)).text()
    const ids = new Set<string>()
    for (const line of text.split('\n')) {
      if (!line.startsWith('org_apache_kafka_producer_') || !line.includes(`client_id="${clientId}"`)) continue
      const id = /client_instance_id="([^"]+)"/.exec(line)?.[1]
      if (id) ids.add(id)
    }
    return [...ids]
  }

  /** Error codes the broker answered PushTelemetry and GetTelemetrySubscriptions with. */
  async function telemetryErrors(): Promise<string[]> {
    const text = await (await fetch(`http://localhost:${broker.httpPort}/metrics`)).text()
    return text
      .split('\n')
      .filter(
        (l) => l.startsWith('samsa_request_errors_total{') && /api="(PushTelemetry|GetTelemetrySubscriptions)"/.test(l),
      )
  }

  test('librdkafka pushes its metrics', { skip: confluent ? false : CONFLUENT_MISSING }, async () => {
    const { Kafka, logLevel } = confluent!
    const kafka = new Kafka({
      kafkaJS: { brokers: [broker.bootstrap], clientId: 'telemetry-librdkafka', logLevel: logLevel.NOTHING },
    })
    const producer = kafka.producer()
    await producer.connect()
    try {
      await producer.send({ topic: 'telemetry', messages: [{ key: 'k', value: 'v' }] })
      const ids = await waitUntil(
        'librdkafka metrics on /metrics',
        async () => {
          const found = await pushedInstances('telemetry-librdkafka')
          return found.length > 0 && found
        },
        { timeoutMs: 30_000 },
      )
      assert.equal(ids.length, 1)
      assert.match(ids[0] as string, UUID)
    } finally {
      await producer.disconnect()
    }
    assert.deepEqual(await telemetryErrors(), [])
  })

  test('the Java client pushes its metrics under the instance id it was given', {
    skip: hasJavaClient ? false : JAVA_CLIENT_MISSING,
  }, async () => {
    let seen: string[] = []
    const run = javaClient<{ clientInstanceId: string }>([
      'telemetry',
      broker.bootstrap,
      'telemetry',
      'telemetry-java',
      '4000',
    ])
    // While the producer runs, its pushes (every second) show up.
    const watch = waitUntil(
      'Java client metrics on /metrics',
      async () => {
        seen = await pushedInstances('telemetry-java')
        return seen.length > 0
      },
      { timeoutMs: 60_000 },
    )
    const [printed] = await Promise.all([run, watch])
    assert.deepEqual(seen, [printed.clientInstanceId])
    assert.deepEqual(await telemetryErrors(), [])
  })
})
