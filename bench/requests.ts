/**
 * Pre-encoded request frames (length prefix included) and cheap response checks for the load
 * generator. Produce v8 and Fetch v11: non-flexible versions every client of the last years
 * speaks, with record batches v2.
 */
import { decodeResponseHeader, encodeRequestHeader } from '../src/protocol/frame.ts'
import {
  createCreatableTopic,
  createCreateTopicsRequest,
  decodeCreateTopicsResponse,
  encodeCreateTopicsRequest,
} from '../src/protocol/generated/create-topics.ts'
import {
  createFetchableTopicResponse,
  createFetchPartition,
  createFetchRequest,
  createFetchResponse,
  createFetchTopic,
  createPartitionData,
  decodeFetchResponse,
  encodeFetchRequest,
  encodeFetchResponse,
  type FetchResponse,
} from '../src/protocol/generated/fetch.ts'
import { ApiKey } from '../src/protocol/generated/index.ts'
import {
  createPartitionProduceResponse,
  createProduceResponse,
  createTopicProduceData,
  createTopicProduceResponse,
  decodeProduceResponse,
  encodeProduceRequest,
  encodeProduceResponse,
} from '../src/protocol/generated/produce.ts'
import { encodeBatchSync, type RecordInput } from '../src/protocol/records/batch.ts'
import { Reader } from '../src/protocol/wire/reader.ts'
import { Writer } from '../src/protocol/wire/writer.ts'

export const PRODUCE_VERSION = 8
export const FETCH_VERSION = 11
const CREATE_TOPICS_VERSION = 4
const CLIENT_ID = 'samsa-bench'

/** Prefixes an encoded message with its int32 length. */
function frame(encode: (w: Writer) => void): Buffer {
  const w = new Writer(1024)
  w.writeInt32(0)
  encode(w)
  const buf = w.toBuffer()
  buf.writeInt32BE(buf.length - 4, 0)
  return buf
}

/** One uncompressed batch of `count` records with `valueSize`-byte values and no keys. */
export function makeBatch(count: number, valueSize: number): Buffer {
  const records: RecordInput[] = []
  for (let i = 0; i < count; i++) {
    const value = Buffer.allocUnsafe(valueSize)
    for (let j = 0; j < valueSize; j++) value[j] = (i * 31 + j * 7) & 0x7f
    records.push({ key: null, value })
  }
  return encodeBatchSync({ records, defaultTimestamp: Date.now() })
}

export function produceFrame(topic: string, partition: number, acks: number, batch: Buffer): Buffer {
  return frame((w) => {
    encodeRequestHeader(w, {
      apiKey: ApiKey.Produce,
      apiVersion: PRODUCE_VERSION,
      correlationId: partition,
      clientId: CLIENT_ID,
    })
    encodeProduceRequest(w, PRODUCE_VERSION, {
      transactionalId: null,
      acks,
      timeoutMs: 30_000,
      topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: partition, records: batch }] })],
    })
  })
}

export interface PartitionAck {
  partition: number
  errorCode: number
  baseOffset: number
}

/** Decodes a Produce response (one topic); throws on a broker error. */
export function checkProduceResponse(head: Buffer): PartitionAck {
  const r = new Reader(head)
  decodeResponseHeader(r, ApiKey.Produce, PRODUCE_VERSION)
  const res = decodeProduceResponse(r, PRODUCE_VERSION)
  const p = res.responses[0]?.partitionResponses[0]
  if (p === undefined) throw new Error('empty produce response')
  if (p.errorCode !== 0) throw new Error(`produce error ${p.errorCode} on partition ${p.index}: ${p.errorMessage}`)
  return { partition: p.index, errorCode: p.errorCode, baseOffset: Number(p.baseOffset) }
}

/** What a broker answers to produceFrame (for the sink baseline): same size, same decoding cost. */
export function cannedProduceResponse(topic: string, partition: number): Buffer {
  return frame((w) => {
    w.writeInt32(partition)
    encodeProduceResponse(
      w,
      PRODUCE_VERSION,
      createProduceResponse({
        responses: [
          createTopicProduceResponse({
            name: topic,
            partitionResponses: [createPartitionProduceResponse({ index: partition, baseOffset: 0n })],
          }),
        ],
      }),
    )
  })
}

export interface FetchSpec {
  topic: string
  partition: number
  offset: number
  maxBytes: number
  maxWaitMs?: number
  minBytes?: number
}

export function fetchFrame(spec: FetchSpec): Buffer {
  return frame((w) => {
    encodeRequestHeader(w, {
      apiKey: ApiKey.Fetch,
      apiVersion: FETCH_VERSION,
      correlationId: spec.partition,
      clientId: CLIENT_ID,
    })
    encodeFetchRequest(
      w,
      FETCH_VERSION,
      createFetchRequest({
        maxWaitMs: spec.maxWaitMs ?? 0,
        minBytes: spec.minBytes ?? 0,
        maxBytes: spec.maxBytes,
        topics: [
          createFetchTopic({
            topic: spec.topic,
            partitions: [
              createFetchPartition({
                partition: spec.partition,
                fetchOffset: BigInt(spec.offset),
                partitionMaxBytes: spec.maxBytes,
              }),
            ],
          }),
        ],
      }),
    )
  })
}

export interface FetchHead {
  errorCode: number
  highWatermark: number
  /** Length of the records field (what the throughput counts). */
  recordsBytes: number
  /** baseOffset of the first batch, when the head reaches it; -1 otherwise. */
  firstOffset: number
}

/**
 * Reads a Fetch v11 response with one topic and one partition from the first bytes of its frame
 * only (the records are counted, not copied): everything before the records field is small.
 */
export function parseFetchHead(head: Buffer): FetchHead {
  const r = new Reader(head)
  r.readInt32() // correlation id (response header v0)
  r.readInt32() // throttle
  const topError = r.readInt16()
  r.readInt32() // session id
  if (topError !== 0) return { errorCode: topError, highWatermark: -1, recordsBytes: 0, firstOffset: -1 }
  if (r.readInt32() !== 1) throw new Error('expected one topic in the fetch response')
  r.readString()
  if (r.readInt32() !== 1) throw new Error('expected one partition in the fetch response')
  r.readInt32() // partition
  const errorCode = r.readInt16()
  const highWatermark = Number(r.readInt64())
  r.readInt64() // last stable offset
  r.readInt64() // log start offset
  const aborted = r.readInt32()
  if (aborted > 0) r.skip(aborted * 16)
  r.readInt32() // preferred read replica
  const recordsBytes = Math.max(0, r.readInt32())
  const firstOffset = recordsBytes >= 8 && r.remaining() >= 8 ? Number(r.readInt64()) : -1
  return { errorCode, highWatermark, recordsBytes, firstOffset }
}

/** A whole Fetch v11 response frame body (records included), decoded with the generated codec. */
export function decodeFetch(frameBody: Buffer): FetchResponse {
  const r = new Reader(frameBody)
  decodeResponseHeader(r, ApiKey.Fetch, FETCH_VERSION)
  return decodeFetchResponse(r, FETCH_VERSION)
}

/** A Fetch v11 response carrying `records` (for the source baseline). */
export function cannedFetchResponse(topic: string, partition: number, records: Buffer): Buffer[] {
  const w = new Writer(256)
  w.writeInt32(0)
  w.writeInt32(partition)
  encodeFetchResponse(
    w,
    FETCH_VERSION,
    createFetchResponse({
      responses: [
        createFetchableTopicResponse({
          topic,
          partitions: [createPartitionData({ partitionIndex: partition, abortedTransactions: null, records })],
        }),
      ],
    }),
  )
  const chunks = w.finish()
  let size = 0
  for (const c of chunks) size += c.length
  ;(chunks[0] as Buffer).writeInt32BE(size - 4, 0)
  return chunks
}

export function createTopicsFrame(topics: { name: string; partitions: number }[]): Buffer {
  return frame((w) => {
    encodeRequestHeader(w, {
      apiKey: ApiKey.CreateTopics,
      apiVersion: CREATE_TOPICS_VERSION,
      correlationId: 1,
      clientId: CLIENT_ID,
    })
    encodeCreateTopicsRequest(
      w,
      CREATE_TOPICS_VERSION,
      createCreateTopicsRequest({
        topics: topics.map((t) =>
          createCreatableTopic({ name: t.name, numPartitions: t.partitions, replicationFactor: 1 }),
        ),
      }),
    )
  })
}

export function checkCreateTopicsResponse(head: Buffer): void {
  const r = new Reader(head)
  decodeResponseHeader(r, ApiKey.CreateTopics, CREATE_TOPICS_VERSION)
  for (const t of decodeCreateTopicsResponse(r, CREATE_TOPICS_VERSION).topics) {
    if (t.errorCode !== 0) throw new Error(`CreateTopics ${t.name}: error ${t.errorCode} ${t.errorMessage ?? ''}`)
  }
}
