/** `samsa offsets list` as a real process, checked against what kafkajs' admin reads. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Admin as KafkaAdmin } from 'kafkajs'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Admin } from '../../src/client/admin.ts'
import { Producer } from '../../src/client/producer.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { cli } from './helpers.ts'

let broker: Broker
let admin: Admin
let kafka: KafkaAdmin
let samsa: ReturnType<typeof cli>

before(async () => {
  broker = await startBroker()
  admin = new Admin({ bootstrap: broker.bootstrap })
  kafka = kafkajsClient(broker.bootstrap).admin()
  await kafka.connect()
  samsa = cli(broker.bootstrap)
  await admin.createTopics([
    { name: 'offs', partitions: 3 },
    { name: 'other', partitions: 1 },
  ])
  const producer = new Producer(admin.cluster)
  // Partition 0: offsets 0-4 at t=1000..5000; partition 1: one record at t=9000; partition 2 empty.
  await producer.sendMany([
    ...[1, 2, 3, 4, 5].map((i) => ({ topic: 'offs', partition: 0, value: `v${i}`, timestamp: i * 1000 })),
    { topic: 'offs', partition: 1, value: 'late', timestamp: 9000 },
    { topic: 'other', partition: 0, value: 'x', timestamp: 1000 },
  ])
  await admin.deleteRecords('offs', [{ partition: 0, offset: 2n }])
})
after(async () => {
  await kafka.disconnect()
  await admin.close()
  await broker.close()
})

type Row = { topic: string; partition: number; offset: number | null }
async function list(args: string[]): Promise<Row[]> {
  const res = await samsa(['offsets', 'list', ...args, '--json'])
  assert.equal(res.code, 0, res.stderr)
  return JSON.parse(res.stdout) as Row[]
}
const offsetsOf = (rows: Row[]): (number | null)[] => rows.map((r) => r.offset)

describe('samsa offsets list', { concurrency: true }, () => {
  test('latest and earliest agree with kafkajs fetchTopicOffsets', async () => {
    const theirs = (await kafka.fetchTopicOffsets('offs')).sort((a, b) => a.partition - b.partition)
    assert.deepEqual(
      offsetsOf(await list(['offs'])),
      theirs.map((o) => Number(o.high)),
    )
    assert.deepEqual(
      offsetsOf(await list(['offs', '--time', 'earliest'])),
      theirs.map((o) => Number(o.low)),
    )
    assert.deepEqual(offsetsOf(await list(['offs', '--time', 'earliest'])), [2, 0, 0])
  })

  test('by time, as kafkajs fetchTopicOffsetsByTimestamp; max names the record with the largest timestamp', async () => {
    const theirs = (await kafka.fetchTopicOffsetsByTimestamp('offs', 3500)).sort((a, b) => a.partition - b.partition)
    const ours = await list(['offs', '--time', '3500'])
    // kafkajs reports "no such record" as the high watermark; samsa says null (Kafka's -1).
    assert.deepEqual(offsetsOf(ours), [3, 0, null])
    assert.deepEqual(theirs.map((o) => Number(o.offset)).slice(0, 2), [3, 0])
    assert.deepEqual(offsetsOf(await list(['offs', '--time', '1970-01-01T00:00:04Z'])), [3, 0, null])
    assert.deepEqual(offsetsOf(await list(['offs', '--time', 'max', '-p', '0,1'])), [4, 0])
  })

  test('several topics, partitions, the table, and errors', async () => {
    const both = await list(['offs', 'other'])
    assert.deepEqual(
      both.map((r) => `${r.topic}/${r.partition}=${r.offset}`),
      ['offs/0=5', 'offs/1=1', 'offs/2=0', 'other/0=1'],
    )
    const table = await samsa(['offsets', 'list', 'offs', '-p', '2', '--time', '99999'])
    assert.equal(table.stdout, 'TOPIC  PARTITION  OFFSET\noffs           2       -\n')
    const bad = await samsa(['offsets', 'list', 'offs', '--time', 'soon'])
    assert.equal(bad.code, 2)
    assert.match(
      bad.stderr,
      /invalid --time "soon" \(earliest, latest, max, milliseconds since the epoch or an ISO date\)/,
    )
    const missing = await samsa(['offsets', 'list', 'offs', '-p', '7'])
    assert.equal(missing.code, 1)
    assert.match(
      missing.stderr,
      /UNKNOWN_TOPIC_OR_PARTITION \(offs\/7\): partition does not exist \(offs has partitions 0-2\)/,
    )
    const unknown = await samsa(['offsets', 'list', 'nope'])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /UNKNOWN_TOPIC_OR_PARTITION \(nope\): topic does not exist/)
  })
})
