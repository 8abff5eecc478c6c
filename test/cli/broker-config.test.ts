/** `samsa broker` with Kafka's own config files and names: applied, ignored with a reason, or refused. */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { spawnBroker } from '../helpers/broker-process.ts'
import { tempDir } from '../storage/helpers.ts'
import { cli, runCli } from './helpers.ts'

/** Kafka 4's config/server.properties (KRaft, broker and controller in one process), ports made free. */
const KAFKA_KRAFT_PROPERTIES = `
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=localhost:0
listeners=PLAINTEXT://:0,CONTROLLER://:0
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:0,CONTROLLER://localhost:0
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.network.threads=3
num.io.threads=8
socket.send.buffer.bytes=102400
socket.receive.buffer.bytes=102400
socket.request.max.bytes=104857600
log.dirs=DATA_DIR
num.partitions=3
num.recovery.threads.per.data.dir=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
log.retention.hours=168
log.segment.bytes=1073741824
log.retention.check.interval.ms=300000
`

let dir: { path: string; remove(): Promise<void> }

before(async () => {
  dir = await tempDir('samsa-cli-config-')
})
after(async () => {
  await dir.remove()
})

describe('samsa broker configs', () => {
  test("Kafka's KRaft server.properties starts the broker as is, and one log line says what has no effect", async (t) => {
    const file = join(dir.path, 'server.properties')
    await writeFile(file, KAFKA_KRAFT_PROPERTIES.replace('DATA_DIR', join(dir.path, 'kraft-logs')))
    const broker = await spawnBroker(join(dir.path, 'kraft-logs'), ['--config', file], { ownListeners: true })
    t.after(() => broker.stop())
    const samsa = cli(broker.bootstrap)
    const produced = await samsa(['produce', 'from-kafka-config'], { input: 'a\nb\nc\n' })
    assert.equal(produced.code, 0, produced.stderr)
    // num.partitions=3 from the file applies.
    const described = await samsa(['topics', 'describe', 'from-kafka-config', '--json'])
    assert.equal((JSON.parse(described.stdout) as { partitions: unknown[] }).partitions.length, 3)

    const lines = broker
      .output()
      .split('\n')
      .filter((l) => l.includes('broker configs:'))
    assert.equal(lines.length, 1, broker.output())
    const entry = JSON.parse(lines[0] as string) as { msg: string; ignoredConfigs: string[] }
    assert.deepEqual(entry.ignoredConfigs.sort(), [
      'controller.quorum.bootstrap.servers',
      'inter.broker.listener.name',
      'num.io.threads',
      'num.network.threads',
      'offsets.topic.replication.factor',
      'process.roles',
      'share.coordinator.state.topic.min.isr',
      'share.coordinator.state.topic.replication.factor',
      'socket.receive.buffer.bytes',
      'socket.send.buffer.bytes',
      'transaction.state.log.min.isr',
      'transaction.state.log.replication.factor',
    ])
    assert.match(
      entry.msg,
      /process\.roles, controller\.quorum\.bootstrap\.servers \(no KRaft controller quorum[^)]*\)/,
    )
    assert.match(entry.msg, /num\.network\.threads, num\.io\.threads \(one Node\.js event loop/)
    // Applied configs and the controller listener are not reported as ignored.
    assert.doesNotMatch(entry.msg, /num\.partitions|log\.dirs|controller\.listener\.names|CONTROLLER/)
  })

  test('Kafka 3 names: broker.id and log.dir are node.id and log.dirs, ZooKeeper settings are ignored', async (t) => {
    const file = join(dir.path, 'zk.properties')
    await writeFile(
      file,
      `broker.id=7\nlog.dir=${join(dir.path, 'zk-logs')}\nzookeeper.connect=localhost:2181\nzookeeper.connection.timeout.ms=18000\ngroup.initial.rebalance.delay.ms=0\n`,
    )
    const broker = await spawnBroker(join(dir.path, 'zk-logs'), ['--config', file])
    t.after(() => broker.stop())
    const info = await runCli(['cluster', 'info', '--json', '--bootstrap', broker.bootstrap])
    assert.equal(info.code, 0, info.stderr)
    assert.deepEqual(
      (JSON.parse(info.stdout) as { brokers: { nodeId: number }[] }).brokers.map((b) => b.nodeId),
      [7],
    )
    assert.match(broker.output(), /zookeeper\.connect, zookeeper\.connection\.timeout\.ms \(removed in Kafka 4\.0/)
  })

  test('names Kafka does not know are refused with the closest one; invalid values are a usage error', async () => {
    const run = (...set: string[]) =>
      runCli(['broker', '--memory', '--port', '0', ...set.flatMap((s) => ['--set', s])], { timeoutMs: 10_000 })
    const typo = await run('num.partiton=3')
    assert.equal(typo.code, 2)
    assert.equal(
      typo.stderr,
      'samsa: error: invalid broker configuration: unknown config num.partiton (did you mean num.partitions?); see samsa broker --help\n',
    )
    const topicName = await run('retention.ms=1000')
    assert.equal(topicName.code, 2)
    assert.match(topicName.stderr, /unknown config retention\.ms \(did you mean log\.retention\.ms\?\)/)
    const unknown = await run('frobnicate=1')
    assert.match(unknown.stderr, /unknown config frobnicate; see samsa broker --help\n$/)
    const bad = await run('num.partitions=0')
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /num\.partitions must be at least 1/)
    const tls = await runCli(['broker', '--memory', '--set', 'listeners=SSL://:0'])
    assert.equal(tls.code, 2)
    assert.match(
      tls.stderr,
      /listener SSL \(SSL\) has no key store: set ssl\.keystore\.type=PEM and ssl\.keystore\.location/,
    )
    const missing = await runCli(['broker', '--memory', '--config', join(dir.path, 'nope.properties')])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /cannot read --config/)
  })
})
