/** `samsa configs`, `samsa records delete` and `samsa cluster info` as real processes. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { HANDLERS } from '../../src/broker/handlers/index.ts'
import { Admin } from '../../src/client/admin.ts'
import { EARLIEST, listOffsets } from '../../src/client/offsets.ts'
import { Producer } from '../../src/client/producer.ts'
import { CLIENT_VERSIONS } from '../../src/client/versions.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { cli } from './helpers.ts'

let broker: Broker
let admin: Admin
let samsa: ReturnType<typeof cli>

before(async () => {
  broker = await startBroker()
  admin = new Admin({ bootstrap: broker.bootstrap })
  samsa = cli(broker.bootstrap)
})
after(async () => {
  await admin.close()
  await broker.close()
})

describe('samsa cli', { concurrency: true }, () => {
  test('configs describe and alter a topic', async () => {
    await admin.createTopics([{ name: 'conf', partitions: 1 }])
    const empty = await samsa(['configs', 'describe', '--topic', 'conf'])
    assert.equal(empty.code, 0, empty.stderr)
    assert.match(empty.stderr, /no overrides for topic conf/)
    const set = await samsa([
      'configs',
      'alter',
      '--topic',
      'conf',
      '--set',
      'retention.ms=5000',
      '--set',
      'max.message.bytes=2048',
    ])
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stderr, /updated topic conf: set retention\.ms, set max\.message\.bytes/)
    const table = await samsa(['configs', 'describe', '--topic', 'conf'])
    assert.match(
      table.stdout,
      /NAME\s+VALUE\s+SOURCE\s+READ-ONLY\nmax\.message\.bytes\s+2048\s+DYNAMIC_TOPIC_CONFIG\s+no\nretention\.ms\s+5000/,
    )
    const all = await samsa(['configs', 'describe', '--topic', 'conf', '--all', '--json'])
    const entries = JSON.parse(all.stdout) as { name: string; value: string; source: string }[]
    assert.ok(entries.length > 10)
    assert.equal(entries.find((e) => e.name === 'retention.ms')?.value, '5000')
    assert.equal(entries.find((e) => e.name === 'cleanup.policy')?.source, 'DEFAULT_CONFIG')
    const del = await samsa(['configs', 'alter', '--topic', 'conf', '--delete', 'retention.ms'])
    assert.equal(del.code, 0, del.stderr)
    const after = await admin.describeConfigs(2, 'conf')
    assert.deepEqual(
      after.map((c) => c.name),
      ['max.message.bytes'],
    )
    const validate = await samsa(['configs', 'alter', '--topic', 'conf', '--set', 'retention.ms=1', '--validate-only'])
    assert.equal(validate.code, 0, validate.stderr)
    assert.equal(
      (await admin.describeConfigs(2, 'conf')).some((c) => c.name === 'retention.ms'),
      false,
    )
    // Refused by the CLI with the broker's rule, before any request (exit code 2, usage).
    const bad = await samsa(['configs', 'alter', '--topic', 'conf', '--set', 'retention.ms=soon'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /invalid config retention\.ms=soon: retention\.ms must be an integer, got "soon"/)
    const missing = await samsa(['configs', 'describe', '--topic', 'no-topic'])
    assert.equal(missing.code, 1)
    const usage = await samsa(['configs', 'describe'])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /either --topic <name> or --broker/)
  })

  test('configs describe and alter the broker', async () => {
    const all = await samsa(['configs', 'describe', '--broker', '1', '--all', '--json'])
    assert.equal(all.code, 0, all.stderr)
    const entries = JSON.parse(all.stdout) as { name: string; value: string }[]
    assert.ok(entries.some((e) => e.name === 'num.partitions'))
    const set = await samsa(['configs', 'alter', '--broker', '1', '--set', 'log.retention.ms=123456'])
    assert.equal(set.code, 0, set.stderr)
    const overrides = await samsa(['configs', 'describe', '--broker', '--json'])
    const list = JSON.parse(overrides.stdout) as { name: string; value: string; source: string }[]
    assert.deepEqual(
      list.filter((e) => e.name === 'log.retention.ms').map((e) => e.value),
      ['123456'],
    )
  })

  test('records delete moves the log start offset', async () => {
    await admin.createTopics([{ name: 'trim', partitions: 2 }])
    const producer = new Producer(admin.cluster)
    await producer.sendMany(Array.from({ length: 20 }, (_, i) => ({ topic: 'trim', value: `v${i}`, partition: i % 2 })))
    const one = await samsa(['records', 'delete', 'trim', '--partition', '0', '--before', '4'])
    assert.equal(one.code, 0, one.stderr)
    assert.match(one.stdout, /PARTITION\s+LOW-WATERMARK\n\s*0\s+4\n/)
    let starts = await listOffsets(
      admin.cluster,
      [0, 1].map((partition) => ({ topic: 'trim', partition })),
      EARLIEST,
    )
    assert.deepEqual([...starts.values()], [4n, 0n])
    const all = await samsa(['records', 'delete', 'trim', '--before', 'latest', '--json'])
    assert.equal(all.code, 0, all.stderr)
    assert.deepEqual(JSON.parse(all.stdout), {
      topic: 'trim',
      partitions: [
        { partition: 0, lowWatermark: 10 },
        { partition: 1, lowWatermark: 10 },
      ],
    })
    starts = await listOffsets(
      admin.cluster,
      [0, 1].map((partition) => ({ topic: 'trim', partition })),
      EARLIEST,
    )
    assert.deepEqual([...starts.values()], [10n, 10n])
    const consumed = await samsa(['consume', 'trim', '--from-beginning'])
    assert.equal(consumed.stdout, '')
    const past = await samsa(['records', 'delete', 'trim', '--partition', '1', '--before', '50'])
    assert.equal(past.code, 1)
    assert.match(past.stderr, /offset 50 is past the end of trim\/1 \(10\)/)
    const noTopic = await samsa(['records', 'delete', 'nothing', '--before', '1'])
    assert.equal(noTopic.code, 1)
    const noFlag = await samsa(['records', 'delete', 'trim'])
    assert.equal(noFlag.code, 2)
  })

  test('cluster info lists the cluster, brokers and API versions', async () => {
    const text = await samsa(['cluster', 'info'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^Cluster id: \S+\nController: 1\n/)
    assert.match(text.stdout, new RegExp(`1\\*\\s+${broker.host.replace(/\./g, '\\.')}\\s+${broker.port}`))
    // MAX is what the broker serves, USED what the command's client speaks (the highest both know).
    const served = HANDLERS.find((h) => h.api.apiKey === ApiKey.Produce)?.maxVersion
    const used = CLIENT_VERSIONS.get(ApiKey.Produce)?.max
    assert.match(text.stdout, new RegExp(`\\n\\s+0\\s+Produce\\s+0\\s+${served}\\s+${used}\\n`))
    const json = await samsa(['cluster', 'info', '--json'])
    const info = JSON.parse(json.stdout) as {
      clusterId: string
      controllerId: number
      brokers: { nodeId: number; port: number }[]
      apis: { name: string; maxVersion: number; clientVersion: number | null }[]
    }
    assert.equal(info.clusterId, broker.core.clusterId)
    assert.deepEqual(
      info.brokers.map((b) => [b.nodeId, b.port]),
      [[1, broker.port]],
    )
    assert.equal(info.apis.find((a) => a.name === 'Fetch')?.clientVersion, 17)
    const noApis = await samsa(['cluster', 'info', '--no-apis', '--json'])
    assert.equal((JSON.parse(noApis.stdout) as { apis?: unknown }).apis, undefined)
  })
})
