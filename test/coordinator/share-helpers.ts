/** Raw-protocol helpers of the share group tests: a broker with a producer, heartbeats, and one member's share session. */
import { type Broker, type BrokerOptions, startBroker } from '../../src/broker/broker.ts'
import { Cluster } from '../../src/client/cluster.ts'
import { Producer } from '../../src/client/producer.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  createShareAcknowledgeRequest,
  type ShareAcknowledgeResponse,
} from '../../src/protocol/generated/share-acknowledge.ts'
import {
  type AcknowledgementBatch,
  createShareFetchRequest,
  type ShareFetchRequest,
  type ShareFetchResponse,
} from '../../src/protocol/generated/share-fetch.ts'
import {
  createShareGroupHeartbeatRequest,
  type ShareGroupHeartbeatRequest,
  type ShareGroupHeartbeatResponse,
} from '../../src/protocol/generated/share-group-heartbeat.ts'
import { decodeBatchesSync, recordOffset } from '../../src/protocol/records/batch.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { RawClient } from '../helpers/raw-client.ts'

export const ACCEPT = 1
export const RELEASE = 2
export const REJECT = 3
export const RENEW = 4

export interface Setup {
  broker: Broker
  raw: RawClient
  /** Appends the values to partition 0 of the topic. */
  produce(topic: string, values: string[]): Promise<void>
  close(): Promise<void>
}

/** A broker, a raw connection and a producer; closed after the test `t` (or by close() without one). */
export async function setup(
  t: { after(fn: () => Promise<void>): void } | undefined,
  config: Record<string, string> = {},
  options: { storage?: BrokerOptions['storage']; dataDir?: string } = {},
): Promise<Setup> {
  const broker = await startBroker({ config, ...options })
  const raw = await RawClient.connect(broker.port)
  const cluster = new Cluster({ bootstrap: `127.0.0.1:${broker.port}` })
  const producer = new Producer(cluster)
  const close = async (): Promise<void> => {
    await producer.close()
    await cluster.close()
    await raw.close()
    await broker.close()
  }
  t?.after(close)
  return {
    broker,
    raw,
    close,
    produce: async (topic, values) => {
      await producer.sendMany(values.map((value) => ({ topic, partition: 0, value })))
    },
  }
}

export function heartbeat(
  raw: RawClient,
  init: Partial<ShareGroupHeartbeatRequest>,
): Promise<ShareGroupHeartbeatResponse> {
  return raw.send(ApiKey.ShareGroupHeartbeat, 1, createShareGroupHeartbeatRequest(init))
}

export const join = (raw: RawClient, groupId: string, memberId: string, topics: string[]) =>
  heartbeat(raw, { groupId, memberId, memberEpoch: 0, subscribedTopicNames: topics })

export const partitionsOf = (r: ShareGroupHeartbeatResponse): number[] =>
  r.assignment?.topicPartitions.flatMap((tp) => tp.partitions).sort((a, b) => a - b) ?? []

/** One member's share session against one partition, as a share consumer drives it. */
export class ShareMember {
  epoch = 0
  readonly raw: RawClient
  readonly groupId: string
  readonly memberId: string
  readonly topicId: string
  readonly partition = 0

  constructor(raw: RawClient, groupId: string, memberId: string, topicId: string) {
    this.raw = raw
    this.groupId = groupId
    this.memberId = memberId
    this.topicId = topicId
  }

  async fetch(
    init: Partial<ShareFetchRequest> = {},
    acks: AcknowledgementBatch[] = [],
    version = 2,
  ): Promise<{ res: ShareFetchResponse; offsets: number[]; values: string[]; deliveries: Map<number, number> }> {
    const req = createShareFetchRequest({
      groupId: this.groupId,
      memberId: this.memberId,
      shareSessionEpoch: this.epoch,
      maxWaitMs: 0,
      maxRecords: 500,
      topics: [
        {
          topicId: this.topicId,
          partitions: [{ partitionIndex: this.partition, partitionMaxBytes: 0, acknowledgementBatches: acks }],
        },
      ],
      ...init,
    })
    const res = await this.raw.send<ShareFetchResponse>(ApiKey.ShareFetch, version, req)
    if (res.errorCode === ErrorCode.NONE) this.epoch = req.shareSessionEpoch === -1 ? 0 : this.epoch + 1
    const p = res.responses[0]?.partitions[0]
    const acquired = new Map<number, number>()
    for (const r of p?.acquiredRecords ?? []) {
      for (let o = Number(r.firstOffset); o <= Number(r.lastOffset); o++) acquired.set(o, r.deliveryCount)
    }
    const offsets: number[] = []
    const values: string[] = []
    for (const batch of p?.records ? decodeBatchesSync(p.records) : []) {
      for (const record of batch.records) {
        const o = Number(recordOffset(batch, record))
        if (!acquired.has(o)) continue
        offsets.push(o)
        values.push(record.value?.toString() ?? '')
      }
    }
    return { res, offsets, values, deliveries: acquired }
  }

  async acknowledge(acks: AcknowledgementBatch[], init: { epoch?: number; renew?: boolean; version?: number } = {}) {
    const epoch = init.epoch ?? this.epoch
    const res = await this.raw.send<ShareAcknowledgeResponse>(
      ApiKey.ShareAcknowledge,
      init.version ?? 2,
      createShareAcknowledgeRequest({
        groupId: this.groupId,
        memberId: this.memberId,
        shareSessionEpoch: epoch,
        isRenewAck: init.renew ?? false,
        topics: [
          { topicId: this.topicId, partitions: [{ partitionIndex: this.partition, acknowledgementBatches: acks }] },
        ],
      }),
    )
    if (res.errorCode === ErrorCode.NONE) this.epoch = epoch === -1 ? 0 : this.epoch + 1
    return { res, errorCode: res.responses[0]?.partitions[0]?.errorCode }
  }
}

/** A group's share-partition start offset as the broker holds it. */
export async function startOffsetOf(
  broker: Broker,
  key: { groupId: string; topicId: string; partition: number },
): Promise<number | undefined> {
  return (await broker.core.shares.summary(key))?.startOffset
}

export const ack = (first: number, last: number, type: number): AcknowledgementBatch => ({
  firstOffset: BigInt(first),
  lastOffset: BigInt(last),
  acknowledgeTypes: [type],
})

/** Creates a topic and waits until the broker leads its partitions (claimed asynchronously over postgres). */
export async function topic(broker: Broker, name: string, partitions: number): Promise<string> {
  const t = await broker.core.topics.create(name, partitions, {})
  const all = Array.from({ length: partitions }, (_, p) => p)
  await waitUntil(`leadership of ${name}`, () => all.every((p) => broker.core.leadership.leads(name, p)), {
    timeoutMs: 30_000,
  })
  return t?.topicId as string
}
