/**
 * Streams groups (KIP-1071) over the wire: StreamsGroupHeartbeat and StreamsGroupDescribe v0 as
 * raw requests (Kafka Streams itself is exercised in test/e2e/streams-word-count): topology
 * checks, internal topics created with the partition counts Kafka derives, statuses for missing
 * or badly partitioned topics, active and standby tasks from the sticky assignor, revocation
 * before reassignment, fencing, session expiry, offsets committed with member epochs, and the
 * group in ListGroups, DescribeGroups and DeleteGroups. Also the assignor and the topology
 * configuration on their own.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import {
  type AclBinding,
  AclOperation,
  CLUSTER_NAME,
  PatternType,
  PermissionType,
  ResourceType,
} from '../../src/broker/acls/acl-model.ts'
import { assignTasks, emptyRoles, type TaskRoles } from '../../src/coordinator/streams/task-assignor.ts'
import { configureTopology, StreamsStatus, type StreamsTopology } from '../../src/coordinator/streams/topology.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { type ApiVersionsResponse, createApiVersionsRequest } from '../../src/protocol/generated/api-versions.ts'
import {
  type ConsumerGroupHeartbeatResponse,
  createConsumerGroupHeartbeatRequest,
} from '../../src/protocol/generated/consumer-group-heartbeat.ts'
import { createDeleteGroupsRequest, type DeleteGroupsResponse } from '../../src/protocol/generated/delete-groups.ts'
import {
  createDescribeGroupsRequest,
  type DescribeGroupsResponse,
} from '../../src/protocol/generated/describe-groups.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createListGroupsRequest, type ListGroupsResponse } from '../../src/protocol/generated/list-groups.ts'
import {
  createOffsetCommitRequest,
  createOffsetCommitRequestPartition,
  createOffsetCommitRequestTopic,
  type OffsetCommitResponse,
} from '../../src/protocol/generated/offset-commit.ts'
import {
  createOffsetFetchRequest,
  createOffsetFetchRequestTopics,
  type OffsetFetchResponse,
} from '../../src/protocol/generated/offset-fetch.ts'
import {
  createStreamsGroupDescribeRequest,
  type StreamsGroupDescribeResponse,
} from '../../src/protocol/generated/streams-group-describe.ts'
import {
  createStreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatRequest,
  type StreamsGroupHeartbeatResponse,
} from '../../src/protocol/generated/streams-group-heartbeat.ts'
import {
  createStreamsGroupTopologyDescriptionUpdateRequest,
  createTopologyDescription,
  createTopologyDescriptionNode,
  createTopologyDescriptionSubtopology,
  type StreamsGroupTopologyDescriptionUpdateRequest,
  type StreamsGroupTopologyDescriptionUpdateResponse,
  type TopologyDescriptionNode,
} from '../../src/protocol/generated/streams-group-topology-description-update.ts'
import { startBroker, type TestBroker } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { RawClient } from '../helpers/raw-client.ts'
import { addTopic, harness } from './helpers.ts'

const STREAMS_INVALID_TOPOLOGY = 130
const STREAMS_INVALID_TOPOLOGY_EPOCH = 131
const GROUP_RESOURCE = 32

let broker: TestBroker
let raw: RawClient

before(async () => {
  broker = await startBroker({
    config: { 'group.streams.session.timeout.ms': '1500', 'group.streams.heartbeat.interval.ms': '100' },
  })
  raw = await RawClient.connect(broker.port)
})
after(async () => {
  await raw.close()
  await broker.close()
})

/** A word count's topology: source → repartition by word → count (a changelog). */
function wordCount(app: string, input: string, epoch = 1): StreamsTopology {
  return {
    epoch,
    subtopologies: [
      {
        subtopologyId: '0',
        sourceTopics: [input],
        sourceTopicRegex: [],
        stateChangelogTopics: [],
        repartitionSinkTopics: [`${app}-repartition`],
        repartitionSourceTopics: [],
        copartitionGroups: [],
      },
      {
        subtopologyId: '1',
        sourceTopics: [],
        sourceTopicRegex: [],
        stateChangelogTopics: [
          {
            name: `${app}-changelog`,
            partitions: 0,
            replicationFactor: 0,
            topicConfigs: [{ key: 'cleanup.policy', value: 'compact' }],
          },
        ],
        repartitionSinkTopics: [],
        repartitionSourceTopics: [
          {
            name: `${app}-repartition`,
            partitions: 0,
            replicationFactor: 0,
            topicConfigs: [{ key: 'cleanup.policy', value: 'delete' }],
          },
        ],
        copartitionGroups: [],
      },
    ],
  }
}

function hb(init: Partial<StreamsGroupHeartbeatRequest>): Promise<StreamsGroupHeartbeatResponse> {
  const req = createStreamsGroupHeartbeatRequest({ rebalanceTimeoutMs: -1, ...init })
  return raw.send<StreamsGroupHeartbeatResponse>(ApiKey.StreamsGroupHeartbeat, 0, req)
}

function join(groupId: string, memberId: string, processId: string, topology: StreamsTopology) {
  return hb({
    groupId,
    memberId,
    processId,
    memberEpoch: 0,
    rebalanceTimeoutMs: 2000,
    topology,
    activeTasks: [],
    standbyTasks: [],
    warmupTasks: [],
  })
}

type Tasks = StreamsGroupHeartbeatResponse['activeTasks']

const flat = (tasks: Tasks): string[] =>
  (tasks ?? []).flatMap((t) => t.partitions.map((p) => `${t.subtopologyId}:${p}`)).sort()

/** A heartbeat reporting the tasks it owns (null: unchanged). */
function beat(groupId: string, memberId: string, memberEpoch: number, owned: TaskRoles | null = null) {
  const list = (m: TaskRoles['active']) => [...m].map(([subtopologyId, partitions]) => ({ subtopologyId, partitions }))
  return hb({
    groupId,
    memberId,
    memberEpoch,
    activeTasks: owned && list(owned.active),
    standbyTasks: owned && list(owned.standby),
    warmupTasks: owned && list(owned.warmup),
  })
}

/** What a response assigned, as the member then owns it. */
function owns(r: StreamsGroupHeartbeatResponse): TaskRoles {
  const map = (t: Tasks) => new Map((t ?? []).map((x) => [x.subtopologyId, x.partitions]))
  return { active: map(r.activeTasks), standby: map(r.standbyTasks), warmup: map(r.warmupTasks) }
}

const statuses = (r: { status: { statusCode: number }[] | null }) => (r.status ?? []).map((s) => s.statusCode)

async function describeGroup(groupId: string) {
  const res = await raw.send<StreamsGroupDescribeResponse>(
    ApiKey.StreamsGroupDescribe,
    0,
    createStreamsGroupDescribeRequest({ groupIds: [groupId] }),
  )
  return res.groups[0]
}

/** Joins and heartbeats until the internal topics exist and the member got tasks. */
async function joinUntilAssigned(groupId: string, memberId: string, processId: string, topology: StreamsTopology) {
  let r = await join(groupId, memberId, processId, topology)
  assert.equal(r.errorCode, ErrorCode.NONE, r.errorMessage ?? '')
  return waitUntil(
    `${memberId} gets tasks`,
    async () => {
      if (flat(r.activeTasks).length > 0) return r
      r = await beat(groupId, memberId, r.memberEpoch)
      return false
    },
    { timeoutMs: 10_000 },
  )
}

test('ApiVersions advertises StreamsGroupHeartbeat and StreamsGroupDescribe v0-1, StreamsGroupTopologyDescriptionUpdate v0, and finalizes streams.version 1', async () => {
  const res = await raw.send<ApiVersionsResponse>(
    ApiKey.ApiVersions,
    4,
    createApiVersionsRequest({ clientSoftwareName: 'raw', clientSoftwareVersion: '1' }),
  )
  for (const [key, max] of [
    [ApiKey.StreamsGroupHeartbeat, 1],
    [ApiKey.StreamsGroupDescribe, 1],
    [ApiKey.StreamsGroupTopologyDescriptionUpdate, 0],
  ]) {
    const entry = res.apiKeys.find((k) => k.apiKey === key)
    assert.deepEqual([entry?.minVersion, entry?.maxVersion], [0, max], `api ${key}`)
  }
  const finalized = res.finalizedFeatures.find((f) => f.name === 'streams.version')
  assert.deepEqual([finalized?.minVersionLevel, finalized?.maxVersionLevel], [1, 1])
  const supported = res.supportedFeatures.find((f) => f.name === 'streams.version')
  assert.deepEqual([supported?.minVersion, supported?.maxVersion], [0, 1])
})

test('KIP-1331: a v1 heartbeat asks for the topology description until a member sends it; StreamsGroupDescribe v1 returns it when asked', async () => {
  await broker.core.topics.create('kip1331-input', 2, {})
  const topology = wordCount('kip1331', 'kip1331-input')
  const first = await joinUntilAssigned('kip1331', 'm1', 'p1', topology)
  const beatV1 = () =>
    raw.send<StreamsGroupHeartbeatResponse>(
      ApiKey.StreamsGroupHeartbeat,
      1,
      createStreamsGroupHeartbeatRequest({ groupId: 'kip1331', memberId: 'm1', memberEpoch: first.memberEpoch }),
    )
  const before = await beatV1()
  assert.equal(before.errorCode, ErrorCode.NONE)
  assert.equal(before.topologyDescriptionRequired, true)
  assert.equal(before.acceptableRecoveryLag, 10_000n)
  const node = (name: string, nodeType: number, more: Partial<TopologyDescriptionNode> = {}) =>
    createTopologyDescriptionNode({ name, nodeType, ...more })
  const description = createTopologyDescription({
    subtopologies: [
      createTopologyDescriptionSubtopology({
        subtopologyId: '0',
        nodes: [
          node('KSTREAM-SOURCE-0000000000', 1, { sourceTopics: ['kip1331-input'], successors: ['KSTREAM-SINK-1'] }),
          node('KSTREAM-SINK-1', 3, { sinkTopic: 'kip1331-repartition' }),
        ],
      }),
    ],
  })
  const update = (init: Partial<StreamsGroupTopologyDescriptionUpdateRequest>) =>
    raw.send<StreamsGroupTopologyDescriptionUpdateResponse>(
      ApiKey.StreamsGroupTopologyDescriptionUpdate,
      0,
      createStreamsGroupTopologyDescriptionUpdateRequest({
        groupId: 'kip1331',
        memberId: 'm1',
        topologyEpoch: topology.epoch,
        topologyDescription: description,
        ...init,
      }),
    )
  const describeV1 = async (includeTopologyDescription: boolean) =>
    (
      await raw.send<StreamsGroupDescribeResponse>(
        ApiKey.StreamsGroupDescribe,
        1,
        createStreamsGroupDescribeRequest({ groupIds: ['kip1331'], includeTopologyDescription }),
      )
    ).groups[0]
  assert.deepEqual(
    [(await describeV1(true))?.topologyDescriptionStatus, (await describeV1(true))?.topologyDescription],
    [1, null],
    'NOT_STORED before any member sent one',
  )
  assert.equal((await update({ memberId: 'stranger' })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  assert.equal((await update({ topologyEpoch: topology.epoch + 1 })).errorCode, ErrorCode.INVALID_REQUEST)
  assert.equal((await update({ groupId: 'no-such-streams-group' })).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
  assert.equal((await update({})).errorCode, ErrorCode.NONE)
  assert.equal((await beatV1()).topologyDescriptionRequired, false, 'no longer asked once stored')
  const described = await describeV1(true)
  assert.equal(described?.topologyDescriptionStatus, 3, 'AVAILABLE')
  assert.deepEqual(described?.topologyDescription, description)
  assert.equal(described?.assignorName, 'sticky')
  const notAsked = await describeV1(false)
  assert.deepEqual([notAsked?.topologyDescriptionStatus, notAsked?.topologyDescription], [0, null], 'NOT_REQUESTED')
})

test('requests are checked as Kafka checks them', async () => {
  const t = wordCount('bad', 'bad-input')
  assert.equal((await join('bad', '', 'p', t)).errorCode, ErrorCode.INVALID_REQUEST, 'member id missing')
  const noTopology = await hb({
    groupId: 'bad',
    memberId: 'm',
    memberEpoch: 0,
    rebalanceTimeoutMs: 1000,
    processId: 'p',
  })
  assert.equal(noTopology.errorCode, ErrorCode.INVALID_REQUEST)
  assert.match(noTopology.errorMessage ?? '', /Topology/)
  const badSink = structuredClone(t)
  badSink.subtopologies[0]?.repartitionSinkTopics.push('nowhere')
  const invalid = await join('bad', 'm', 'p', badSink)
  assert.equal(invalid.errorCode, STREAMS_INVALID_TOPOLOGY)
  assert.equal((await beat('nothing-here', 'm', 3)).errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
})

test('missing source topics: a status, no tasks, the group NotReady; tasks once the topic exists', async () => {
  const r = await join('g-missing', 'm1', 'p1', wordCount('g-missing', 'missing-input'))
  assert.equal(r.errorCode, ErrorCode.NONE)
  assert.deepEqual(statuses(r), [StreamsStatus.MISSING_SOURCE_TOPICS])
  assert.deepEqual(flat(r.activeTasks), [])
  const d = await describeGroup('g-missing')
  assert.equal(d?.groupState, 'NotReady')
  assert.equal(d?.topology?.subtopologies, null)
  await broker.core.topics.create('missing-input', 2, {})
  const assigned = await joinUntilAssigned('g-missing', 'm1', 'p1', wordCount('g-missing', 'missing-input'))
  assert.deepEqual(flat(assigned.activeTasks), ['0:0', '0:1', '1:0', '1:1'])
  assert.equal((await beat('g-missing', 'm1', -1)).errorCode, ErrorCode.NONE)
})

test('internal topics are created with derived partition counts, then tasks are assigned and described', async () => {
  await broker.core.topics.create('wc-in', 3, {})
  const first = await join('wc', 'a', 'proc-a', wordCount('wc', 'wc-in'))
  assert.deepEqual(statuses(first), [StreamsStatus.MISSING_INTERNAL_TOPICS])
  const a = await joinUntilAssigned('wc', 'a', 'proc-a', wordCount('wc', 'wc-in'))
  assert.deepEqual(statuses(a), [])
  assert.equal(broker.core.topics.get('wc-repartition')?.partitionCount, 3, 'as many as its writer reads')
  assert.equal(broker.core.topics.get('wc-changelog')?.partitionCount, 3, 'one per task')
  assert.equal(broker.core.topics.get('wc-changelog')?.configs['cleanup.policy'], 'compact', 'configs as sent')
  assert.deepEqual(flat(a.activeTasks), ['0:0', '0:1', '0:2', '1:0', '1:1', '1:2'])
  assert.equal(a.heartbeatIntervalMs, 100)
  const d = await describeGroup('wc')
  assert.equal(d?.groupState, 'Stable')
  assert.equal(d?.groupEpoch, a.memberEpoch)
  assert.deepEqual(
    d?.topology?.subtopologies?.map((s) => [
      s.subtopologyId,
      s.repartitionSourceTopics,
      s.stateChangelogTopics.map((t) => t.partitions),
    ]),
    [
      ['0', [], []],
      [
        '1',
        [
          {
            name: 'wc-repartition',
            partitions: 3,
            replicationFactor: 0,
            topicConfigs: [{ key: 'cleanup.policy', value: 'delete' }],
          },
        ],
        [3],
      ],
    ],
  )
  assert.equal(d?.members[0]?.processId, 'proc-a')
  assert.deepEqual(flat(d?.members[0]?.assignment.activeTasks ?? []), flat(a.activeTasks))
  assert.equal((await beat('wc', 'a', -1)).errorCode, ErrorCode.NONE)
})

test('a second process: tasks are revoked from the first before the second gets them; standbys on the other process', async () => {
  await broker.core.topics.create('two-in', 2, {})
  const topology = wordCount('two', 'two-in')
  let a = await joinUntilAssigned('two', 'a', 'proc-a', topology)
  let ownedA = owns(a)
  const epochA = a.memberEpoch
  let b = await join('two', 'b', 'proc-b', topology)
  assert.ok(b.memberEpoch > epochA, 'the group epoch went up')
  assert.deepEqual(flat(b.activeTasks), [], 'b waits: a still runs every task')
  a = await beat('two', 'a', a.memberEpoch)
  assert.equal(a.memberEpoch, epochA, 'a keeps its epoch while it revokes')
  assert.equal(flat(a.activeTasks).length, 2, 'a keeps half')
  b = await beat('two', 'b', b.memberEpoch, emptyRoles())
  assert.deepEqual(flat(b.activeTasks ?? []), [], 'still nothing: a has not confirmed the revocation')
  ownedA = owns(a)
  const kept = flat(a.activeTasks)
  a = await beat('two', 'a', a.memberEpoch, ownedA)
  assert.equal(a.memberEpoch, b.memberEpoch, 'a moved to the new epoch once it released the tasks')
  b = await beat('two', 'b', b.memberEpoch, emptyRoles())
  const all = [...kept, ...flat(b.activeTasks)].sort()
  assert.deepEqual(all, ['0:0', '0:1', '1:0', '1:1'], 'every task once')
  assert.equal((await describeGroup('two'))?.groupState, 'Stable')

  // One standby replica per stateful task (subtopology 1), on the other process.
  const alter = async (value: string) => {
    const res = await raw.send<IncrementalAlterConfigsResponse>(
      ApiKey.IncrementalAlterConfigs,
      1,
      createIncrementalAlterConfigsRequest({
        resources: [
          {
            resourceType: GROUP_RESOURCE,
            resourceName: 'two',
            configs: [{ name: 'streams.num.standby.replicas', configOperation: 0, value }],
          },
        ],
      }),
    )
    return res.responses[0]?.errorCode
  }
  assert.equal(await alter('3'), ErrorCode.INVALID_CONFIG, 'above group.streams.max.standby.replicas (2)')
  assert.equal(await alter('1'), ErrorCode.NONE)
  let ownedB = owns(b)
  a = await beat('two', 'a', a.memberEpoch, ownedA)
  b = await beat('two', 'b', b.memberEpoch, ownedB)
  ownedA = owns(a)
  ownedB = owns(b)
  const standbyA = flat(a.standbyTasks)
  const standbyB = flat(b.standbyTasks)
  assert.deepEqual([...standbyA, ...standbyB].sort(), ['1:0', '1:1'], 'each stateful task has one standby')
  for (const t of standbyA) assert.ok(!flat(a.activeTasks).includes(t), 'never on the process running it')
  for (const t of standbyB) assert.ok(!flat(b.activeTasks).includes(t), 'never on the process running it')
  const d = await describeGroup('two')
  assert.deepEqual(d?.members.flatMap((m) => flat(m.targetAssignment.standbyTasks)).sort(), ['1:0', '1:1'])

  // Fencing, offsets with member epochs, the group's type in the group APIs.
  assert.equal((await beat('two', 'a', a.memberEpoch + 5)).errorCode, ErrorCode.FENCED_MEMBER_EPOCH)
  assert.equal((await beat('two', 'ghost', 1)).errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  const commit = (memberEpoch: number) =>
    raw.send<OffsetCommitResponse>(
      ApiKey.OffsetCommit,
      9,
      createOffsetCommitRequest({
        groupId: 'two',
        memberId: 'a',
        generationIdOrMemberEpoch: memberEpoch,
        topics: [
          createOffsetCommitRequestTopic({
            name: 'two-in',
            partitions: [createOffsetCommitRequestPartition({ partitionIndex: 0, committedOffset: 7n })],
          }),
        ],
      }),
    )
  assert.equal((await commit(a.memberEpoch - 1)).topics[0]?.partitions[0]?.errorCode, ErrorCode.STALE_MEMBER_EPOCH)
  assert.equal((await commit(a.memberEpoch)).topics[0]?.partitions[0]?.errorCode, ErrorCode.NONE)
  const fetched = await raw.send<OffsetFetchResponse>(
    ApiKey.OffsetFetch,
    9,
    createOffsetFetchRequest({
      groups: [
        {
          groupId: 'two',
          memberId: 'a',
          memberEpoch: a.memberEpoch,
          topics: [createOffsetFetchRequestTopics({ name: 'two-in', partitionIndexes: [0] })],
        },
      ],
    }),
  )
  assert.equal(fetched.groups[0]?.topics[0]?.partitions[0]?.committedOffset, 7n)
  const listed = await raw.send<ListGroupsResponse>(
    ApiKey.ListGroups,
    5,
    createListGroupsRequest({ typesFilter: ['streams'] }),
  )
  assert.deepEqual(
    listed.groups.filter((g) => g.groupId === 'two').map((g) => [g.groupType, g.groupState]),
    [['streams', 'Stable']],
  )
  const dg = await raw.send<DescribeGroupsResponse>(
    ApiKey.DescribeGroups,
    6,
    createDescribeGroupsRequest({ groups: ['two'] }),
  )
  assert.equal(dg.groups[0]?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND, 'DescribeGroups describes classic groups only')
  const consumerHb = await raw.send<ConsumerGroupHeartbeatResponse>(
    ApiKey.ConsumerGroupHeartbeat,
    1,
    createConsumerGroupHeartbeatRequest({
      groupId: 'two',
      memberId: 'c',
      memberEpoch: 0,
      rebalanceTimeoutMs: 1000,
      subscribedTopicNames: ['two-in'],
      topicPartitions: [],
    }),
  )
  assert.equal(consumerHb.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
  const del = () =>
    raw.send<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, createDeleteGroupsRequest({ groupsNames: ['two'] }))
  assert.equal((await del()).results[0]?.errorCode, ErrorCode.NON_EMPTY_GROUP)

  // b leaves: a gets everything once the group settles; a stops heartbeating and its session ends.
  assert.equal((await beat('two', 'b', -1)).errorCode, ErrorCode.NONE)
  a = await beat('two', 'a', a.memberEpoch, ownedA)
  assert.deepEqual(flat(a.standbyTasks), [], 'no other process for standbys: a revokes its standby first')
  assert.deepEqual(flat(a.activeTasks).length, 2)
  a = await beat('two', 'a', a.memberEpoch, owns(a))
  assert.deepEqual(flat(a.activeTasks), ['0:0', '0:1', '1:0', '1:1'], 'then it runs every task')
  await waitUntil('a session ends', async () => (await describeGroup('two'))?.groupState === 'Empty', {
    timeoutMs: 10_000,
  })
  assert.equal((await del()).results[0]?.errorCode, ErrorCode.NONE)
  assert.equal((await describeGroup('two'))?.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
})

test("topology epochs: a newer topology replaces the group's, an older member is told STALE_TOPOLOGY", async () => {
  await broker.core.topics.create('epoch-in', 1, {})
  const a = await joinUntilAssigned('epochs', 'a', 'pa', wordCount('epochs', 'epoch-in', 1))
  const changed = wordCount('epochs', 'epoch-in', 1)
  changed.subtopologies[0]?.sourceTopics.push('epoch-in-2')
  const b = await join('epochs', 'b', 'pb', changed)
  assert.equal(b.errorCode, STREAMS_INVALID_TOPOLOGY_EPOCH, 'same epoch, other topology')
  const newer = await join('epochs', 'b', 'pb', wordCount('epochs', 'epoch-in', 2))
  assert.equal(newer.errorCode, ErrorCode.NONE)
  const old = await beat('epochs', 'a', a.memberEpoch)
  assert.ok(statuses(old).includes(StreamsStatus.STALE_TOPOLOGY))
  const shutdown = await hb({
    groupId: 'epochs',
    memberId: 'b',
    memberEpoch: newer.memberEpoch,
    shutdownApplication: true,
  })
  assert.ok(statuses(shutdown).includes(StreamsStatus.SHUTDOWN_APPLICATION))
  for (const m of ['a', 'b']) await beat('epochs', m, -1)
})

test('a streams group is rebuilt from its record by the next coordinator: members keep their epochs and tasks', async (t) => {
  const h = await harness()
  for (const name of ['r-in', 'r-repartition', 'r-changelog']) addTopic(h, name, 2)
  const base = {
    memberId: 'm',
    endpointInformationEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    topology: null,
    activeTasks: null,
    standbyTasks: null,
    warmupTasks: null,
    processId: null,
    userEndpoint: null,
    clientTags: null,
    taskOffsets: null,
    taskEndOffsets: null,
    shutdownApplication: false,
    clientId: 'c',
    clientHost: '/127.0.0.1',
    mayCreateTopic: () => true,
  }
  const empty: never[] = []
  const joined = await h.coordinator.streamsGroupHeartbeat('r', {
    ...base,
    memberEpoch: 0,
    rebalanceTimeoutMs: 1000,
    processId: 'p',
    topology: wordCount('r', 'r-in'),
    activeTasks: empty,
    standbyTasks: empty,
    warmupTasks: empty,
  })
  assert.deepEqual(flat(joined.activeTasks), ['0:0', '0:1', '1:0', '1:1'])
  await h.coordinator.close()
  const next = await h.restart()
  t.after(() => next.close())
  const again = await next.streamsGroupHeartbeat('r', {
    ...base,
    memberEpoch: joined.memberEpoch,
    activeTasks: joined.activeTasks,
    standbyTasks: empty,
    warmupTasks: empty,
  })
  assert.equal(again.errorCode, ErrorCode.NONE)
  assert.equal(again.memberEpoch, joined.memberEpoch, 'no new epoch: nothing changed')
  assert.deepEqual(statuses(again), [])
  const g = next.group('r')
  assert.equal(g?.type, 'streams')
  assert.equal(g?.state, 'Stable')
})

test('with an authorizer, internal topics are created only for a member allowed to CREATE them', async (t) => {
  const secured = await startBroker({
    config: {
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'group.streams.heartbeat.interval.ms': '100',
    },
    topics: [{ name: 'acl-in', partitions: 1 }],
  })
  const client = await RawClient.connect(secured.port)
  t.after(async () => {
    await client.close()
    await secured.close()
  })
  // A PLAINTEXT client is User:ANONYMOUS.
  const allow = (resourceType: number, resourceName: string, operation: number): AclBinding => ({
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal: 'User:ANONYMOUS',
    host: '*',
    operation,
    permissionType: PermissionType.ALLOW,
  })
  await secured.core.acls.change(
    [
      allow(ResourceType.GROUP, 'acl-app', AclOperation.READ),
      allow(ResourceType.TOPIC, 'acl-in', AclOperation.DESCRIBE),
    ],
    [],
  )
  const joinAcl = () =>
    client.send<StreamsGroupHeartbeatResponse>(
      ApiKey.StreamsGroupHeartbeat,
      0,
      createStreamsGroupHeartbeatRequest({
        groupId: 'acl-app',
        memberId: 'm',
        memberEpoch: 0,
        rebalanceTimeoutMs: 1000,
        processId: 'p',
        topology: wordCount('acl-app', 'acl-in'),
        activeTasks: [],
        standbyTasks: [],
        warmupTasks: [],
      }),
    )
  const refused = await joinAcl()
  assert.equal(refused.errorCode, ErrorCode.NONE)
  assert.deepEqual(
    refused.status?.map((s) => [s.statusCode, s.statusDetail]),
    [
      [
        StreamsStatus.MISSING_INTERNAL_TOPICS,
        'Unauthorized to CREATE on topics acl-app-changelog,acl-app-repartition.',
      ],
      [StreamsStatus.MISSING_INTERNAL_TOPICS, 'Internal topics are missing: acl-app-changelog, acl-app-repartition'],
    ],
  )
  assert.equal(secured.core.topics.get('acl-app-changelog'), undefined, 'nothing created')
  await secured.core.acls.change([allow(ResourceType.CLUSTER, CLUSTER_NAME, AclOperation.CREATE)], [])
  await joinAcl()
  await waitUntil('the internal topics', () => secured.core.topics.get('acl-app-changelog') !== undefined)
})

describe('the sticky task assignor', () => {
  const subtopologies = [
    { subtopologyId: '0', numTasks: 4, stateful: false },
    { subtopologyId: '1', numTasks: 4, stateful: true },
  ]
  const member = (memberId: string, processId: string, previous: TaskRoles = emptyRoles()) => ({
    memberId,
    processId,
    previous,
  })
  const count = (r: TaskRoles) => [...r.active.values()].reduce((n, ps) => n + ps.length, 0)

  test('balances active tasks and keeps them where they were', () => {
    const first = assignTasks([member('a', 'pa'), member('b', 'pb')], subtopologies, 0)
    assert.deepEqual([...first.values()].map(count), [4, 4])
    const a = first.get('a') as TaskRoles
    const second = assignTasks(
      [member('a', 'pa', a), member('b', 'pb', first.get('b')), member('c', 'pc')],
      subtopologies,
      0,
    )
    const counts = [...second.values()].map(count).sort()
    assert.deepEqual(counts, [2, 3, 3])
    for (const [s, ps] of (second.get('a') as TaskRoles).active) {
      for (const p of ps) assert.ok(a.active.get(s)?.includes(p), `a kept ${s}:${p}`)
    }
  })

  test('standby replicas go to other processes, as many as there are', () => {
    const out = assignTasks([member('a', 'pa'), member('a2', 'pa'), member('b', 'pb')], subtopologies, 2)
    const process = { a: 'pa', a2: 'pa', b: 'pb' } as Record<string, string>
    for (let p = 0; p < 4; p++) {
      const holders = [...out].filter(([, r]) => r.active.get('1')?.includes(p)).map(([id]) => process[id])
      const standbys = [...out].filter(([, r]) => r.standby.get('1')?.includes(p)).map(([id]) => process[id])
      assert.equal(holders.length, 1)
      assert.equal(standbys.length, 1, 'two replicas asked, one other process')
      assert.notEqual(standbys[0], holders[0])
    }
    for (const r of out.values()) assert.equal(r.standby.get('0'), undefined, 'stateless tasks have no standbys')
  })
})

describe('topology configuration', () => {
  const counts = (topics: Record<string, number>) => ({
    partitionCount: (n: string) => topics[n],
    names: () => Object.keys(topics),
  })

  test('co-partitioned sources must agree; a flexible repartition topic follows them', () => {
    // orders is re-keyed into rep, which is joined with left and right.
    const join: StreamsTopology = {
      epoch: 1,
      subtopologies: [
        {
          subtopologyId: '0',
          sourceTopics: ['orders'],
          sourceTopicRegex: [],
          stateChangelogTopics: [],
          repartitionSinkTopics: ['rep'],
          repartitionSourceTopics: [],
          copartitionGroups: [],
        },
        {
          subtopologyId: '1',
          sourceTopics: ['left', 'right'],
          sourceTopicRegex: [],
          stateChangelogTopics: [],
          repartitionSinkTopics: [],
          repartitionSourceTopics: [{ name: 'rep', partitions: 0, replicationFactor: 0, topicConfigs: [] }],
          copartitionGroups: [{ sourceTopics: [0, 1], sourceTopicRegex: [], repartitionSourceTopics: [0] }],
        },
      ],
    }
    const missing = configureTopology(join, counts({ left: 3, right: 3 }))
    assert.equal(missing.problem?.statusCode, StreamsStatus.MISSING_SOURCE_TOPICS)
    const bad = configureTopology(join, counts({ orders: 5, left: 2, right: 3 }))
    assert.equal(bad.problem?.statusCode, StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS)
    const good = configureTopology(join, counts({ orders: 5, left: 3, right: 3 }))
    assert.deepEqual(
      good.toCreate.map((t) => [t.name, t.partitions]),
      [['rep', 3]],
      'co-partitioned: the count of left and right, not the 5 of its writer',
    )
    assert.equal(good.problem?.statusCode, StreamsStatus.MISSING_INTERNAL_TOPICS)
    const wrong = configureTopology(join, counts({ orders: 5, left: 3, right: 3, rep: 5 }))
    assert.equal(wrong.problem?.statusCode, StreamsStatus.INCORRECTLY_PARTITIONED_TOPICS)
    const ready = configureTopology(join, counts({ orders: 5, left: 3, right: 3, rep: 3 }))
    assert.equal(ready.problem, null)
    assert.deepEqual(
      ready.subtopologies?.map((s) => s.numTasks),
      [5, 3],
    )
  })

  test('regular expressions select source topics', () => {
    const t: StreamsTopology = {
      epoch: 1,
      subtopologies: [
        {
          subtopologyId: '0',
          sourceTopics: [],
          sourceTopicRegex: ['logs-.*'],
          stateChangelogTopics: [{ name: 'store', partitions: 0, replicationFactor: 0, topicConfigs: [] }],
          repartitionSinkTopics: [],
          repartitionSourceTopics: [],
          copartitionGroups: [],
        },
      ],
    }
    const c = configureTopology(t, counts({ 'logs-a': 2, 'logs-b': 5, other: 9 }))
    assert.deepEqual(c.subtopologies?.[0]?.sourceTopics, ['logs-a', 'logs-b'])
    assert.deepEqual(
      c.toCreate.map((x) => [x.name, x.partitions]),
      [['store', 5]],
    )
  })
})
