import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'

describe('librdkafka consumer groups (kcat -G)', { skip: hasKcat ? false : KCAT_MISSING }, () => {
  let broker: Broker

  before(async () => {
    broker = await startBroker()
    await broker.core.topics.create('kg', 4, {})
    for (let p = 0; p < 4; p++) {
      const lines = Array.from({ length: 10 }, (_, i) => `p${p}-${i}`)
      await kcat(['-P', '-b', broker.bootstrap, '-t', 'kg', '-p', String(p)], `${lines.join('\n')}\n`)
    }
  })
  after(() => broker.close())

  const consume = async (group: string): Promise<string[]> => {
    const out = await kcat([
      '-b',
      broker.bootstrap,
      '-G',
      group,
      'kg',
      '-e',
      '-q',
      '-X',
      'auto.offset.reset=earliest',
      '-f',
      '%p:%o:%s\n',
    ])
    return out.split('\n').filter((l) => l !== '')
  }

  test('a group member reads every partition, commits, and a restart resumes after the commits', async () => {
    const first = await consume('kcat-group')
    assert.equal(first.length, 40)
    for (let p = 0; p < 4; p++) {
      const mine = first.filter((l) => l.startsWith(`${p}:`))
      assert.deepEqual(
        mine,
        Array.from({ length: 10 }, (_, i) => `${p}:${i}:p${p}-${i}`),
      )
    }
    const admin = kafkajsClient(broker.bootstrap).admin()
    await admin.connect()
    const [committed] = await admin.fetchOffsets({ groupId: 'kcat-group', topics: ['kg'] })
    assert.deepEqual(
      committed?.partitions.map((p) => [p.partition, p.offset]).sort(),
      [0, 1, 2, 3].map((p) => [p, '10']),
    )
    await admin.disconnect()
    await kcat(['-P', '-b', broker.bootstrap, '-t', 'kg', '-p', '2'], 'late\n')
    assert.deepEqual(await consume('kcat-group'), ['2:10:late'])
  })
})
