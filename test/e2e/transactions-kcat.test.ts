/**
 * librdkafka's transactional producer through kcat (1.7+ with the Transactions feature: with
 * -X transactional.id it produces its input in one transaction and commits it on exit), read
 * back with read_committed. Skipped with a message when kcat is missing.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { hasKcat, KCAT_MISSING, kcat } from '../helpers/kcat.ts'

let broker: Broker

before(async () => {
  broker = await startBroker()
})
after(() => broker.close())

test('kcat transactional producer: committed records visible to read_committed', {
  skip: hasKcat ? false : KCAT_MISSING,
}, async () => {
  const topic = 'kcat-txn'
  await broker.core.topics.create(topic, 2, {})
  const lines = Array.from({ length: 50 }, (_, i) => `t${i}`)
  await kcat(['-P', '-b', broker.bootstrap, '-t', topic, '-X', 'transactional.id=kcat-txn-1'], `${lines.join('\n')}\n`)
  const txn = broker.core.txns.get('kcat-txn-1')
  assert.equal(txn?.state, 'CompleteCommit')
  const out = await kcat([
    '-C',
    '-b',
    broker.bootstrap,
    '-t',
    topic,
    '-o',
    'beginning',
    '-e',
    '-q',
    '-X',
    'isolation.level=read_committed',
    '-f',
    '%s\n',
  ])
  assert.deepEqual(out.trim().split('\n').sort(), [...lines].sort())
})
