/**
 * share.isolation.level=read_committed (KIP-932) through raw ShareFetch requests, with kafkajs
 * transactional producers and samsa's producer writing between them: nothing at or past the last
 * stable offset is acquired, a committed transaction is delivered, an aborted one never is (its
 * records are archived, so the share-partition start offset moves past them), markers are never
 * delivered; a read_uncommitted group on the same partition sees every record.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Producer as KafkajsProducer } from 'kafkajs'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import {
  createIncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../../src/protocol/generated/incremental-alter-configs.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import type { RawClient } from '../helpers/raw-client.ts'
import { ACCEPT, ack, ShareMember, setup, startOffsetOf, topic } from './share-helpers.ts'

const GROUP_RESOURCE = 32

async function alterGroup(raw: RawClient, groupId: string, configs: Record<string, string>): Promise<number> {
  const res = await raw.send<IncrementalAlterConfigsResponse>(
    ApiKey.IncrementalAlterConfigs,
    1,
    createIncrementalAlterConfigsRequest({
      resources: [
        {
          resourceType: GROUP_RESOURCE,
          resourceName: groupId,
          configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })),
        },
      ],
    }),
  )
  return res.responses[0]?.errorCode ?? -1
}

/** Fetches (long-polling up to 10 s for the first records) and returns the values acquired. */
async function fetchValues(member: ShareMember, maxWaitMs = 10_000): Promise<{ values: string[]; offsets: number[] }> {
  const { res, values, offsets } = await member.fetch({ maxWaitMs })
  assert.equal(res.errorCode, ErrorCode.NONE)
  return { values, offsets }
}

test('read_committed share group: open, committed and aborted transactions among plain records', async (t) => {
  const { broker, raw, produce } = await setup(t, { 'transaction.max.timeout.ms': '60000' })
  const id = await topic(broker, 'share-rc', 1)
  assert.equal(await alterGroup(raw, 'rc', { 'share.isolation.level': 'READ_COMMITTED' }), ErrorCode.INVALID_CONFIG)
  assert.equal(
    await alterGroup(raw, 'rc', { 'share.isolation.level': 'read_committed', 'share.auto.offset.reset': 'earliest' }),
    ErrorCode.NONE,
  )
  assert.equal(await alterGroup(raw, 'ru', { 'share.auto.offset.reset': 'earliest' }), ErrorCode.NONE)

  const kafka = kafkajsClient(broker.bootstrap)
  const producers: KafkajsProducer[] = []
  t.after(async () => {
    for (const p of producers) await p.disconnect()
  })
  const transactional = async (transactionalId: string) => {
    const p = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 })
    producers.push(p)
    await p.connect()
    return p.transaction()
  }
  const send = (txn: Awaited<ReturnType<typeof transactional>>, value: string) =>
    txn.send({ topic: 'share-rc', messages: [{ value, partition: 0 }] })

  const committed = new ShareMember(raw, 'rc', 'member-rc', id)
  const uncommitted = new ShareMember(raw, 'ru', 'member-ru', id)

  await produce('share-rc', ['plain-0'])
  const txA = await transactional('share-rc-a')
  await send(txA, 'a-0')
  await produce('share-rc', ['plain-1'])
  const first = await fetchValues(committed)
  assert.deepEqual(first.values, ['plain-0'], 'nothing at or past the open transaction')
  assert.deepEqual((await fetchValues(committed, 0)).values, [], 'still nothing past the last stable offset')
  assert.deepEqual(
    (await fetchValues(uncommitted)).values,
    ['plain-0', 'a-0', 'plain-1'],
    'read_uncommitted sees the open transaction',
  )

  // Two transactions interleaved: A commits while B, opened after it, is still open.
  const txB = await transactional('share-rc-b')
  await send(txB, 'b-0')
  await send(txA, 'a-1')
  await txA.commit()
  const second = await fetchValues(committed)
  assert.deepEqual(second.values, ['a-0', 'plain-1'], "A's first record and what followed it, up to B's first record")

  await send(txB, 'b-1')
  await txB.abort()
  const third = await fetchValues(committed)
  assert.deepEqual(third.values, ['a-1'], "B's records are never delivered, nor either marker")
  await produce('share-rc', ['plain-2'])
  const fourth = await fetchValues(committed)
  assert.deepEqual(fourth.values, ['plain-2'])
  assert.deepEqual((await fetchValues(committed, 0)).values, [], 'nothing else, ever')

  // B's records are archived: they cannot be acknowledged, and once the delivered records are
  // accepted the start offset is the end of the log.
  const rest = await fetchValues(uncommitted)
  assert.deepEqual(rest.values, ['b-0', 'a-1', 'b-1', 'plain-2'], 'read_uncommitted sees the aborted records')
  for (const [i, value] of rest.values.entries()) {
    if (!value.startsWith('b-')) continue
    const o = rest.offsets[i] as number
    const { errorCode } = await committed.acknowledge([ack(o, o, ACCEPT)])
    assert.equal(errorCode, ErrorCode.INVALID_RECORD_STATE, `${value} is archived, not acquired`)
  }
  const delivered = [first, second, third, fourth].flatMap((f) => f.offsets)
  for (const o of delivered) assert.equal((await committed.acknowledge([ack(o, o, ACCEPT)])).errorCode, ErrorCode.NONE)
  const end = (await broker.core.storage.offsets('share-rc', 0)).highWatermark
  assert.equal(await startOffsetOf(broker, { groupId: 'rc', topicId: id, partition: 0 }), end)
})

test('read_committed: an aborted transaction larger than one fetch is skipped in one request', async (t) => {
  const { broker, raw, produce } = await setup(t, { 'transaction.max.timeout.ms': '60000' })
  const id = await topic(broker, 'share-rc-big', 1)
  assert.equal(
    await alterGroup(raw, 'big', { 'share.isolation.level': 'read_committed', 'share.auto.offset.reset': 'earliest' }),
    ErrorCode.NONE,
  )
  const kafka = kafkajsClient(broker.bootstrap)
  const p = kafka.producer({ transactionalId: 'share-rc-big', idempotent: true, maxInFlightRequests: 1 })
  t.after(() => p.disconnect())
  await p.connect()
  const txn = await p.transaction()
  for (let i = 0; i < 20; i++)
    await txn.send({ topic: 'share-rc-big', messages: [{ value: `aborted-${i}`.padEnd(200, '.'), partition: 0 }] })
  await txn.abort()
  await produce('share-rc-big', ['after'])
  const member = new ShareMember(raw, 'big', 'member-big', id)
  // A fetch of at most 1000 bytes reads a few of the aborted batches at a time.
  const { res, values } = await member.fetch({ maxWaitMs: 10_000, maxBytes: 1000 })
  assert.equal(res.errorCode, ErrorCode.NONE)
  assert.deepEqual(values, ['after'])
})
