/**
 * A producer: records are gathered per partition into batches, sent when a batch is full or
 * `lingerMs` elapsed, one Produce request per leader carrying a batch for each ready partition.
 * Retriable errors refresh metadata and resend the batch (at-least-once; no idempotence yet).
 */
import { ApiKey } from '../protocol/generated/index.ts'
import {
  createPartitionProduceData,
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../protocol/generated/produce.ts'
import { encodeBatch, type RecordInput } from '../protocol/records/batch.ts'
import { COMPRESSION_NAMES, Compression, type CompressionCodec } from '../protocol/records/compression.ts'
import type { RecordHeader } from '../protocol/records/record-codec.ts'
import type { Cluster } from './cluster.ts'
import { ClientError, isRetriable, KafkaError } from './errors.ts'
import { DefaultPartitioner } from './partitioner.ts'
import { backoffMs } from './retry.ts'

/** Producer settings (Kafka's names in camelCase). */
export interface ProducerOptions {
  /** -1 (all, default), 1 (leader) or 0 (no response). */
  acks?: number
  compression?: CompressionName
  /** How long to wait for more records before sending a batch that is not full (default 5 ms). */
  lingerMs?: number
  /** Batch size in bytes (default 16 KiB). */
  batchSize?: number
  /** Produce requests in flight per broker (default 5). */
  maxInFlight?: number
  /** Broker-side timeout of a produce request (default 30 s). */
  timeoutMs?: number
  /** Retries of a batch after retriable errors (default 5). */
  retries?: number
  /**
   * Ask the broker to create a topic it does not have (Metadata allow_auto_topic_creation) when a
   * record is sent to it; default true, as the Java producer's allow.auto.create.topics and
   * librdkafka. Brokers with auto.create.topics.enable=false refuse regardless.
   */
  autoCreateTopics?: boolean
}

/** A compression codec by name. */
export type CompressionName = (typeof COMPRESSION_NAMES)[number]

/** A record to produce. */
export interface ProducerRecord {
  topic: string
  key?: Buffer | string | null
  value: Buffer | string | null
  /**
   * Headers: an ordered list of key/value pairs, where a key may repeat (as Kafka allows); an
   * object is a shorthand for headers with distinct keys, in its key order.
   */
  headers?: Record<string, string | Buffer> | RecordHeader[]
  /** Explicit partition; otherwise the partitioner decides. */
  partition?: number
  /** Milliseconds since the epoch (default: now). */
  timestamp?: number
}

/** Where a record was written. */
export interface RecordMetadata {
  topic: string
  partition: number
  /** Offset, or -1n with acks=0. */
  offset: bigint
  /** The broker's LogAppendTime, or -1n when the topic uses CreateTime. */
  logAppendTime: bigint
}

interface Waiter {
  resolve(m: RecordMetadata): void
  reject(err: Error): void
}

interface Batch {
  topic: string
  partition: number
  records: RecordInput[]
  waiters: Waiter[]
  bytes: number
  attempts: number
}

/** Parses a compression name. */
export function compressionCodec(name: string): CompressionCodec {
  const i = (COMPRESSION_NAMES as readonly string[]).indexOf(name)
  if (i < 0) {
    throw new ClientError(
      'SAMSA_ERR_INVALID_ARGUMENT',
      `unknown compression "${name}" (use ${COMPRESSION_NAMES.join(', ')})`,
    )
  }
  return i as CompressionCodec
}

function toBuffer(v: Buffer | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null
  return typeof v === 'string' ? Buffer.from(v) : v
}

function toHeaders(h: ProducerRecord['headers']): RecordHeader[] {
  if (!h) return []
  if (Array.isArray(h)) return h
  return Object.entries(h).map(([key, value]) => ({ key, value: toBuffer(value) }))
}

/** Sends records to a cluster. */
export class Producer {
  readonly #cluster: Cluster
  readonly #acks: number
  readonly #codec: CompressionCodec
  readonly #lingerMs: number
  readonly #batchSize: number
  readonly #maxInFlight: number
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #autoCreate: boolean
  readonly #partitioner = new DefaultPartitioner()
  /** Batches still filling, by `topic/partition`. */
  readonly #open = new Map<string, Batch>()
  /** Batches ready to send, in order. */
  #ready: Batch[] = []
  readonly #inFlight = new Map<number, number>()
  #lingerTimer: NodeJS.Timeout | undefined
  #unsettled = 0
  #idle: (() => void)[] = []
  #draining = false
  #closed = false

  constructor(cluster: Cluster, options: ProducerOptions = {}) {
    this.#cluster = cluster
    this.#acks = options.acks ?? -1
    if (![-1, 0, 1].includes(this.#acks)) {
      throw new ClientError('SAMSA_ERR_INVALID_ARGUMENT', `acks must be -1 (all), 0 or 1, not ${options.acks}`)
    }
    this.#codec = options.compression ? compressionCodec(options.compression) : Compression.NONE
    this.#lingerMs = options.lingerMs ?? 5
    this.#batchSize = options.batchSize ?? 16_384
    this.#maxInFlight = options.maxInFlight ?? 5
    this.#timeoutMs = options.timeoutMs ?? 30_000
    this.#retries = options.retries ?? 5
    this.#autoCreate = options.autoCreateTopics ?? true
  }

  /** Records accepted but not yet acknowledged. */
  get pending(): number {
    return this.#unsettled
  }

  /** Queues a record; resolves once the broker acknowledged it (or it was written, with acks=0). */
  async send(record: ProducerRecord): Promise<RecordMetadata> {
    if (this.#closed) throw new ClientError('SAMSA_ERR_CLOSED', 'producer is closed')
    const topic =
      this.#cluster.topics.get(record.topic) ??
      (await this.#cluster.topic(record.topic, { autoCreate: this.#autoCreate }))
    const count = topic.partitions.length
    const key = toBuffer(record.key)
    let partition: number
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new KafkaError(3, `partition ${record.partition} does not exist (topic has ${count})`, record.topic)
      }
      partition = record.partition
    } else {
      partition = this.#partitioner.partition(record.topic, key, count)
    }
    const input: RecordInput = {
      key,
      value: toBuffer(record.value),
      headers: toHeaders(record.headers),
      timestamp: record.timestamp ?? Date.now(),
    }
    return new Promise<RecordMetadata>((resolve, reject) => {
      this.#append(record.topic, partition, input, { resolve, reject }, count)
    })
  }

  /** Queues many records; resolves when all were acknowledged. */
  sendMany(records: ProducerRecord[]): Promise<RecordMetadata[]> {
    return Promise.all(records.map((r) => this.send(r)))
  }

  #append(topic: string, partition: number, record: RecordInput, waiter: Waiter, count: number): void {
    const id = `${topic}/${partition}`
    let batch = this.#open.get(id)
    if (!batch) {
      batch = { topic, partition, records: [], waiters: [], bytes: 0, attempts: 0 }
      this.#open.set(id, batch)
    }
    batch.records.push(record)
    batch.waiters.push(waiter)
    batch.bytes += 24 + (record.key?.length ?? 0) + (record.value?.length ?? 0)
    this.#unsettled++
    if (batch.bytes >= this.#batchSize) {
      this.#open.delete(id)
      this.#ready.push(batch)
      this.#partitioner.batchSent(topic, partition, count)
      this.#drain()
    } else if (!this.#lingerTimer) {
      this.#lingerTimer = setTimeout(() => {
        this.#lingerTimer = undefined
        this.#readyAll()
      }, this.#lingerMs)
    }
  }

  #readyAll(): void {
    for (const b of this.#open.values()) {
      this.#ready.push(b)
      const t = this.#cluster.topics.get(b.topic)
      if (t) this.#partitioner.batchSent(b.topic, b.partition, t.partitions.length)
    }
    this.#open.clear()
    this.#drain()
  }

  /** Sends every queued record now and resolves when all are acknowledged. */
  async flush(): Promise<void> {
    if (this.#lingerTimer) {
      clearTimeout(this.#lingerTimer)
      this.#lingerTimer = undefined
    }
    this.#readyAll()
    if (this.#unsettled === 0) return
    await new Promise<void>((resolve) => this.#idle.push(resolve))
  }

  /** Flushes and stops accepting records. */
  async close(): Promise<void> {
    await this.flush()
    this.#closed = true
  }

  #drain(): void {
    if (this.#draining) return
    this.#draining = true
    void this.#drainLoop().finally(() => {
      this.#draining = false
    })
  }

  async #drainLoop(): Promise<void> {
    while (this.#ready.length > 0) {
      const byNode = new Map<number, Batch[]>()
      const waiting: Batch[] = []
      for (const batch of this.#ready) {
        let leader: number
        try {
          leader = await this.#cluster.leader(batch.topic, batch.partition)
        } catch (err) {
          this.#retryOrFail(batch, err)
          continue
        }
        const list = byNode.get(leader) ?? []
        // One batch per partition per request keeps the partition's order.
        if (
          (this.#inFlight.get(leader) ?? 0) >= this.#maxInFlight ||
          list.some((b) => b.topic === batch.topic && b.partition === batch.partition)
        ) {
          waiting.push(batch)
          continue
        }
        list.push(batch)
        byNode.set(leader, list)
      }
      this.#ready = waiting
      if (byNode.size === 0) return
      for (const [node, batches] of byNode) {
        this.#inFlight.set(node, (this.#inFlight.get(node) ?? 0) + 1)
        void this.#sendRequest(node, batches).finally(() => {
          this.#inFlight.set(node, (this.#inFlight.get(node) ?? 1) - 1)
          if (this.#ready.length > 0) this.#drain()
        })
      }
    }
  }

  async #sendRequest(node: number, batches: Batch[]): Promise<void> {
    let response: ProduceResponse | undefined
    try {
      const encoded = await Promise.all(
        batches.map((b) => encodeBatch({ records: b.records, compression: this.#codec })),
      )
      const byTopic = new Map<string, { index: number; records: Buffer }[]>()
      batches.forEach((b, i) => {
        const list = byTopic.get(b.topic) ?? []
        list.push({ index: b.partition, records: encoded[i] as Buffer })
        byTopic.set(b.topic, list)
      })
      const request = createProduceRequest({
        acks: this.#acks,
        timeoutMs: this.#timeoutMs,
        topicData: [...byTopic].map(([name, parts]) =>
          createTopicProduceData({ name, partitionData: parts.map((p) => createPartitionProduceData(p)) }),
        ),
      })
      const conn = await this.#cluster.connection(node)
      if (this.#acks === 0) {
        conn.sendNoResponse(ApiKey.Produce, () => request)
        for (const b of batches) this.#settle(b, -1n, -1n)
        return
      }
      response = await conn.send<ProduceResponse>(ApiKey.Produce, () => request, { timeoutMs: this.#timeoutMs + 5000 })
    } catch (err) {
      for (const b of batches) this.#retryOrFail(b, err)
      return
    }
    for (const b of batches) {
      const p = response.responses
        .find((t) => t.name === b.topic)
        ?.partitionResponses.find((x) => x.index === b.partition)
      if (!p) {
        this.#retryOrFail(b, new ClientError('SAMSA_ERR_PROTOCOL', `no produce result for ${b.topic}/${b.partition}`))
      } else if (p.errorCode !== 0) {
        this.#retryOrFail(b, new KafkaError(p.errorCode, p.errorMessage, `${b.topic}/${b.partition}`))
      } else {
        this.#settle(b, p.baseOffset, p.logAppendTimeMs)
      }
    }
  }

  #retryOrFail(batch: Batch, err: unknown): void {
    if (!isRetriable(err) || batch.attempts >= this.#retries || this.#closed) {
      this.#settleError(batch, err)
      return
    }
    batch.attempts++
    setTimeout(() => {
      this.#cluster
        .refreshMetadata([batch.topic])
        .catch(() => undefined)
        .then(() => {
          this.#ready.unshift(batch)
          this.#drain()
        })
    }, backoffMs(batch.attempts))
  }

  #settle(batch: Batch, baseOffset: bigint, logAppendTime: bigint): void {
    batch.waiters.forEach((w, i) => {
      w.resolve({
        topic: batch.topic,
        partition: batch.partition,
        offset: baseOffset < 0n ? -1n : baseOffset + BigInt(i),
        logAppendTime,
      })
    })
    this.#done(batch.waiters.length)
  }

  #settleError(batch: Batch, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err))
    for (const w of batch.waiters) w.reject(e)
    this.#done(batch.waiters.length)
  }

  #done(n: number): void {
    this.#unsettled -= n
    if (this.#unsettled === 0) {
      const idle = this.#idle
      this.#idle = []
      for (const f of idle) f()
    }
  }
}
