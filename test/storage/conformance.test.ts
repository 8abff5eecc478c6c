/** One behaviour suite for every storage engine (engines.ts). */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { Compression } from '../../src/protocol/records/compression.ts'
import { isStorageError } from '../../src/storage/storage-error.ts'
import type { Storage } from '../../src/storage/types.ts'
import { engines } from './engines.ts'
import { appendInput, batchRanges, makeBatch, topicMeta, withOffset } from './helpers.ts'

const ALL = { minOneBatch: true }

for (const engine of engines) {
  describe(`storage conformance: ${engine.name}`, { skip: engine.skip }, () => {
    let storage: Storage
    let cleanup: () => Promise<void>
    let topicSeq = 0
    const newTopic = async (partitions = 1, configs: Record<string, string> = {}): Promise<string> => {
      const name = `t${++topicSeq}`
      assert.equal(await storage.createTopic(topicMeta(name, partitions, configs)), true)
      return name
    }

    before(async () => {
      ;({ storage, cleanup } = await engine.open())
    })
    after(() => cleanup())

    it('refuses use after close with an I/O-class error', async () => {
      const other = await engine.open()
      await other.storage.createTopic(topicMeta('closing'))
      await other.cleanup()
      const err = await other.storage
        .append('closing', 0, appendInput(makeBatch(['a'])), { durable: false, leaderEpoch: 0 })
        .catch((e) => e)
      assert.equal(err.errorCode, ErrorCode.KAFKA_STORAGE_ERROR)
      assert.equal(isStorageError(err), true)
    })

    it('reports itself healthy while it works, and not once closed', async () => {
      const other = await engine.open()
      await other.storage.createTopic(topicMeta('healthy'))
      await other.storage.append('healthy', 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 0 })
      assert.deepEqual(other.storage.health(), { ok: true })
      await other.cleanup()
      assert.deepEqual(other.storage.health(), { ok: false, error: 'storage is closed' })
    })

    it('runRetention ages batches by the engine clock: past retention.ms they go, the newest last', async () => {
      let now = 1_000_000
      const aged = await engine.open(() => now)
      // A segment per batch on the local engine, as the memory engine keeps them.
      await aged.storage.createTopic(topicMeta('aged', 1, { 'retention.ms': '60000', 'segment.bytes': '14' }))
      for (const [value, timestamp] of [
        ['old', now - 30_000],
        ['new', now],
      ] as const) {
        await aged.storage.append('aged', 0, appendInput(makeBatch([value], { timestamps: [timestamp] })), {
          durable: false,
          leaderEpoch: 0,
        })
      }
      await aged.storage.runRetention?.()
      assert.equal((await aged.storage.offsets('aged', 0)).logStartOffset, 0)
      now += 45_000
      await aged.storage.runRetention?.()
      assert.deepEqual(await aged.storage.offsets('aged', 0), {
        logStartOffset: 1,
        highWatermark: 2,
        lastStableOffset: 2,
      })
      now += 30_000
      await aged.storage.runRetention?.()
      assert.deepEqual(await aged.storage.offsets('aged', 0), {
        logStartOffset: 2,
        highWatermark: 2,
        lastStableOffset: 2,
      })
      await aged.cleanup()
    })

    it('runRetention ages batches without timestamps by when they were written', async () => {
      let now = Date.now()
      const aged = await engine.open(() => now)
      await aged.storage.createTopic(topicMeta('untimed', 1, { 'retention.ms': '3600000' }))
      await aged.storage.append('untimed', 0, appendInput(makeBatch(['a'], { timestamps: [-1] })), {
        durable: false,
        leaderEpoch: 0,
      })
      await aged.storage.runRetention?.()
      assert.equal((await aged.storage.offsets('untimed', 0)).logStartOffset, 0)
      now += 2 * 3_600_000
      await aged.storage.runRetention?.()
      assert.equal((await aged.storage.offsets('untimed', 0)).logStartOffset, 1)
      await aged.cleanup()
    })

    it('creates, lists, configures, grows and deletes topics', async () => {
      const meta = topicMeta('orders', 2, { 'retention.ms': '1000' })
      assert.equal(await storage.createTopic(meta), true)
      assert.equal(await storage.createTopic(topicMeta('orders', 5)), false)
      let listed = (await storage.listTopics()).find((t) => t.name === 'orders')
      assert.deepEqual(listed, meta)
      await storage.setTopicConfigs('orders', { 'cleanup.policy': 'compact' })
      await storage.createPartitions('orders', 4)
      listed = (await storage.listTopics()).find((t) => t.name === 'orders')
      assert.deepEqual(listed, { ...meta, partitionCount: 4, configs: { 'cleanup.policy': 'compact' } })
      await storage.append('orders', 3, appendInput(makeBatch(['a'])), { durable: false, leaderEpoch: 0 })
      assert.equal((await storage.offsets('orders', 3)).highWatermark, 1)
      await assert.rejects(storage.createPartitions('orders', 2), {
        name: 'EngineRequestError',
        reason: 'INVALID_PARTITIONS',
        errorCode: ErrorCode.INVALID_PARTITIONS,
      })
      assert.equal(await storage.deleteTopic('orders'), true)
      assert.equal(await storage.deleteTopic('orders'), false)
      assert.equal(
        (await storage.listTopics()).find((t) => t.name === 'orders'),
        undefined,
      )
      const gone = await storage.read('orders', 0, 0, 1000, ALL)
      assert.equal(gone.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      await assert.rejects(storage.offsets('orders', 0), { reason: 'UNKNOWN_TOPIC_OR_PARTITION' })
      // A topic created again under the same name starts empty.
      assert.equal(await storage.createTopic(topicMeta('orders', 1)), true)
      assert.deepEqual(await storage.offsets('orders', 0), { logStartOffset: 0, highWatermark: 0, lastStableOffset: 0 })
      await storage.deleteTopic('orders')
    })

    it('assigns offsets and reads batches back byte-exact', async () => {
      const t = await newTopic(2)
      const b1 = makeBatch(['a', 'b', 'c'])
      const b2 = makeBatch(['d'])
      const b3 = makeBatch(['e', 'f'], { compression: Compression.GZIP })
      const expected = Buffer.concat([withOffset(b1, 0), withOffset(b2, 3), withOffset(b3, 4)])
      const r1 = await storage.append(t, 1, appendInput(b1), { durable: false, leaderEpoch: 0 })
      const r2 = await storage.append(t, 1, appendInput(b2, b3), { durable: true, leaderEpoch: 0 })
      assert.deepEqual(r1, { baseOffset: 0, logStartOffset: 0 })
      assert.deepEqual(r2, { baseOffset: 3, logStartOffset: 0 })
      const read = await storage.read(t, 1, 0, 1 << 20, ALL)
      assert.equal(read.errorCode, ErrorCode.NONE)
      assert.deepEqual(read.records, expected)
      assert.deepEqual(read.offsets, { logStartOffset: 0, highWatermark: 6, lastStableOffset: 6 })
      assert.equal(await storage.partitionSize(t, 1), expected.length)
      assert.equal(await storage.partitionSize(t, 0), 0)
      // A read inside a batch starts with the batch containing the offset.
      assert.deepEqual(batchRanges((await storage.read(t, 1, 1, 1 << 20, ALL)).records), [
        [0, 2],
        [3, 3],
        [4, 5],
      ])
      assert.deepEqual(batchRanges((await storage.read(t, 1, 5, 1 << 20, ALL)).records), [[4, 5]])
      assert.deepEqual(batchRanges((await storage.read(t, 1, 3, 1 << 20, ALL)).records), [
        [3, 3],
        [4, 5],
      ])
    })

    it('honours maxBytes, minOneBatch (KIP-74) and maxOffset without splitting batches', async () => {
      const t = await newTopic()
      const batches = [makeBatch(['x'.repeat(100)]), makeBatch(['y'.repeat(100)]), makeBatch(['z'.repeat(100)])]
      for (const b of batches) await storage.append(t, 0, appendInput(b), { durable: false, leaderEpoch: 0 })
      const size = batches[0]?.length ?? 0
      let r = await storage.read(t, 0, 0, size * 2 + 10, { minOneBatch: false })
      assert.deepEqual(batchRanges(r.records), [
        [0, 0],
        [1, 1],
      ])
      assert.equal(r.records.length, size * 2)
      r = await storage.read(t, 0, 0, size - 1, { minOneBatch: false })
      assert.equal(r.records.length, 0)
      assert.equal(r.errorCode, ErrorCode.NONE)
      r = await storage.read(t, 0, 1, 10, { minOneBatch: true })
      assert.deepEqual(batchRanges(r.records), [[1, 1]])
      r = await storage.read(t, 0, 0, 1 << 20, { minOneBatch: true, maxOffset: 2 })
      assert.deepEqual(batchRanges(r.records), [
        [0, 0],
        [1, 1],
      ])
      r = await storage.read(t, 0, 2, 1 << 20, { minOneBatch: true, maxOffset: 2 })
      assert.equal(r.records.length, 0)
    })

    it('reports out-of-range reads as values', async () => {
      const t = await newTopic()
      await storage.append(t, 0, appendInput(makeBatch(['a', 'b'])), { durable: false, leaderEpoch: 0 })
      const atEnd = await storage.read(t, 0, 2, 1000, ALL)
      assert.equal(atEnd.errorCode, ErrorCode.NONE)
      assert.equal(atEnd.records.length, 0)
      const above = await storage.read(t, 0, 3, 1000, ALL)
      assert.equal(above.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
      assert.equal(above.records.length, 0)
      assert.equal(above.offsets.highWatermark, 2)
      const below = await storage.read(t, 0, -1, 1000, ALL)
      assert.equal(below.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
      const unknown = await storage.read(t, 7, 0, 1000, ALL)
      assert.equal(unknown.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      const refused = await storage
        .append(t, 7, appendInput(makeBatch(['a'])), { durable: false, leaderEpoch: 0 })
        .catch((e) => e)
      assert.equal(refused.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      assert.equal(isStorageError(refused), false)
    })

    it('finds offsets by timestamp and the max timestamp, to the record', async () => {
      const t = await newTopic()
      assert.equal(await storage.maxTimestamp(t, 0), null)
      assert.equal(await storage.offsetForTimestamp(t, 0, 0), null)
      await storage.append(t, 0, appendInput(makeBatch(['a', 'b', 'c'], { timestamps: [1000, 1010, 1020] })), {
        durable: false,
        leaderEpoch: 0,
      })
      await storage.append(
        t,
        0,
        appendInput(makeBatch(['d', 'e', 'f'], { timestamps: [1030, 1090, 1040], compression: Compression.LZ4 })),
        { durable: false, leaderEpoch: 0 },
      )
      await storage.append(t, 0, appendInput(makeBatch(['g'], { timestamps: [1050] })), {
        durable: false,
        leaderEpoch: 0,
      })
      assert.deepEqual(await storage.offsetForTimestamp(t, 0, 0), { offset: 0, timestamp: 1000 })
      assert.deepEqual(await storage.offsetForTimestamp(t, 0, 1015), { offset: 2, timestamp: 1020 })
      assert.deepEqual(await storage.offsetForTimestamp(t, 0, 1035), { offset: 4, timestamp: 1090 })
      assert.deepEqual(await storage.offsetForTimestamp(t, 0, 1090), { offset: 4, timestamp: 1090 })
      assert.equal(await storage.offsetForTimestamp(t, 0, 1091), null)
      assert.deepEqual(await storage.maxTimestamp(t, 0), { offset: 4, timestamp: 1090 })
      // LogAppendTime: every record carries the batch's max timestamp.
      await storage.append(t, 0, appendInput(makeBatch(['h', 'i'], { logAppendTime: 5000 })), {
        durable: false,
        leaderEpoch: 0,
      })
      assert.deepEqual(await storage.maxTimestamp(t, 0), { offset: 7, timestamp: 5000 })
      assert.deepEqual(await storage.offsetForTimestamp(t, 0, 2000), { offset: 7, timestamp: 5000 })
    })

    it('deletes records before an offset', async () => {
      const t = await newTopic()
      for (let i = 0; i < 4; i++) {
        await storage.append(t, 0, appendInput(makeBatch(['a', 'b'], { timestamps: [100 * i, 100 * i + 1] })), {
          durable: false,
          leaderEpoch: 0,
        })
      }
      assert.equal(await storage.deleteRecordsBefore(t, 0, 3), 3)
      assert.equal(await storage.deleteRecordsBefore(t, 0, 1), 3)
      assert.deepEqual(await storage.offsets(t, 0), { logStartOffset: 3, highWatermark: 8, lastStableOffset: 8 })
      assert.equal((await storage.read(t, 0, 2, 1000, ALL)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE)
      assert.deepEqual(batchRanges((await storage.read(t, 0, 3, 1 << 20, ALL)).records)[0], [2, 3])
      assert.deepEqual(await storage.offsetForTimestamp(t, 0, 0), { offset: 3, timestamp: 101 })
      const result = await storage.append(t, 0, appendInput(makeBatch(['c'])), { durable: false, leaderEpoch: 0 })
      assert.deepEqual(result, { baseOffset: 8, logStartOffset: 3 })
      await assert.rejects(storage.deleteRecordsBefore(t, 0, 10), { reason: 'OFFSET_OUT_OF_RANGE' })
      assert.equal(await storage.deleteRecordsBefore(t, 0, 9), 9)
      const empty = await storage.read(t, 0, 9, 1000, ALL)
      assert.equal(empty.errorCode, ErrorCode.NONE)
      assert.equal(empty.records.length, 0)
    })

    it('keeps appends of one partition in call order under concurrency', async () => {
      const t = await newTopic(2)
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          storage.append(t, i % 2, appendInput(makeBatch(['v'.repeat(i + 1), 'w'])), {
            durable: i % 3 === 0,
            leaderEpoch: 0,
          }),
        ),
      )
      for (let i = 0; i < 40; i++) assert.equal(results[i]?.baseOffset, Math.floor(i / 2) * 2)
      const read = await storage.read(t, 0, 0, 1 << 20, ALL)
      assert.equal(batchRanges(read.records).length, 20)
    })

    it('calls onAppend listeners after each append', async () => {
      const t = await newTopic(2)
      const events: [string, number, number][] = []
      const off = storage.onAppend((topic, partition, hw) => events.push([topic, partition, hw]))
      await storage.append(t, 1, appendInput(makeBatch(['a', 'b'])), { durable: false, leaderEpoch: 0 })
      await storage.append(t, 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 0 })
      off()
      await storage.append(t, 0, appendInput(makeBatch(['a'])), { durable: false, leaderEpoch: 0 })
      assert.deepEqual(events, [
        [t, 1, 2],
        [t, 0, 1],
      ])
    })

    it('stores kv namespaces with atomic multi-key writes', async () => {
      const { kv } = storage
      assert.equal(await kv.get('groups', 'g1'), undefined)
      await kv.put(
        'groups',
        new Map([
          ['g1', Buffer.from('one')],
          ['g2', Buffer.from('two')],
        ]),
      )
      await kv.put('offsets', new Map([['g1:t:0', Buffer.from([0, 0, 0, 5])]]))
      assert.deepEqual(await kv.get('groups', 'g1'), Buffer.from('one'))
      await kv.put(
        'groups',
        new Map<string, Buffer | null>([
          ['g1', null],
          ['g3', Buffer.from('three')],
        ]),
      )
      const listed = await kv.list('groups')
      assert.deepEqual([...listed.keys()].sort(), ['g2', 'g3'])
      assert.deepEqual(listed.get('g3'), Buffer.from('three'))
      // Values are copies: mutating one does not change the store.
      const got = (await kv.get('groups', 'g2')) as Buffer
      got[0] = 0
      assert.deepEqual(await kv.get('groups', 'g2'), Buffer.from('two'))
      await kv.drop('groups')
      assert.equal((await kv.list('groups')).size, 0)
      assert.deepEqual(await kv.get('offsets', 'g1:t:0'), Buffer.from([0, 0, 0, 5]))
      // Concurrent writes apply in call order.
      await Promise.all([
        kv.put('order', new Map([['k', Buffer.from('1')]])),
        kv.put('order', new Map([['k', Buffer.from('2')]])),
        kv.drop('order'),
        kv.put('order', new Map([['k', Buffer.from('3')]])),
      ])
      assert.deepEqual(await kv.get('order', 'k'), Buffer.from('3'))
    })

    it('kv compare-and-set: a write succeeds only at the version it read', async () => {
      const { kv } = storage
      assert.deepEqual(await kv.getVersioned('cas', 'g'), { value: undefined, version: 0 })
      const v1 = await kv.putIfVersion('cas', 'g', 0, Buffer.from('first'))
      assert.ok(v1 !== null && v1 > 0)
      assert.equal(await kv.putIfVersion('cas', 'g', 0, Buffer.from('lost race')), null)
      const read = await kv.getVersioned('cas', 'g')
      assert.deepEqual(read, { value: Buffer.from('first'), version: v1 })
      // A plain put moves the version too: a writer that read before it loses.
      await kv.put('cas', new Map([['g', Buffer.from('put')]]))
      assert.equal(await kv.putIfVersion('cas', 'g', v1, Buffer.from('stale')), null)
      const now = await kv.getVersioned('cas', 'g')
      assert.deepEqual(now.value, Buffer.from('put'))
      // Of two racing writers at the same version, exactly one wins.
      const raced = await Promise.all([
        kv.putIfVersion('cas', 'g', now.version, Buffer.from('a')),
        kv.putIfVersion('cas', 'g', now.version, Buffer.from('b')),
      ])
      assert.equal(raced.filter((v) => v !== null).length, 1)
      const won = await kv.getVersioned('cas', 'g')
      assert.deepEqual(won.value, Buffer.from(raced[0] !== null ? 'a' : 'b'))
      assert.notEqual(await kv.putIfVersion('cas', 'g', won.version, null), null)
      assert.equal(await kv.get('cas', 'g'), undefined)
    })

    it('kv allocate: concurrent allocations get disjoint ranges', async () => {
      const starts = await Promise.all(Array.from({ length: 20 }, () => storage.kv.allocate('ids', 'next', 10)))
      assert.deepEqual(
        [...starts].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i * 10),
      )
      assert.equal(await storage.kv.allocate('ids', 'next', 1), 200)
    })

    it('fences appends by leader epoch: a stale epoch is refused and writes nothing', async () => {
      const t = await newTopic(2)
      assert.equal(await storage.leaderEpoch(t, 0), 0)
      assert.equal(await storage.claimLeadership(t, 0, 3), 3)
      assert.equal(await storage.claimLeadership(t, 0, 2), 3, 'a lower claim does not lower the epoch')
      assert.equal(await storage.leaderEpoch(t, 0), 3)
      await assert.rejects(
        storage.append(t, 0, appendInput(makeBatch(['stale'])), { durable: true, leaderEpoch: 0 }),
        (err: unknown) => (err as { errorCode?: number }).errorCode === ErrorCode.FENCED_LEADER_EPOCH,
      )
      assert.equal((await storage.offsets(t, 0)).highWatermark, 0)
      const ok = await storage.append(t, 0, appendInput(makeBatch(['leader'])), { durable: true, leaderEpoch: 3 })
      assert.equal(ok.baseOffset, 0)
      // Each partition has its own epoch.
      assert.equal(
        (await storage.append(t, 1, appendInput(makeBatch(['p1'])), { durable: false, leaderEpoch: 0 })).baseOffset,
        0,
      )
    })

    it('tells leader epoch listeners of each claim that raises the epoch, and of no other', async () => {
      const t = await newTopic(2)
      const seen: string[] = []
      const off = storage.onLeaderEpoch((topic, partition, epoch) => {
        if (topic === t) seen.push(`${partition}@${epoch}`)
      })
      assert.equal(await storage.claimLeadership(t, 0, 2), 2)
      assert.equal(await storage.claimLeadership(t, 0, 2), 2, 'the same epoch again')
      assert.equal(await storage.claimLeadership(t, 0, 1), 2, 'a lower one')
      assert.equal(await storage.claimLeadership(t, 1, 0), 0, 'the epoch a new partition has')
      await storage.append(t, 0, appendInput(makeBatch(['a'])), { durable: true, leaderEpoch: 2 })
      assert.equal(await storage.claimLeadership(t, 1, 4), 4)
      assert.equal(await storage.claimLeadership(t, 0, 3), 3)
      off()
      assert.equal(await storage.claimLeadership(t, 0, 5), 5)
      assert.deepEqual(seen, ['0@2', '1@4', '0@3'])
    })

    it('tells metadata listeners about every topic change', async () => {
      const seen: string[] = []
      const off = storage.onMetadataChange((topic) => seen.push(topic))
      const t = await newTopic()
      await storage.setTopicConfigs(t, { 'retention.ms': '1000' })
      await storage.createPartitions(t, 3)
      await storage.deleteTopic(t)
      off()
      await newTopic()
      assert.deepEqual(seen, [t, t, t, t])
    })

    it('declares its capabilities', () => {
      const c = storage.capabilities
      assert.equal(typeof c.durable, 'boolean')
      assert.equal(typeof c.compaction, 'boolean')
      assert.equal(c.compaction, typeof storage.runCleaner === 'function')
      assert.equal(c.segments, typeof storage.onSegmentRolled === 'function')
    })
  })
}
