/**
 * The part of @confluentinc/kafka-javascript's KafkaJS-compatible API that the tests use. The
 * package is optional (it compiles librdkafka when installed), so its own declarations cannot be
 * imported: the project must type-check the same on machines with and without it.
 */

/** librdkafka properties by their own names ('compression.type', 'group.protocol', ...). */
type LibrdkafkaProperties = { [property: string]: unknown }

export interface ConfluentKafkaJS {
  Kafka: new (
    config: LibrdkafkaProperties & {
      kafkaJS: { brokers: string[]; clientId?: string; logLevel?: number; sasl?: ConfluentOauthBearer }
    },
  ) => Kafka
  logLevel: { NOTHING: number }
  ConsumerGroupStates: { STABLE: number; EMPTY: number }
  ConsumerGroupTypes: { CONSUMER: number; CLASSIC: number }
}

/** SASL OAUTHBEARER with a token provider, as the KafkaJS-style API takes it. */
export interface ConfluentOauthBearer {
  mechanism: 'oauthbearer'
  oauthBearerProvider: () => Promise<{ value: string; principal: string; lifetime: number }>
}

export interface Kafka {
  producer(
    config?: LibrdkafkaProperties & {
      kafkaJS?: { idempotent?: boolean; transactionalId?: string; maxInFlightRequests?: number }
    },
  ): Producer
  consumer(
    config: LibrdkafkaProperties & { kafkaJS: { groupId: string; fromBeginning?: boolean; autoCommit?: boolean } },
  ): Consumer
  admin(): Admin
}

export interface Client {
  connect(): Promise<void>
  disconnect(): Promise<void>
}

export interface OutgoingMessage {
  key?: Buffer | string | null
  value: Buffer | string | null
  headers?: Record<string, Buffer | string | (Buffer | string)[]>
}

export interface RecordMetadata {
  errorCode: number
  baseOffset?: string
}

export interface TopicOffsets {
  topic: string
  partitions: { partition: number; offset: string }[]
}

export interface Transaction {
  send(record: { topic: string; messages: OutgoingMessage[] }): Promise<RecordMetadata[]>
  sendOffsets(args: { consumer: Consumer; topics: TopicOffsets[] }): Promise<void>
  commit(): Promise<void>
  abort(): Promise<void>
}

export interface Producer extends Client {
  send(record: { topic: string; messages: OutgoingMessage[] }): Promise<RecordMetadata[]>
  transaction(): Promise<Transaction>
}

export interface KafkaMessage {
  key: Buffer | null
  value: Buffer | null
  offset: string
  headers?: Record<string, Buffer | Buffer[]>
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
}

export interface TopicPartition {
  topic: string
  partition: number
}

export interface Consumer extends Client {
  subscribe(subscription: { topics: string[] }): Promise<void>
  run(config: { eachMessage: (payload: EachMessagePayload) => Promise<void> }): Promise<void>
  commitOffsets(offsets: (TopicPartition & { offset: string })[]): Promise<void>
  assignment(): TopicPartition[]
}

export interface GroupDescription {
  state: number
  type: number
  members: { assignment: { topicPartitions: TopicPartition[] } }[]
}

export interface Admin extends Client {
  createTopics(options: {
    topics: { topic: string; numPartitions?: number; configEntries?: { name: string; value: string }[] }[]
  }): Promise<boolean>
  deleteTopics(options: { topics: string[] }): Promise<void>
  listTopics(): Promise<string[]>
  fetchTopicMetadata(options: { topics: string[] }): Promise<{ partitions: { partitionId: number }[] }[]>
  fetchTopicOffsets(topic: string): Promise<{ partition: number; offset: string; high: string; low: string }[]>
  fetchTopicOffsetsByTimestamp(topic: string, timestamp: number): Promise<{ partition: number; offset: string }[]>
  deleteTopicRecords(options: {
    topic: string
    partitions: { partition: number; offset: string }[]
  }): Promise<{ topic: string; partition: number; lowWatermark: number }[]>
  listGroups(): Promise<{ groups: { groupId: string; state: number; type: number }[] }>
  describeGroups(groupIds: string[]): Promise<{ groups: GroupDescription[] }>
  deleteGroups(groupIds: string[]): Promise<{ groupId: string }[]>
  fetchOffsets(options: {
    groupId: string
    topics: string[]
  }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>
}

/** librdkafka's own error, as the node-rdkafka-style API reports it (`code` is librdkafka's). */
export interface LibrdKafkaError extends Error {
  code: number
}

/** The node-rdkafka-style API of the package: per-message delivery reports, explicit assignment. */
export interface ConfluentNative {
  Producer: new (config: LibrdkafkaProperties) => NativeProducer
  KafkaConsumer: new (config: LibrdkafkaProperties, topicConfig: LibrdkafkaProperties) => NativeConsumer
  CODES: { ERRORS: Record<string, number> }
}

export interface NativeClient {
  connect(options?: unknown, callback?: (err: LibrdKafkaError | null) => void): void
  disconnect(callback?: () => void): void
}

export interface NativeProducer extends NativeClient {
  produce(topic: string, partition: number | null, value: Buffer | null, key?: Buffer | null): boolean
  setPollInterval(ms: number): void
  on(event: 'delivery-report', listener: (err: LibrdKafkaError | null, report: { partition: number }) => void): this
}

export interface NativeMessage {
  value: Buffer | null
  offset: number
  partition: number
}

export interface NativeConsumer extends NativeClient {
  assign(assignments: { topic: string; partition: number; offset: number }[]): void
  consume(): void
  on(event: 'data', listener: (message: NativeMessage) => void): this
}
