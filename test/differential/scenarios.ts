/**
 * The raw-request scenarios of the differential tests: each sends the same requests to one
 * target and returns what came back, reduced to what a client can rely on (plain(): error codes
 * by name; ids that each broker draws at random replaced by what they stand for).
 */
import { errorInfo } from '../../src/protocol/error-codes.ts'
import * as api from '../../src/protocol/generated/index.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import {
  type BatchInput,
  decodeBatchesSync,
  encodeBatchSync,
  type RecordInput,
} from '../../src/protocol/records/batch.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import type { RawClient } from '../helpers/raw-client.ts'
import {
  COORDINATOR,
  createTopic,
  errorName,
  PATIENCE_MS,
  plain,
  type Target,
  waitForCoordinator,
  waitForLeaders,
  withRaw,
} from './support.ts'

const TOPIC_RESOURCE = 2
const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')

/** A member id as "<client id>-<uuid>" (Kafka's form), else as it came. */
const memberIdShape = (id: string | null): string | null =>
  id === null ? null : id.replace(/^(.*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, '$1-<uuid>')

/** Produce v9 (names, not topic ids) of one batch; the partition's answer. */
async function produce(
  client: RawClient,
  topic: string,
  partition: number,
  records: RecordInput[],
  batch: Omit<BatchInput, 'records'> = {},
): Promise<unknown> {
  const res = await client.send<api.produce.ProduceResponse>(
    ApiKey.Produce,
    9,
    api.produce.createProduceRequest({
      acks: -1,
      timeoutMs: 30_000,
      topicData: [
        api.produce.createTopicProduceData({
          name: topic,
          partitionData: [
            api.produce.createPartitionProduceData({
              index: partition,
              records: encodeBatchSync({ ...batch, records }),
            }),
          ],
        }),
      ],
    }),
  )
  const p = res.responses[0]?.partitionResponses[0]
  return plain(
    p && {
      errorCode: p.errorCode,
      baseOffset: p.baseOffset,
      logAppendTimeMs: p.logAppendTimeMs,
      logStartOffset: p.logStartOffset,
      recordErrors: p.recordErrors,
    },
  )
}

/** Fetch v12 (names) of one partition from an offset; the partition's answer and its records. */
async function fetch(
  client: RawClient,
  topic: string,
  partition: number,
  offset: bigint,
  isolationLevel = 0,
): Promise<unknown> {
  const res = await client.send<api.fetch.FetchResponse>(
    ApiKey.Fetch,
    12,
    api.fetch.createFetchRequest({
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel,
      topics: [
        api.fetch.createFetchTopic({
          topic,
          partitions: [api.fetch.createFetchPartition({ partition, fetchOffset: offset, partitionMaxBytes: 1 << 20 })],
        }),
      ],
    }),
  )
  const t = res.responses[0]
  const p = t?.partitions[0]
  if (p === undefined) return plain({ errorCode: res.errorCode, topics: res.responses.length })
  const records = p.records === null || p.records.length === 0 ? [] : decodeBatchesSync(p.records)
  return plain({
    errorCode: p.errorCode,
    highWatermark: p.highWatermark,
    lastStableOffset: p.lastStableOffset,
    logStartOffset: p.logStartOffset,
    // Producer ids are the broker's to draw: which transaction, by its first offset, is what counts.
    abortedTransactions: p.abortedTransactions?.map((a) => ({ firstOffset: a.firstOffset })) ?? null,
    batches: records.map((b) => ({
      baseOffset: b.baseOffset,
      isTransactional: b.isTransactional,
      isControl: b.isControl,
      records: b.records.map((r) => (b.isControl ? { key: r.key } : { value: r.value })),
    })),
  })
}

/** ListOffsets v8 of one partition at one timestamp (-1 latest, -2 earliest, -3 max timestamp). */
async function listOffset(
  client: RawClient,
  topic: string,
  partition: number,
  timestamp: bigint,
  isolationLevel = 0,
): Promise<unknown> {
  const res = await client.send<api.listOffsets.ListOffsetsResponse>(
    ApiKey.ListOffsets,
    8,
    api.listOffsets.createListOffsetsRequest({
      replicaId: -1,
      isolationLevel,
      topics: [
        api.listOffsets.createListOffsetsTopic({
          name: topic,
          partitions: [api.listOffsets.createListOffsetsPartition({ partitionIndex: partition, timestamp })],
        }),
      ],
    }),
  )
  const p = res.topics[0]?.partitions[0]
  return plain(p && { errorCode: p.errorCode, offset: p.offset, timestamp: p.timestamp, leaderEpoch: p.leaderEpoch })
}

const OFFSETS_TOPIC = 'diff-offsets'

/** Produce (out-of-order client timestamps), then ListOffsets at the special and plain timestamps. */
export async function listOffsetsScenario(target: Target): Promise<unknown> {
  await createTopic(target, OFFSETS_TOPIC, 1)
  return withRaw(target, async (client) => {
    const produced = await produce(client, OFFSETS_TOPIC, 0, [
      { key: utf8('a'), value: utf8('1'), timestamp: 1000n },
      { key: utf8('b'), value: utf8('2'), timestamp: 3000n },
      { key: utf8('c'), value: utf8('3'), timestamp: 2000n },
    ])
    const at: Record<string, unknown> = {}
    for (const ts of [-2n, -1n, -3n, 500n, 1000n, 1500n, 2500n, 3000n, 9000n]) {
      at[String(ts)] = await listOffset(client, OFFSETS_TOPIC, 0, ts)
    }
    return {
      produced,
      at,
      unknownPartition: await listOffset(client, OFFSETS_TOPIC, 7, -1n),
      unknownTopic: await listOffset(client, 'diff-no-such-topic', 0, -1n),
    }
  })
}

/** Produce and fetch refused: unknown topic or partition, a fetch offset beyond the log. */
export async function produceFetchErrorsScenario(target: Target): Promise<unknown> {
  return withRaw(target, async (client) => {
    const record = [{ value: utf8('x'), timestamp: 1n }]
    return {
      produceUnknownTopic: await produce(client, 'diff-no-such-topic', 0, record),
      produceUnknownPartition: await produce(client, OFFSETS_TOPIC, 5, record),
      fetchUnknownTopic: await fetch(client, 'diff-no-such-topic', 0, 0n),
      fetchUnknownPartition: await fetch(client, OFFSETS_TOPIC, 9, 0n),
      fetchOutOfRange: await fetch(client, OFFSETS_TOPIC, 0, 100n),
      fetchNegativeOffset: await fetch(client, OFFSETS_TOPIC, 0, -5n),
      fetchAtEnd: await fetch(client, OFFSETS_TOPIC, 0, 3n),
    }
  })
}

/** CreateTopics v7 of one topic; the result without the message (wording is each broker's). */
async function createOne(
  client: RawClient,
  topic: Partial<api.createTopics.CreatableTopic>,
  validateOnly = false,
): Promise<unknown> {
  const res = await client.send<api.createTopics.CreateTopicsResponse>(
    ApiKey.CreateTopics,
    7,
    api.createTopics.createCreateTopicsRequest({
      timeoutMs: 30_000,
      validateOnly,
      topics: [api.createTopics.createCreatableTopic({ numPartitions: 1, replicationFactor: 1, ...topic })],
    }),
  )
  const t = res.topics[0]
  return plain(
    t && {
      errorCode: t.errorCode,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      topicConfigErrorCode: t.topicConfigErrorCode,
    },
  )
}

const config = (name: string, value: string | null) => ({
  configs: [api.createTopics.createCreatableTopicConfig({ name, value })],
})

/** CreateTopics refused for each reason Kafka checks, and its defaults. */
export async function createTopicsScenario(target: Target): Promise<unknown> {
  return withRaw(target, async (client) => ({
    zeroPartitions: await createOne(client, { name: 'diff-ct-zero', numPartitions: 0 }),
    negativePartitions: await createOne(client, { name: 'diff-ct-neg', numPartitions: -2 }),
    replicationTwo: await createOne(client, { name: 'diff-ct-rf2', replicationFactor: 2 }),
    replicationZero: await createOne(client, { name: 'diff-ct-rf0', replicationFactor: 0 }),
    invalidName: await createOne(client, { name: 'bad name!' }),
    dotDot: await createOne(client, { name: '..' }),
    tooLong: await createOne(client, { name: 'x'.repeat(250) }),
    duplicate: await createOne(client, { name: OFFSETS_TOPIC }),
    unknownConfig: await createOne(client, { name: 'diff-ct-cfg1', ...config('no.such.config', '1') }),
    badCleanupPolicy: await createOne(client, { name: 'diff-ct-cfg2', ...config('cleanup.policy', 'bogus') }),
    badRetention: await createOne(client, { name: 'diff-ct-cfg3', ...config('retention.ms', 'abc') }),
    nullConfigValue: await createOne(client, { name: 'diff-ct-cfg4', ...config('retention.ms', null) }),
    validateOnly: await createOne(client, { name: 'diff-ct-validate', numPartitions: 3 }, true),
    defaults: await createOne(client, { name: 'diff-ct-defaults', numPartitions: -1, replicationFactor: -1 }),
  }))
}

/** AlterConfigs v2 and IncrementalAlterConfigs v1 of a topic: refused values, names and topics. */
export async function alterConfigsScenario(target: Target): Promise<unknown> {
  return withRaw(target, async (client) => {
    const alter = async (resourceName: string, name: string, value: string | null, validateOnly = true) => {
      const res = await client.send<api.alterConfigs.AlterConfigsResponse>(
        ApiKey.AlterConfigs,
        2,
        api.alterConfigs.createAlterConfigsRequest({
          validateOnly,
          resources: [
            api.alterConfigs.createAlterConfigsResource({
              resourceType: TOPIC_RESOURCE,
              resourceName,
              configs: [api.alterConfigs.createAlterableConfig({ name, value })],
            }),
          ],
        }),
      )
      return plain(res.responses.map((r) => ({ errorCode: r.errorCode, resourceName: r.resourceName })))
    }
    const incremental = async (resourceName: string, name: string, configOperation: number, value: string | null) => {
      const res = await client.send<api.incrementalAlterConfigs.IncrementalAlterConfigsResponse>(
        ApiKey.IncrementalAlterConfigs,
        1,
        api.incrementalAlterConfigs.createIncrementalAlterConfigsRequest({
          validateOnly: true,
          resources: [
            api.incrementalAlterConfigs.createAlterConfigsResource({
              resourceType: TOPIC_RESOURCE,
              resourceName,
              configs: [api.incrementalAlterConfigs.createAlterableConfig({ name, configOperation, value })],
            }),
          ],
        }),
      )
      return plain(res.responses.map((r) => ({ errorCode: r.errorCode, resourceName: r.resourceName })))
    }
    const [SET, DELETE, APPEND, SUBTRACT] = [0, 1, 2, 3]
    return {
      alterValid: await alter(OFFSETS_TOPIC, 'retention.ms', '100000'),
      alterBadValue: await alter(OFFSETS_TOPIC, 'retention.ms', 'abc'),
      alterUnknownName: await alter(OFFSETS_TOPIC, 'no.such.config', '1'),
      alterBadPolicy: await alter(OFFSETS_TOPIC, 'cleanup.policy', 'bogus'),
      alterUnknownTopic: await alter('diff-no-such-topic', 'retention.ms', '1000'),
      incrementalValid: await incremental(OFFSETS_TOPIC, 'retention.ms', SET, '100000'),
      incrementalBadValue: await incremental(OFFSETS_TOPIC, 'retention.ms', SET, 'abc'),
      incrementalUnknownName: await incremental(OFFSETS_TOPIC, 'no.such.config', SET, '1'),
      incrementalDeleteUnknown: await incremental(OFFSETS_TOPIC, 'no.such.config', DELETE, null),
      incrementalAppendToScalar: await incremental(OFFSETS_TOPIC, 'retention.ms', APPEND, '5'),
      incrementalSubtractList: await incremental(OFFSETS_TOPIC, 'cleanup.policy', SUBTRACT, 'compact'),
      incrementalBadOperation: await incremental(OFFSETS_TOPIC, 'retention.ms', 7, '5'),
      incrementalUnknownTopic: await incremental('diff-no-such-topic', 'retention.ms', SET, '1000'),
    }
  })
}

const DELETE_TOPIC = 'diff-delete-records'

/** DeleteRecords v2 beyond the high watermark, below the log start, at -1, and what remains. */
export async function deleteRecordsScenario(target: Target): Promise<unknown> {
  await createTopic(target, DELETE_TOPIC, 1)
  return withRaw(target, async (client) => {
    await produce(
      client,
      DELETE_TOPIC,
      0,
      [1, 2, 3, 4].map((i) => ({ value: utf8(String(i)), timestamp: BigInt(i) })),
    )
    const del = async (partitionIndex: number, offset: bigint, topic = DELETE_TOPIC) => {
      const res = await client.send<api.deleteRecords.DeleteRecordsResponse>(
        ApiKey.DeleteRecords,
        2,
        api.deleteRecords.createDeleteRecordsRequest({
          timeoutMs: 30_000,
          topics: [
            api.deleteRecords.createDeleteRecordsTopic({
              name: topic,
              partitions: [api.deleteRecords.createDeleteRecordsPartition({ partitionIndex, offset })],
            }),
          ],
        }),
      )
      const p = res.topics[0]?.partitions[0]
      return plain(p && { errorCode: p.errorCode, lowWatermark: p.lowWatermark })
    }
    return {
      beyondHighWatermark: await del(0, 10n),
      toTwo: await del(0, 2n),
      belowLogStart: await del(0, 1n),
      toHighWatermark: await del(0, -1n),
      unknownPartition: await del(3, 0n),
      unknownTopic: await del(0, 0n, 'diff-no-such-topic'),
      earliest: await listOffset(client, DELETE_TOPIC, 0, -2n),
      fetchDeleted: await fetch(client, DELETE_TOPIC, 0, 0n),
    }
  })
}

/**
 * A classic group through its life by raw requests: the refusals of JoinGroup (no protocols,
 * session timeout out of range, another protocol type), the member id round trip, SyncGroup,
 * Heartbeat and OffsetCommit with a stale generation or an unknown member, DescribeGroups and
 * ListGroups while Stable, and after LeaveGroup.
 */
export async function classicGroupScenario(target: Target): Promise<unknown> {
  const groupId = 'diff-classic'
  await waitForCoordinator(target, groupId, COORDINATOR.group)
  return withRaw(target, async (client) => {
    const join = async (fields: Partial<api.joinGroup.JoinGroupRequest>) => {
      const res = await client.send<api.joinGroup.JoinGroupResponse>(
        ApiKey.JoinGroup,
        5,
        api.joinGroup.createJoinGroupRequest({
          groupId,
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          protocolType: 'consumer',
          protocols: [api.joinGroup.createJoinGroupRequestProtocol({ name: 'range', metadata: utf8('subscription') })],
          ...fields,
        }),
      )
      return res
    }
    const shape = (res: api.joinGroup.JoinGroupResponse, memberId: string) =>
      plain({
        errorCode: res.errorCode,
        generationId: res.generationId,
        protocolName: res.protocolName,
        leaderIsSelf: res.leader === memberId && memberId !== '',
        memberId: memberIdShape(res.memberId),
        members: res.members.map((m) => ({ self: m.memberId === memberId, metadata: m.metadata })),
      })
    const out: Record<string, unknown> = {}
    out.noProtocols = shape(await join({ protocols: [] }), '')
    out.sessionTimeoutTooSmall = shape(await join({ sessionTimeoutMs: 1 }), '')
    out.sessionTimeoutTooLarge = shape(await join({ sessionTimeoutMs: 100_000_000 }), '')
    const required = await join({})
    out.memberIdRequired = shape(required, required.memberId)
    const memberId = required.memberId
    const joined = await join({ memberId })
    out.joined = shape(joined, memberId)
    const generationId = joined.generationId
    out.otherProtocolType = shape(await join({ protocolType: 'connect' }), '')
    const sync = await client.send<api.syncGroup.SyncGroupResponse>(
      ApiKey.SyncGroup,
      3,
      api.syncGroup.createSyncGroupRequest({
        groupId,
        generationId,
        memberId,
        assignments: [api.syncGroup.createSyncGroupRequestAssignment({ memberId, assignment: utf8('assignment') })],
      }),
    )
    out.sync = plain({ errorCode: sync.errorCode, assignment: sync.assignment })
    const heartbeat = async (generation: number, member: string) =>
      errorName(
        (
          await client.send<api.heartbeat.HeartbeatResponse>(
            ApiKey.Heartbeat,
            3,
            api.heartbeat.createHeartbeatRequest({ groupId, generationId: generation, memberId: member }),
          )
        ).errorCode,
      )
    out.heartbeat = await heartbeat(generationId, memberId)
    out.heartbeatStaleGeneration = await heartbeat(generationId + 5, memberId)
    out.heartbeatUnknownMember = await heartbeat(generationId, 'ghost')
    const commit = async (group: string, generation: number, member: string) => {
      const res = await client.send<api.offsetCommit.OffsetCommitResponse>(
        ApiKey.OffsetCommit,
        8,
        api.offsetCommit.createOffsetCommitRequest({
          groupId: group,
          generationIdOrMemberEpoch: generation,
          memberId: member,
          topics: [
            api.offsetCommit.createOffsetCommitRequestTopic({
              name: OFFSETS_TOPIC,
              partitions: [
                api.offsetCommit.createOffsetCommitRequestPartition({ partitionIndex: 0, committedOffset: 1n }),
              ],
            }),
          ],
        }),
      )
      return errorName(res.topics[0]?.partitions[0]?.errorCode ?? -1)
    }
    out.commit = await commit(groupId, generationId, memberId)
    out.commitStaleGeneration = await commit(groupId, generationId + 5, memberId)
    out.commitUnknownMember = await commit(groupId, generationId, 'ghost')
    out.commitWithoutMemberToActiveGroup = await commit(groupId, -1, '')
    out.commitMemberToUnknownGroup = await commit('diff-no-such-group', 3, 'ghost')
    out.commitSimpleToUnknownGroup = await commit('diff-simple-group', -1, '')
    const describe = async () => {
      const res = await client.send<api.describeGroups.DescribeGroupsResponse>(
        ApiKey.DescribeGroups,
        5,
        api.describeGroups.createDescribeGroupsRequest({ groups: [groupId, 'diff-no-such-group'] }),
      )
      return plain(
        res.groups.map((g) => ({
          errorCode: g.errorCode,
          groupId: g.groupId,
          groupState: g.groupState,
          protocolType: g.protocolType,
          protocolData: g.protocolData,
          authorizedOperations: g.authorizedOperations,
          members: g.members.map((m) => ({
            self: m.memberId === memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            memberMetadata: m.memberMetadata,
            memberAssignment: m.memberAssignment,
          })),
        })),
      )
    }
    const listed = async () => {
      const res = await client.send<api.listGroups.ListGroupsResponse>(
        ApiKey.ListGroups,
        5,
        api.listGroups.createListGroupsRequest({}),
      )
      return plain({ errorCode: res.errorCode, groups: res.groups.filter((g) => g.groupId.startsWith('diff-classic')) })
    }
    out.described = await describe()
    out.listed = await listed()
    const fetched = await client.send<api.offsetFetch.OffsetFetchResponse>(
      ApiKey.OffsetFetch,
      8,
      api.offsetFetch.createOffsetFetchRequest({
        groups: [
          api.offsetFetch.createOffsetFetchRequestGroup({
            groupId,
            topics: [api.offsetFetch.createOffsetFetchRequestTopics({ name: OFFSETS_TOPIC, partitionIndexes: [0, 1] })],
          }),
          api.offsetFetch.createOffsetFetchRequestGroup({ groupId: 'diff-no-such-group', topics: null }),
        ],
      }),
    )
    out.offsetFetch = plain(fetched.groups)
    const deleteGroups = async () =>
      plain(
        (
          await client.send<api.deleteGroups.DeleteGroupsResponse>(
            ApiKey.DeleteGroups,
            2,
            api.deleteGroups.createDeleteGroupsRequest({ groupsNames: [groupId, 'diff-no-such-group'] }),
          )
        ).results.map((r) => ({ groupId: r.groupId, errorCode: r.errorCode })),
      )
    const deleteOffset = async () => {
      const res = await client.send<api.offsetDelete.OffsetDeleteResponse>(
        ApiKey.OffsetDelete,
        0,
        api.offsetDelete.createOffsetDeleteRequest({
          groupId,
          topics: [
            api.offsetDelete.createOffsetDeleteRequestTopic({
              name: OFFSETS_TOPIC,
              partitions: [api.offsetDelete.createOffsetDeleteRequestPartition({ partitionIndex: 0 })],
            }),
          ],
        }),
      )
      return plain({ errorCode: res.errorCode, partitions: res.topics.flatMap((t) => t.partitions) })
    }
    out.deleteNonEmptyGroup = await deleteGroups()
    out.offsetDeleteWhileStable = await deleteOffset()
    const leave = await client.send<api.leaveGroup.LeaveGroupResponse>(
      ApiKey.LeaveGroup,
      3,
      api.leaveGroup.createLeaveGroupRequest({ groupId, members: [api.leaveGroup.createMemberIdentity({ memberId })] }),
    )
    out.leave = plain({ errorCode: leave.errorCode, members: leave.members.map((m) => m.errorCode) })
    out.describedAfterLeave = await describe()
    out.listedAfterLeave = await listed()
    out.deleteEmptyGroup = await deleteGroups()
    out.describedAfterDelete = await describe()
    return out
  })
}

/**
 * Topic administration refused: DeleteTopics of an unknown topic, CreatePartitions to fewer,
 * as many or too many partitions and of an unknown topic, and Metadata naming an unknown topic
 * with and without auto-creation (Kafka's auto.create.topics.enable is true by default).
 */
export async function topicAdminScenario(target: Target): Promise<unknown> {
  return withRaw(target, async (client) => {
    const createPartitions = async (name: string, count: number) => {
      const res = await client.send<api.createPartitions.CreatePartitionsResponse>(
        ApiKey.CreatePartitions,
        2,
        api.createPartitions.createCreatePartitionsRequest({
          timeoutMs: 30_000,
          validateOnly: true,
          topics: [api.createPartitions.createCreatePartitionsTopic({ name, count, assignments: null })],
        }),
      )
      return res.results.map((r) => errorName(r.errorCode))
    }
    const deleted = await client.send<api.deleteTopics.DeleteTopicsResponse>(
      ApiKey.DeleteTopics,
      5,
      api.deleteTopics.createDeleteTopicsRequest({ timeoutMs: 30_000, topicNames: ['diff-no-such-topic'] }),
    )
    const metadata = async (name: string, allowAutoTopicCreation: boolean) => {
      const res = await client.send<api.metadata.MetadataResponse>(
        ApiKey.Metadata,
        12,
        api.metadata.createMetadataRequest({
          topics: [api.metadata.createMetadataRequestTopic({ name })],
          allowAutoTopicCreation,
        }),
      )
      return plain(res.topics.map((t) => ({ name: t.name, errorCode: t.errorCode, isInternal: t.isInternal })))
    }
    return {
      deleteUnknownTopic: plain(deleted.responses.map((r) => ({ name: r.name, errorCode: r.errorCode }))),
      partitionsFewer: await createPartitions(DELETE_TOPIC, 0),
      partitionsSame: await createPartitions(DELETE_TOPIC, 1),
      partitionsMore: await createPartitions(DELETE_TOPIC, 3),
      partitionsUnknownTopic: await createPartitions('diff-no-such-topic', 3),
      metadataUnknownNoCreate: await metadata('diff-not-created', false),
      metadataInvalidName: await metadata('bad name!', true),
      metadataAutoCreate: await metadata('diff-auto-created', true),
      autoCreated: await waitForLeaders(target, 'diff-auto-created', 1).then(() =>
        metadata('diff-auto-created', false),
      ),
    }
  })
}

/**
 * A consumer group of the KIP-848 protocol by raw requests: one member joins and acknowledges
 * its assignment, ConsumerGroupDescribe and DescribeGroups describe the group, the refusals of
 * ConsumerGroupHeartbeat (unknown member, fenced epoch, unknown assignor, no subscription), then
 * the member leaves.
 */
export async function consumerGroupScenario(target: Target, topic: string): Promise<unknown> {
  const groupId = 'diff-848'
  await waitForCoordinator(target, groupId, COORDINATOR.group)
  return withRaw(target, async (client) => {
    const metadata = await client.send<api.metadata.MetadataResponse>(
      ApiKey.Metadata,
      12,
      api.metadata.createMetadataRequest({ topics: [api.metadata.createMetadataRequestTopic({ name: topic })] }),
    )
    const topicName = (id: string): string => (metadata.topics.find((t) => t.topicId === id) ? topic : `unknown ${id}`)
    const memberId = 'diff848member000000000'
    const heartbeat = async (fields: Partial<api.consumerGroupHeartbeat.ConsumerGroupHeartbeatRequest>) => {
      const res = await client.send<api.consumerGroupHeartbeat.ConsumerGroupHeartbeatResponse>(
        ApiKey.ConsumerGroupHeartbeat,
        1,
        api.consumerGroupHeartbeat.createConsumerGroupHeartbeatRequest({
          groupId,
          memberId,
          memberEpoch: 0,
          rebalanceTimeoutMs: 30_000,
          subscribedTopicNames: [topic],
          topicPartitions: [],
          ...fields,
        }),
      )
      return res
    }
    const shape = (res: api.consumerGroupHeartbeat.ConsumerGroupHeartbeatResponse) =>
      plain({
        errorCode: res.errorCode,
        memberId: res.memberId,
        memberEpoch: res.memberEpoch,
        heartbeatIntervalMs: res.heartbeatIntervalMs,
        assignment:
          res.assignment?.topicPartitions.map((tp) => ({ topic: topicName(tp.topicId), partitions: tp.partitions })) ??
          null,
      })
    const out: Record<string, unknown> = {}
    out.unknownAssignor = shape(await heartbeat({ serverAssignor: 'bogus' }))
    out.noSubscription = shape(await heartbeat({ subscribedTopicNames: null }))
    out.unknownMemberEpoch = shape(await heartbeat({ memberId: 'diff848ghost0000000000', memberEpoch: 3 }))
    const joined = await heartbeat({})
    out.joined = shape(joined)
    // Acknowledges what it was given (a full heartbeat carrying the owned partitions).
    const acked = await heartbeat({
      memberEpoch: joined.memberEpoch,
      topicPartitions: joined.assignment?.topicPartitions ?? [],
    })
    out.acknowledged = shape(acked)
    out.fencedEpoch = shape(await heartbeat({ memberEpoch: joined.memberEpoch + 7 }))
    const described = await client.send<api.consumerGroupDescribe.ConsumerGroupDescribeResponse>(
      ApiKey.ConsumerGroupDescribe,
      1,
      api.consumerGroupDescribe.createConsumerGroupDescribeRequest({ groupIds: [groupId, 'diff-no-such-group'] }),
    )
    const partitions = (a: { topicPartitions: { topicName: string; partitions: number[] }[] }) =>
      a.topicPartitions.map((tp) => ({ topic: tp.topicName, partitions: tp.partitions }))
    out.described = plain(
      described.groups.map((g) => ({
        errorCode: g.errorCode,
        groupId: g.groupId,
        groupState: g.groupState,
        groupEpoch: g.groupEpoch,
        assignmentEpoch: g.assignmentEpoch,
        assignorName: g.assignorName,
        authorizedOperations: g.authorizedOperations,
        members: g.members.map((m) => ({
          memberId: m.memberId,
          instanceId: m.instanceId,
          rackId: m.rackId,
          memberEpoch: m.memberEpoch,
          clientId: m.clientId,
          clientHost: m.clientHost,
          subscribedTopicNames: m.subscribedTopicNames,
          subscribedTopicRegex: m.subscribedTopicRegex,
          assignment: partitions(m.assignment),
          targetAssignment: partitions(m.targetAssignment),
          memberType: m.memberType,
        })),
      })),
    )
    const classic = await client.send<api.describeGroups.DescribeGroupsResponse>(
      ApiKey.DescribeGroups,
      5,
      api.describeGroups.createDescribeGroupsRequest({ groups: [groupId] }),
    )
    out.describedByDescribeGroups = plain(
      classic.groups.map((g) => ({
        errorCode: g.errorCode,
        groupState: g.groupState,
        protocolType: g.protocolType,
        protocolData: g.protocolData,
        members: g.members.length,
      })),
    )
    const left = await heartbeat({ memberEpoch: -1 })
    out.left = plain({ errorCode: left.errorCode, memberEpoch: left.memberEpoch })
    return out
  })
}

/**
 * InitProducerId v4, retried as clients do while the answer is retriable (Kafka loads its
 * producer id block and transaction state on first use).
 */
function initProducerId(
  target: Target,
  client: RawClient,
  fields: Partial<api.initProducerId.InitProducerIdRequest>,
): Promise<api.initProducerId.InitProducerIdResponse> {
  return waitUntil(
    `${target.name}: InitProducerId`,
    async () => {
      const res = await client.send<api.initProducerId.InitProducerIdResponse>(
        ApiKey.InitProducerId,
        4,
        api.initProducerId.createInitProducerIdRequest({ transactionTimeoutMs: 60_000, ...fields }),
      )
      return errorInfo(res.errorCode).retriable ? undefined : res
    },
    { timeoutMs: PATIENCE_MS },
  )
}

/**
 * An idempotent producer by raw requests: a batch, the same batch again (a duplicate answered
 * with its first offset), a sequence gap, a producer id the broker never gave, and a second
 * InitProducerId naming the first producer (a new id on both brokers; the first stays valid).
 */
export async function idempotentProduceScenario(target: Target, topic: string): Promise<unknown> {
  return withRaw(target, async (client) => {
    const init = (producerId = -1n, producerEpoch = -1) =>
      initProducerId(target, client, { transactionalId: null, producerId, producerEpoch })
    const first = await init()
    const records = [1, 2].map((i) => ({ value: utf8(`idem-${i}`), timestamp: BigInt(i) }))
    const send = (producerId: bigint, producerEpoch: number, baseSequence: number) =>
      produce(client, topic, 0, records, { producerId, producerEpoch, baseSequence })
    const out: Record<string, unknown> = {}
    out.init = plain({ errorCode: first.errorCode, producerEpoch: first.producerEpoch })
    out.first = await send(first.producerId, first.producerEpoch, 0)
    out.duplicate = await send(first.producerId, first.producerEpoch, 0)
    out.next = await send(first.producerId, first.producerEpoch, 2)
    out.gap = await send(first.producerId, first.producerEpoch, 9)
    out.unknownProducerId = await send(first.producerId + 1000n, 0, 5)
    const bumped = await init(first.producerId, first.producerEpoch)
    out.bump = plain({
      errorCode: bumped.errorCode,
      sameProducerId: bumped.producerId === first.producerId,
      epochBump: bumped.producerEpoch - first.producerEpoch,
    })
    out.previousProducerId = await send(first.producerId, first.producerEpoch, 4)
    out.newProducerId = await send(bumped.producerId, bumped.producerEpoch, 0)
    return out
  })
}

/**
 * Transaction refusals by raw requests: EndTxn with no transaction begun; EndTxn,
 * AddPartitionsToTxn with the epoch a later InitProducerId fenced, and an idempotent Produce with it
 * (accepted: the partition never saw the later epoch); an
 * unknown producer id; a transaction timeout beyond the broker's maximum.
 */
export async function transactionErrorsScenario(target: Target): Promise<unknown> {
  const transactionalId = 'diff-txn-errors'
  await waitForCoordinator(target, transactionalId, COORDINATOR.transaction)
  return withRaw(target, async (client) => {
    const init = (transactionTimeoutMs = 60_000) =>
      initProducerId(target, client, { transactionalId, transactionTimeoutMs })
    const endTxn = async (producerId: bigint, producerEpoch: number, committed: boolean) =>
      errorName(
        (
          await client.send<api.endTxn.EndTxnResponse>(
            ApiKey.EndTxn,
            4,
            api.endTxn.createEndTxnRequest({ transactionalId, producerId, producerEpoch, committed }),
          )
        ).errorCode,
      )
    const out: Record<string, unknown> = {}
    const first = await init()
    out.init = plain({ errorCode: first.errorCode, producerEpoch: first.producerEpoch })
    out.commitWithoutTransaction = await endTxn(first.producerId, first.producerEpoch, true)
    out.abortWithoutTransaction = await endTxn(first.producerId, first.producerEpoch, false)
    const second = await init()
    out.reinit = plain({
      errorCode: second.errorCode,
      sameProducerId: second.producerId === first.producerId,
      epochBump: second.producerEpoch - first.producerEpoch,
    })
    out.endTxnFencedEpoch = await endTxn(first.producerId, first.producerEpoch, true)
    out.endTxnUnknownProducerId = await endTxn(second.producerId + 1000n, 0, true)
    out.produceWithEarlierEpoch = await produce(client, OFFSETS_TOPIC, 0, [{ value: utf8('fenced'), timestamp: 1n }], {
      producerId: first.producerId,
      producerEpoch: first.producerEpoch,
      baseSequence: 0,
    })
    const add = await client.send<api.addPartitionsToTxn.AddPartitionsToTxnResponse>(
      ApiKey.AddPartitionsToTxn,
      3,
      api.addPartitionsToTxn.createAddPartitionsToTxnRequest({
        v3AndBelowTransactionalId: transactionalId,
        v3AndBelowProducerId: first.producerId,
        v3AndBelowProducerEpoch: first.producerEpoch,
        v3AndBelowTopics: [
          api.addPartitionsToTxn.createAddPartitionsToTxnRequestAddPartitionsToTxnTopic({
            name: OFFSETS_TOPIC,
            partitions: [0],
          }),
        ],
      }),
    )
    out.addPartitionsFencedEpoch = plain(add.resultsByTopicV3AndBelow.map((t) => t.resultsByPartition))
    const tooLong = await init(100_000_000)
    out.timeoutTooLong = errorName(tooLong.errorCode)
    return out
  })
}

/** Fetch read_committed and ListOffsets in both isolation levels of a partition with transactions. */
export async function transactionalReadScenario(target: Target, topic: string): Promise<unknown> {
  return withRaw(target, async (client) => ({
    readCommitted: await fetch(client, topic, 0, 0n, 1),
    readUncommitted: await fetch(client, topic, 0, 0n, 0),
    latestCommitted: await listOffset(client, topic, 0, -1n, 1),
    latestUncommitted: await listOffset(client, topic, 0, -1n, 0),
  }))
}

/** DescribeConfigs v4 of a topic created without configs: every config with how it is set. */
export async function describeConfigsScenario(target: Target): Promise<Map<string, unknown>> {
  return withRaw(target, async (client) => {
    const res = await client.send<api.describeConfigs.DescribeConfigsResponse>(
      ApiKey.DescribeConfigs,
      4,
      api.describeConfigs.createDescribeConfigsRequest({
        resources: [
          api.describeConfigs.createDescribeConfigsResource({
            resourceType: TOPIC_RESOURCE,
            resourceName: DELETE_TOPIC,
            configurationKeys: null,
          }),
        ],
      }),
    )
    const result = res.results[0]
    return new Map(
      (result?.configs ?? []).map((c) => [
        c.name,
        plain({
          value: c.value,
          readOnly: c.readOnly,
          configSource: c.configSource,
          isSensitive: c.isSensitive,
          configType: c.configType,
        }),
      ]),
    )
  })
}
