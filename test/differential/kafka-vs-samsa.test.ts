/**
 * Differential tests: the same scenarios against Apache Kafka's own broker (one KRaft node from
 * the Maven artifacts, test/helpers/apache-kafka.ts) and against samsa, through kafkajs,
 * @platformatic/kafka, kcat and raw requests, comparing what a client observes: records,
 * ListOffsets answers, error codes of refused requests, group states and descriptions,
 * transactions through read_committed, and a topic's configs. Both brokers start once for the
 * file. Skipped where Java 17+, Maven or the artifacts are missing (CI fetches them beforehand).
 *
 * Every accepted difference is in ALLOWED below with its reason; nothing is skipped silently.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { type ApacheKafka, kafkaDist, startKafka } from '../helpers/apache-kafka.ts'
import { kafkajsClient, platformatic } from '../helpers/clients.ts'
import { hasKcat } from '../helpers/kcat.ts'
import { describeKafkajsGroup, readWithKafkajs, readWithKcat, readWithPlatformatic } from './clients.ts'
import {
  alterConfigsScenario,
  classicGroupScenario,
  consumerGroupScenario,
  createTopicsScenario,
  deleteRecordsScenario,
  describeConfigsScenario,
  idempotentProduceScenario,
  listOffsetsScenario,
  produceFetchErrorsScenario,
  topicAdminScenario,
  transactionalReadScenario,
  transactionErrorsScenario,
} from './scenarios.ts'
import { COORDINATOR, createTopic, observeBoth, type Target, waitForCoordinator } from './support.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

/**
 * The differences between Kafka and samsa that these tests accept, each with why. A scenario
 * accepts one at a given place of its observations (accept()); an entry whose difference no
 * longer shows fails the last test, so that the list stays true.
 */
const ALLOWED = {
  'incremental-alter-unknown-operation':
    'IncrementalAlterConfigs with an operation byte outside 0-3: Kafka fails on it unexpectedly (UNKNOWN_SERVER_ERROR), samsa refuses it as INVALID_REQUEST, which says what is wrong.',
  'metadata-auto-create':
    'Metadata naming a topic to auto-create: Kafka answers UNKNOWN_TOPIC_OR_PARTITION while its controller creates the topic (clients ask again), samsa creates it before answering and describes it at once. The topic exists on both afterwards.',
  'duplicate-append-time':
    "A duplicate of an idempotent producer's batch on a CreateTime topic: Kafka answers its first offset with logAppendTimeMs set to the batch's max timestamp, samsa with -1 as for any CreateTime append (the spec's -1 for CreateTime topics).",
  'consumer-group-epochs':
    "KIP-848 epochs: a member's first heartbeat to a new group gets epoch 2 from Kafka (the group's epoch moves once for the member and once more for the subscribed topics' metadata), 1 from samsa. Clients only echo the epoch they were given; the member, group and assignment epochs agree with each other on both.",
  'consumer-group-describe-regex':
    'ConsumerGroupDescribe: a member that subscribed by names has subscribedTopicRegex "" from Kafka, null from samsa (the field is nullable; both mean no regex).',
  'topic-configs-tiered-storage':
    'Tiered storage (KIP-405) is not offered by samsa: no remote.* or local.retention.* topic configs.',
  'topic-configs-replication-throttles':
    'samsa has no replica fetching to throttle: no leader/follower.replication.throttled.replicas.',
  'topic-configs-compression-levels':
    "compression.gzip/lz4/zstd.level (KIP-390) are not topic configs in samsa yet: it compresses with the codecs' default levels.",
  'topic-configs-share-dlq':
    "errors.deadletterqueue.group.enable (share groups' dead-letter queues, Kafka 4.4) is not in samsa.",
  'topic-configs-max-decompressed':
    'max.decompressed.message.bytes (Kafka 4.4) is not a topic config in samsa; its decompression limit is fixed.',
  'topic-configs-kafka-3':
    'Topic configs Kafka 4.0 removed and samsa keeps for older clients and tools: message.format.version (accepted and ignored, KIP-724), message.downconversion.enable (samsa still serves Fetch v0-3) and message.timestamp.difference.max.ms.',
  'topic-configs-timestamp-after-max':
    'message.timestamp.after.max.ms: Kafka 4.0 lowered its default to one hour (KIP-1030); samsa keeps the earlier unlimited default, so records stamped more than an hour ahead are refused by Kafka and accepted by samsa.',
  'topic-configs-min-insync-source':
    "min.insync.replicas: Kafka's storage format writes a cluster-wide dynamic default of 1 (configSource DYNAMIC_DEFAULT_BROKER_CONFIG), samsa reports the built-in default 1 (DEFAULT_CONFIG).",
} as const satisfies Record<string, string>

type Allowed = keyof typeof ALLOWED

/** The topic configs that only one of the brokers has, and those whose defaults differ, by reason. */
const ONLY_KAFKA_TOPIC_CONFIGS: Record<string, Allowed> = {
  'compression.gzip.level': 'topic-configs-compression-levels',
  'compression.lz4.level': 'topic-configs-compression-levels',
  'compression.zstd.level': 'topic-configs-compression-levels',
  'errors.deadletterqueue.group.enable': 'topic-configs-share-dlq',
  'follower.replication.throttled.replicas': 'topic-configs-replication-throttles',
  'leader.replication.throttled.replicas': 'topic-configs-replication-throttles',
  'local.retention.bytes': 'topic-configs-tiered-storage',
  'local.retention.ms': 'topic-configs-tiered-storage',
  'max.decompressed.message.bytes': 'topic-configs-max-decompressed',
  'remote.copy.lag.bytes': 'topic-configs-tiered-storage',
  'remote.copy.lag.ms': 'topic-configs-tiered-storage',
  'remote.log.copy.disable': 'topic-configs-tiered-storage',
  'remote.log.delete.on.disable': 'topic-configs-tiered-storage',
  'remote.storage.enable': 'topic-configs-tiered-storage',
}
const ONLY_SAMSA_TOPIC_CONFIGS: Record<string, Allowed> = {
  'message.downconversion.enable': 'topic-configs-kafka-3',
  'message.format.version': 'topic-configs-kafka-3',
  'message.timestamp.difference.max.ms': 'topic-configs-kafka-3',
}
const DIFFERENT_TOPIC_CONFIGS: Record<string, Allowed> = {
  'message.timestamp.after.max.ms': 'topic-configs-timestamp-after-max',
  'min.insync.replicas': 'topic-configs-min-insync-source',
}
const applied = new Set<Allowed>()

/**
 * Accepts the difference `key` where `at` points in both observations: samsa's value there is
 * replaced by Kafka's, and the entry counts as applied if they differed.
 */
function accept<T>(
  key: Allowed,
  seen: { kafka: T; samsa: T },
  at: (o: T) => { get(): unknown; set(v: unknown): void },
): void {
  const [kafka, samsa] = [at(seen.kafka), at(seen.samsa)]
  if (JSON.stringify(kafka.get()) !== JSON.stringify(samsa.get())) applied.add(key)
  samsa.set(kafka.get())
}

/** The place at the end of `path` in an observation (object keys and array indexes), for accept(). */
const at =
  (...path: (string | number)[]) =>
  (o: unknown) => {
    const keys = path.slice(0, -1)
    const last = path.at(-1) as string | number
    const parent = keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], o) as
      | Record<string | number, unknown>
      | undefined
    return {
      get: () => parent?.[last],
      set: (v: unknown) => {
        if (parent !== undefined) parent[last] = v
      },
    }
  }

/**
 * Client timestamps of the transactions scenario: recent, since Kafka starts a new segment for a
 * batch stamped more than segment.ms after the segment's first (the markers carry the time of
 * their writing), and a Kafka fetch never reads past the end of a segment.
 */
const RECENT = Date.now() - 60_000

const dist = await kafkaDist()
const SKIP = dist.ok
  ? false
  : `Apache Kafka's broker is not available here (needs Java 17+ and Maven reaching Maven Central; CI fetches it): ${dist.reason.split('\n')[0]}`

/**
 * The JVM of a test broker starts quicker with the serial collector and the client compiler alone
 * (several seconds on a busy two-core machine); the tests send too little for throughput to matter.
 */
const KAFKA_TEST_JVM = ['-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true']

/** Kafka's settings that only make a one-node test broker quick; none changes what is compared. */
const KAFKA_TEST_PROPERTIES = {
  // As Kafka's own config/server.properties, and samsa's startBroker().
  'group.initial.rebalance.delay.ms': '0',
  // One partition each for the offsets and transaction state topics that Kafka creates on first use.
  'offsets.topic.num.partitions': '1',
  'transaction.state.log.num.partitions': '1',
}

describe('Apache Kafka and samsa observed alike', { skip: SKIP }, () => {
  let kafka: ApacheKafka | undefined
  let samsa: Broker | undefined
  let targets: [Target, Target]

  before(async () => {
    if (!dist.ok) return
    const [startedSamsa, startedKafka] = await Promise.allSettled([
      startBroker(),
      startKafka(dist.value, { heap: '512M', jvm: KAFKA_TEST_JVM, properties: KAFKA_TEST_PROPERTIES }),
    ])
    // Whichever started is stopped by after() even when the other failed.
    samsa = startedSamsa.status === 'fulfilled' ? startedSamsa.value : undefined
    kafka = startedKafka.status === 'fulfilled' ? startedKafka.value : undefined
    if (startedSamsa.status === 'rejected') throw startedSamsa.reason
    if (startedKafka.status === 'rejected') throw startedKafka.reason
    targets = [
      { name: 'kafka', bootstrap: startedKafka.value.bootstrap, port: startedKafka.value.port },
      { name: 'samsa', bootstrap: startedSamsa.value.bootstrap, port: startedSamsa.value.port },
    ]
  })
  after(async () => {
    await kafka?.stop(0)
    await samsa?.close()
  })

  const same = async <T>(what: string, observe: (target: Target) => Promise<T>): Promise<{ kafka: T; samsa: T }> => {
    const seen = await observeBoth(targets, observe)
    if (process.env.DIFF_PRINT) console.log(`DIFF ${what} ${JSON.stringify(seen)}`)
    return seen
  }

  test('records produced by kafkajs and @platformatic/kafka read the same through kafkajs, @platformatic/kafka and kcat', async () => {
    const topic = 'diff-records'
    const seen = await same('records', async (target) => {
      await createTopic(target, topic, 2)
      const producer = kafkajsClient(target.bootstrap).producer()
      await producer.connect()
      try {
        await producer.send({
          topic,
          messages: [
            { partition: 0, key: 'k0', value: 'v0', headers: { h: 'one', ü: '✓' }, timestamp: '1700000000000' },
            { partition: 0, key: null, value: 'no key', timestamp: '1700000000001' },
            { partition: 0, key: 'tombstone', value: null, timestamp: '1700000000002' },
          ],
        })
      } finally {
        await producer.disconnect()
      }
      const pk = await platformatic()
      const plt = new pk.Producer({
        clientId: 'differential',
        bootstrapBrokers: [target.bootstrap],
        serializers: pk.stringSerializers,
      })
      try {
        await plt.send({
          messages: [
            { topic, partition: 1, key: 'p0', value: 'pv0', headers: new Map([['x', 'y']]), timestamp: 1700000001000n },
            { topic, partition: 1, key: 'p1', value: 'pv1', timestamp: 1700000001001n },
          ],
        })
      } finally {
        await plt.close()
      }
      return {
        kafkajs: await readWithKafkajs(target, topic, 5),
        platformatic: await readWithPlatformatic(target, topic, 5),
        kcat: hasKcat ? await readWithKcat(target, topic) : 'kcat not installed',
      }
    })
    assert.equal(seen.kafka.kafkajs.length, 5)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('ListOffsets: earliest, latest, max timestamp and by timestamp', async () => {
    const seen = await same('list offsets', listOffsetsScenario)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('Produce and Fetch refused: unknown topic or partition, offsets out of range', async () => {
    const seen = await same('produce/fetch errors', produceFetchErrorsScenario)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('CreateTopics: invalid partitions, replication, names and configs, duplicates, validate-only, defaults', async () => {
    const seen = await same('create topics', createTopicsScenario)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('AlterConfigs and IncrementalAlterConfigs of a topic: refused names, values and operations', async () => {
    const seen = await same('alter configs', alterConfigsScenario)
    accept('incremental-alter-unknown-operation', seen, at('incrementalBadOperation', 0, 'errorCode'))
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('DeleteRecords beyond the high watermark, below the log start, at the end', async () => {
    const seen = await same('delete records', deleteRecordsScenario)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('topic administration refused: DeleteTopics, CreatePartitions, Metadata of unknown or invalid topics', async () => {
    const seen = await same('topic admin', topicAdminScenario)
    accept('metadata-auto-create', seen, at('metadataAutoCreate', 0, 'errorCode'))
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('classic group: JoinGroup refusals, join, sync, heartbeat and commit errors, DescribeGroups, ListGroups, OffsetFetch, DeleteGroups, OffsetDelete, leave', async () => {
    const seen = await same('classic group', classicGroupScenario)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('a kafkajs group member described by kafkajs and @platformatic/kafka, then after it left', async () => {
    const seen = await same('described kafkajs group', (target) => describeKafkajsGroup(target, 'diff-records'))
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('consumer group (KIP-848): heartbeat refusals, join, ConsumerGroupDescribe and DescribeGroups, leave', async () => {
    const seen = await same('consumer group', (target) => consumerGroupScenario(target, 'diff-records'))
    const epochs = [
      at('joined', 'memberEpoch'),
      at('acknowledged', 'memberEpoch'),
      at('described', 0, 'groupEpoch'),
      at('described', 0, 'assignmentEpoch'),
      at('described', 0, 'members', 0, 'memberEpoch'),
    ]
    for (const side of [seen.kafka, seen.samsa]) {
      const values = epochs.map((e) => e(side).get())
      assert.ok(
        values.every((e) => e === values[0] && typeof e === 'number' && e > 0),
        `one epoch: ${values}`,
      )
    }
    for (const e of epochs) accept('consumer-group-epochs', seen, e)
    accept('consumer-group-describe-regex', seen, at('described', 0, 'members', 0, 'subscribedTopicRegex'))
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('idempotent Produce: duplicates, sequence gaps, unknown producer ids, fenced epochs', async () => {
    const seen = await same('idempotent produce', async (target) => {
      await createTopic(target, 'diff-idempotent', 1)
      return idempotentProduceScenario(target, 'diff-idempotent')
    })
    accept('duplicate-append-time', seen, at('duplicate', 'logAppendTimeMs'))
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('transactions refused: EndTxn without a transaction, fenced epochs, unknown producer, timeout too long', async () => {
    const seen = await same('transaction errors', transactionErrorsScenario)
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('transactions by kafkajs: read_committed readers (kafkajs, @platformatic/kafka, kcat, raw Fetch) see the same', async () => {
    const topic = 'diff-txn'
    const seen = await same('transactions', async (target) => {
      await createTopic(target, topic, 1)
      await waitForCoordinator(target, 'diff-kjs-txn', COORDINATOR.transaction)
      const producer = kafkajsClient(target.bootstrap).producer({
        transactionalId: 'diff-kjs-txn',
        maxInFlightRequests: 1,
        idempotent: true,
      })
      await producer.connect()
      try {
        for (const [name, commit] of [
          ['c1', true],
          ['a1', false],
          ['c2', true],
        ] as const) {
          const txn = await producer.transaction()
          await txn.send({
            topic,
            messages: [0, 1].map((i) => ({
              key: `${name}-${i}`,
              value: `${name}-${i}`,
              timestamp: String(RECENT + i),
            })),
          })
          if (commit) await txn.commit()
          else await txn.abort()
        }
      } finally {
        await producer.disconnect()
      }
      return {
        kafkajs: await readWithKafkajs(target, topic, 4),
        kafkajsUncommitted: await readWithKafkajs(target, topic, 6, { readUncommitted: true }),
        platformatic: await readWithPlatformatic(target, topic, 4),
        kcat: hasKcat ? await readWithKcat(target, topic) : 'kcat not installed',
        raw: await transactionalReadScenario(target, topic),
      }
    })
    assert.deepEqual(seen.samsa, seen.kafka)
  })

  test('DescribeConfigs of a topic: the same config names, and the same defaults', async () => {
    const seen = await same('describe configs', async (target) =>
      Object.fromEntries(await describeConfigsScenario(target)),
    )
    const names = (o: object): string[] => Object.keys(o).sort()
    const onlyIn = (a: object, b: object): string[] => names(a).filter((n) => !(n in b))
    const explained = (list: Record<string, Allowed>, found: string[]): void => {
      assert.deepEqual(found, Object.keys(list).sort())
      for (const name of found) applied.add(list[name] as Allowed)
    }
    explained(ONLY_KAFKA_TOPIC_CONFIGS, onlyIn(seen.kafka, seen.samsa))
    explained(ONLY_SAMSA_TOPIC_CONFIGS, onlyIn(seen.samsa, seen.kafka))
    for (const [name, key] of Object.entries(DIFFERENT_TOPIC_CONFIGS)) accept(key, seen, at(name))
    const common = (o: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(o).filter(([n]) => n in seen.kafka && n in seen.samsa))
    assert.deepEqual(common(seen.samsa), common(seen.kafka))
  })

  test('every entry of ALLOWED was applied by a scenario', () => {
    assert.deepEqual(
      Object.keys(ALLOWED).filter((k) => !applied.has(k as Allowed)),
      [],
    )
  })
})
