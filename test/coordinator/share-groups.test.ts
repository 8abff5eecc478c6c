/**
 * Share groups (KIP-932) over the wire with raw requests: ShareGroupHeartbeat membership and the
 * simple assignor, ShareFetch sessions, acquisition by one member at a time, acknowledgements
 * (ACCEPT, RELEASE, REJECT, RENEW), lock expiry, the delivery count limit, share state that
 * survives a restart of a broker on the local and postgres engines, and the share.* group configs.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { test } from 'node:test'
import type { BrokerOptions } from '../../src/broker/broker.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createDescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../../src/protocol/generated/describe-configs.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createShareFetchRequest, type ShareFetchResponse } from '../../src/protocol/generated/share-fetch.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { RawClient } from '../helpers/raw-client.ts'
import {
  ACCEPT,
  ack,
  heartbeat,
  join,
  partitionsOf,
  REJECT,
  RELEASE,
  RENEW,
  ShareMember,
  setup,
  startOffsetOf,
  topic,
} from './share-helpers.ts'

test('heartbeat: members join, share one partition, spread over many, leave; checks as Kafka', async (t) => {
  const { broker, raw } = await setup(t, { 'group.share.heartbeat.interval.ms': '1000' })
  const one = await topic(broker, 'share-hb-one', 1)
  const four = await topic(broker, 'share-hb-four', 4)

  const a = await join(raw, 'hb', 'member-a', ['share-hb-one'])
  assert.equal(a.errorCode, ErrorCode.NONE)
  assert.equal(a.memberId, 'member-a')
  assert.equal(a.heartbeatIntervalMs, 1000)
  assert.deepEqual(a.assignment?.topicPartitions, [{ topicId: one, partitions: [0] }])
  const b = await join(raw, 'hb', 'member-b', ['share-hb-one'])
  assert.deepEqual(partitionsOf(b), [0], 'several members share the one partition')
  assert.ok(b.memberEpoch > a.memberEpoch)
  const a2 = await heartbeat(raw, { groupId: 'hb', memberId: 'member-a', memberEpoch: a.memberEpoch })
  assert.equal(a2.errorCode, ErrorCode.NONE)
  assert.equal(a2.memberEpoch, b.memberEpoch)
  assert.equal(a2.assignment, null, 'an unchanged assignment is not sent again')

  const c = await join(raw, 'hb4', 'c', ['share-hb-four'])
  const d = await join(raw, 'hb4', 'd', ['share-hb-four'])
  const c2 = await heartbeat(raw, { groupId: 'hb4', memberId: 'c', memberEpoch: c.memberEpoch })
  assert.equal(c2.assignment?.topicPartitions[0]?.topicId, four)
  const mine = partitionsOf(c2)
  const theirs = partitionsOf(d)
  assert.equal(mine.length, 2)
  assert.deepEqual([...mine, ...theirs].sort(), [0, 1, 2, 3], 'more partitions than members: each goes to one')

  const fenced = await heartbeat(raw, { groupId: 'hb4', memberId: 'c', memberEpoch: c2.memberEpoch + 5 })
  assert.equal(fenced.errorCode, ErrorCode.FENCED_MEMBER_EPOCH)
  const unknown = await heartbeat(raw, { groupId: 'hb4', memberId: 'nobody', memberEpoch: 3 })
  assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_MEMBER_ID)
  const missing = await heartbeat(raw, { groupId: 'no-such-share-group', memberId: 'x', memberEpoch: 3 })
  assert.equal(missing.errorCode, ErrorCode.GROUP_ID_NOT_FOUND)
  const noTopics = await heartbeat(raw, { groupId: 'hb4', memberId: 'e', memberEpoch: 0 })
  assert.equal(noTopics.errorCode, ErrorCode.INVALID_REQUEST)
  const noMember = await heartbeat(raw, { groupId: 'hb4', memberId: '', memberEpoch: 0, subscribedTopicNames: ['x'] })
  assert.equal(noMember.errorCode, ErrorCode.INVALID_REQUEST)

  const left = await heartbeat(raw, { groupId: 'hb4', memberId: 'd', memberEpoch: -1 })
  assert.equal(left.errorCode, ErrorCode.NONE)
  assert.equal(left.memberEpoch, -1)
  const c3 = await heartbeat(raw, { groupId: 'hb4', memberId: 'c', memberEpoch: c2.memberEpoch })
  assert.deepEqual(partitionsOf(c3), [0, 1, 2, 3], 'the last member takes every partition')
})

test('fetch: records go to one member at a time; together the members get all of them', async (t) => {
  const { broker, raw, produce } = await setup(t)
  const id = await topic(broker, 'share-split', 1)
  const members = ['m1', 'm2', 'm3'].map((m) => new ShareMember(raw, 'split', m, id))
  // share.auto.offset.reset is latest: the share partition starts where the log ends when first read.
  for (const m of members) assert.deepEqual((await m.fetch()).offsets, [])
  await produce(
    'share-split',
    Array.from({ length: 30 }, (_, i) => `v${i}`),
  )
  const seen: number[][] = []
  for (const m of members) seen.push((await m.fetch({ maxRecords: 10, shareAcquireMode: 1 })).offsets)
  for (const offsets of seen) assert.equal(offsets.length, 10, 'record_limit mode: exactly max_records')
  const all = seen.flat().sort((a, b) => a - b)
  assert.deepEqual(
    all,
    Array.from({ length: 30 }, (_, i) => i),
    'disjoint, and together every record',
  )
  assert.deepEqual((await members[0]?.fetch())?.offsets, [], 'nothing left while all are acquired')
})

test('acknowledgements: ACCEPT completes, RELEASE redelivers, REJECT archives; errors as Kafka', async (t) => {
  const { broker, raw, produce } = await setup(t)
  const id = await topic(broker, 'share-acks', 1)
  const a = new ShareMember(raw, 'acks', 'a', id)
  const b = new ShareMember(raw, 'acks', 'b', id)
  await a.fetch()
  await b.fetch()
  await produce('share-acks', ['r0', 'r1', 'r2', 'r3'])
  const got = await a.fetch()
  assert.deepEqual(got.values, ['r0', 'r1', 'r2', 'r3'])
  assert.deepEqual([...got.deliveries.values()], [1, 1, 1, 1])
  assert.equal(got.res.acquisitionLockTimeoutMs, 30000, 'Kafka default share.record.lock.duration.ms')

  const foreign = await b.acknowledge([ack(0, 0, ACCEPT)], { version: 1 })
  assert.equal(foreign.errorCode, ErrorCode.INVALID_RECORD_STATE, 'b does not hold record 0')
  const renewV1 = await a.acknowledge([ack(3, 3, RENEW)], { version: 1 })
  assert.equal(renewV1.errorCode, ErrorCode.INVALID_REQUEST, 'v1 has no RENEW')
  const malformed = await a.acknowledge([{ firstOffset: 2n, lastOffset: 1n, acknowledgeTypes: [ACCEPT] }])
  assert.equal(malformed.errorCode, ErrorCode.INVALID_REQUEST)
  const mixed = await a.acknowledge([{ firstOffset: 0n, lastOffset: 2n, acknowledgeTypes: [ACCEPT, RELEASE, REJECT] }])
  assert.equal(mixed.errorCode, ErrorCode.NONE)
  const renewed = await a.acknowledge([ack(3, 3, RENEW)], { renew: true })
  assert.equal(renewed.errorCode, ErrorCode.NONE)
  const renewWithout = await a.acknowledge([ack(3, 3, RENEW)])
  assert.equal(renewWithout.errorCode, ErrorCode.INVALID_REQUEST, 'RENEW only in a request marked is_renew_ack')

  const again = await b.fetch()
  assert.deepEqual(again.offsets, [1], 'only the released record comes back')
  assert.equal(again.deliveries.get(1), 2)
  const piggyBacked = await b.fetch({}, [ack(1, 1, ACCEPT)])
  assert.equal(piggyBacked.res.responses[0]?.partitions[0]?.acknowledgeErrorCode, ErrorCode.NONE)
  const closing = await a.acknowledge([ack(3, 3, ACCEPT)], { epoch: -1 })
  assert.equal(closing.errorCode, ErrorCode.NONE)
  assert.deepEqual(await startOffsetOf(broker, { groupId: 'acks', topicId: id, partition: 0 }), 4)

  const stale = await raw.send<ShareFetchResponse>(
    ApiKey.ShareFetch,
    2,
    createShareFetchRequest({ groupId: 'acks', memberId: 'b', shareSessionEpoch: 99, topics: [] }),
  )
  assert.equal(stale.errorCode, ErrorCode.INVALID_SHARE_SESSION_EPOCH)
  const none = await raw.send<ShareFetchResponse>(
    ApiKey.ShareFetch,
    1,
    createShareFetchRequest({ groupId: 'acks', memberId: 'nobody', shareSessionEpoch: 3, topics: [] }),
  )
  assert.equal(none.errorCode, ErrorCode.SHARE_SESSION_NOT_FOUND)
  const opening = await raw.send<ShareFetchResponse>(
    ApiKey.ShareFetch,
    1,
    createShareFetchRequest({
      groupId: 'acks',
      memberId: 'c',
      shareSessionEpoch: 0,
      topics: [
        {
          topicId: id,
          partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [ack(0, 0, ACCEPT)] }],
        },
      ],
    }),
  )
  assert.equal(opening.errorCode, ErrorCode.INVALID_REQUEST, 'no acknowledgements when opening a session')
})

test('an expired lock makes records available to another member; the delivery limit archives', async (t) => {
  const { broker, raw, produce } = await setup(t, {
    'group.share.record.lock.duration.ms': '300',
    'group.share.delivery.count.limit': '2',
  })
  const id = await topic(broker, 'share-locks', 1)
  const a = new ShareMember(raw, 'locks', 'a', id)
  const b = new ShareMember(raw, 'locks', 'b', id)
  await a.fetch()
  await produce('share-locks', ['x', 'y'])
  assert.deepEqual((await a.fetch()).offsets, [0, 1])
  // a never acknowledges: once its lock expires, b's long poll is woken with the records.
  const second = await b.fetch({ maxWaitMs: 20_000 })
  assert.deepEqual(second.offsets, [0, 1])
  assert.deepEqual([...second.deliveries.values()], [2, 2])
  // Delivered twice, the limit: when b's lock expires too, they are archived, not redelivered.
  const deadline = Date.now() + 20_000
  while ((await startOffsetOf(broker, { groupId: 'locks', topicId: id, partition: 0 })) !== 2) {
    assert.ok(Date.now() < deadline, 'the records were not archived')
    await new Promise((r) => setTimeout(r, 50))
  }
  assert.deepEqual((await a.fetch()).offsets, [])
  await produce('share-locks', ['z'])
  assert.deepEqual((await a.fetch({ maxWaitMs: 20_000 })).values, ['z'])
})

test('closing a share session releases what its member holds', async (t) => {
  const { broker, raw, produce } = await setup(t)
  const id = await topic(broker, 'share-close', 1)
  const a = new ShareMember(raw, 'close', 'a', id)
  const b = new ShareMember(raw, 'close', 'b', id)
  await a.fetch()
  await produce('share-close', ['p', 'q'])
  assert.deepEqual((await a.fetch()).offsets, [0, 1])
  assert.equal((await a.acknowledge([ack(0, 0, ACCEPT)], { epoch: -1 })).errorCode, ErrorCode.NONE)
  const got = await b.fetch()
  assert.deepEqual(got.offsets, [1], 'the accepted record stays done, the other is released')

  const other = await RawClient.connect(broker.port)
  const c = new ShareMember(other, 'close', 'c', id)
  await b.acknowledge([ack(1, 1, RELEASE)])
  assert.deepEqual((await c.fetch()).offsets, [1])
  await other.close()
  // c's connection closed: its session ends and record 1 is available again.
  const deadline = Date.now() + 20_000
  for (;;) {
    const r = await b.fetch({ maxWaitMs: 1000 })
    if (r.offsets.length > 0) {
      assert.deepEqual(r.offsets, [1])
      break
    }
    assert.ok(Date.now() < deadline, 'record 1 was not released when the connection closed')
  }
})

/**
 * Acknowledges some records, restarts the broker on the same storage, and checks that only the
 * others come back (as second deliveries).
 */
async function restartKeepsAcknowledgements(options: { storage: BrokerOptions['storage']; dataDir?: string }) {
  let id = ''
  {
    const { broker, raw, produce, close } = await setup(undefined, {}, options)
    try {
      id = await topic(broker, 'share-restart', 1)
      const a = new ShareMember(raw, 'restart', 'a', id)
      await a.fetch()
      await produce(
        'share-restart',
        Array.from({ length: 10 }, (_, i) => `v${i}`),
      )
      assert.equal((await a.fetch()).offsets.length, 10)
      assert.equal((await a.acknowledge([ack(0, 3, ACCEPT), ack(4, 4, REJECT), ack(6, 6, ACCEPT)])).errorCode, 0)
    } finally {
      await close()
    }
  }
  const { raw, close } = await setup(undefined, {}, options)
  try {
    const b = new ShareMember(raw, 'restart', 'b', id)
    const got = await b.fetch()
    assert.deepEqual(got.offsets, [5, 7, 8, 9], 'acknowledged and rejected records stay done')
    assert.deepEqual(
      got.offsets.map((o) => got.deliveries.get(o)),
      [2, 2, 2, 2],
    )
  } finally {
    await close()
  }
}

test('a restart on the local engine loses no acknowledgement and redelivers only the rest', async (t) => {
  const dataDir = await mkdtemp(joinPath(tmpdir(), 'samsa-share-'))
  t.after(() => rm(dataDir, { recursive: true, force: true }))
  await restartKeepsAcknowledgements({ storage: 'local', dataDir })
})

test('a restart on the postgres engine loses no acknowledgement and redelivers only the rest', async (t) => {
  if (!(await hasPostgres())) return t.skip(POSTGRES_MISSING)
  await restartKeepsAcknowledgements({ storage: (await freshDatabase()) as `postgres://${string}` })
})

const GROUP_RESOURCE = 32
const GROUP_CONFIG_SOURCE = 8

test('group configs: share.* set, checked and described on the GROUP resource; earliest and by_duration resets', async (t) => {
  const { broker, raw, produce } = await setup(t, { 'group.share.record.lock.duration.ms': '20000' })
  const alter = async (groupId: string, configs: Record<string, string | null>) => {
    const res = await raw.send<IncrementalAlterConfigsResponse>(
      ApiKey.IncrementalAlterConfigs,
      1,
      createIncrementalAlterConfigsRequest({
        resources: [
          {
            resourceType: GROUP_RESOURCE,
            resourceName: groupId,
            configs: Object.entries(configs).map(([name, value]) => ({
              name,
              configOperation: value === null ? 1 : 0,
              value,
            })),
          },
        ],
      }),
    )
    return res.responses[0]
  }
  assert.equal((await alter('cfg', { 'share.record.lock.duration.ms': '5000' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  assert.equal((await alter('cfg', { 'share.delivery.count.limit': '11' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  assert.equal((await alter('cfg', { 'share.auto.offset.reset': 'sometimes' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  assert.equal((await alter('cfg', { 'share.isolation.level': 'snapshot' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  assert.equal((await alter('cfg', { 'no.such.config': '1' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  assert.equal((await alter('', { 'share.delivery.count.limit': '3' }))?.errorCode, ErrorCode.INVALID_REQUEST)
  assert.equal((await alter('cfg', { 'share.session.timeout.ms': '1000' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  assert.equal((await alter('cfg', { 'share.heartbeat.interval.ms': '20000' }))?.errorCode, ErrorCode.INVALID_CONFIG)
  const ok = await alter('cfg', {
    'share.auto.offset.reset': 'earliest',
    'share.delivery.count.limit': '3',
    'share.heartbeat.interval.ms': '6000',
  })
  assert.equal(ok?.errorCode, ErrorCode.NONE, ok?.errorMessage ?? '')
  const joined = await join(raw, 'cfg', 'member-cfg', ['share-cfg'])
  assert.equal(joined.heartbeatIntervalMs, 6000, 'share.heartbeat.interval.ms of the group')
  await heartbeat(raw, { groupId: 'cfg', memberId: 'member-cfg', memberEpoch: -1 })

  const described = await raw.send<DescribeConfigsResponse>(
    ApiKey.DescribeConfigs,
    4,
    createDescribeConfigsRequest({
      resources: [{ resourceType: GROUP_RESOURCE, resourceName: 'cfg', configurationKeys: null }],
      includeSynonyms: true,
    }),
  )
  const configs = new Map(described.results[0]?.configs.map((c) => [c.name, c]))
  assert.equal(configs.get('share.auto.offset.reset')?.value, 'earliest')
  assert.equal(configs.get('share.auto.offset.reset')?.configSource, GROUP_CONFIG_SOURCE)
  assert.equal(configs.get('share.delivery.count.limit')?.value, '3')
  assert.equal(configs.get('share.isolation.level')?.value, 'read_uncommitted', "Kafka's default")
  const lock = configs.get('share.record.lock.duration.ms')
  assert.equal(lock?.value, '20000', 'the broker default stands behind the group config')
  assert.equal(lock?.synonyms[0]?.name, 'group.share.record.lock.duration.ms')

  const id = await topic(broker, 'share-cfg', 1)
  await produce('share-cfg', ['old-0', 'old-1'])
  const early = new ShareMember(raw, 'cfg', 'm', id)
  const got = await early.fetch()
  assert.deepEqual(got.values, ['old-0', 'old-1'], 'earliest: from the log start')
  assert.equal(got.res.acquisitionLockTimeoutMs, 20000)

  assert.equal((await alter('cfg-hour', { 'share.auto.offset.reset': 'by_duration:PT1H' }))?.errorCode, 0)
  const recent = new ShareMember(raw, 'cfg-hour', 'm', id)
  assert.deepEqual((await recent.fetch()).values, ['old-0', 'old-1'], 'by_duration: records of the last hour')
})
