/**
 * The broker's topic cache follows storage's metadata notifications: what another broker sharing
 * the store creates, alters, grows or deletes shows up here, with the same change events as this
 * broker's own changes. Two registries over one engine stand for two brokers over one database.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type TopicChange, TopicRegistry } from '../../src/broker/topics.ts'
import { openStorage } from '../../src/storage/open-storage.ts'

test('a topic created, altered, grown and deleted through one registry is seen by another over the same storage', async () => {
  const storage = await openStorage({ engine: 'memory' })
  const here = new TopicRegistry(storage, () => ({}))
  const there = new TopicRegistry(storage, () => ({}))
  await Promise.all([here.load(), there.load()])
  const seenHere: TopicChange[] = []
  const seenThere: TopicChange[] = []
  here.onChange((c) => {
    seenHere.push(c)
  })
  there.onChange((c) => {
    seenThere.push(c)
  })

  const created = await here.create('orders', 2, { 'retention.ms': '1000' })
  await there.settled()
  assert.equal(there.get('orders')?.topicId, created?.topicId)
  assert.equal(there.logConfig('orders').retentionMs, 1000)

  await here.setConfigs('orders', { 'retention.ms': '2000' })
  await there.settled()
  assert.equal(there.logConfig('orders').retentionMs, 2000)

  await here.setPartitionCount('orders', 3)
  await there.settled()
  assert.equal(there.hasPartition('orders', 2), true)

  await here.delete('orders')
  await there.settled()
  assert.equal(there.get('orders'), undefined)

  const kinds = (changes: TopicChange[]) => changes.map((c) => `${c.kind} ${c.name}`)
  assert.deepEqual(kinds(seenHere), ['created orders', 'partitions orders', 'deleted orders'])
  assert.deepEqual(kinds(seenThere), kinds(seenHere), 'the other registry sees the same events, once each')
  await storage.close()
})
