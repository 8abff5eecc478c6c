/**
 * `samsa top` through the built binary against a broker with an HTTP port, after kafkajs traffic:
 * --once --json gives the topic's bytes and records, each API's requests and the group's lag
 * (produced minus committed); the text frame shows the same; the live view prints frames until
 * Ctrl-C and exits 0; a port with no broker is one line saying to start it with --http-port.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { TopFrame } from '../../src/cli/commands/top.ts'
import { parseMetricsText, sumOf } from '../../src/cli/metrics-text.ts'
import { freePort } from '../../src/util/free-port.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { runCli, useCliBroker } from './helpers.ts'

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const CLI = fileURLToPath(new URL('../../src/cli/index.js', import.meta.url))

describe('samsa top', () => {
  const env = useCliBroker({ httpPort: 0 })
  const http = () => `http://localhost:${env.broker.httpPort}`

  /** 10 records to `watched`, 4 of them consumed and committed by group `watchers`. */
  async function traffic(): Promise<void> {
    const kafka = kafkajsClient(env.broker.bootstrap)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'watched', numPartitions: 1 }] })
    await admin.setOffsets({ groupId: 'watchers', topic: 'watched', partitions: [{ partition: 0, offset: '0' }] })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'watched', messages: Array.from({ length: 10 }, (_, i) => ({ value: `event-${i}` })) })
    await producer.disconnect()
    await admin.setOffsets({ groupId: 'watchers', topic: 'watched', partitions: [{ partition: 0, offset: '4' }] })
    await admin.disconnect()
  }

  it('--once --json: topic traffic, requests per API and group lag', async () => {
    await traffic()
    const res = await runCli(['top', '--http', http(), '--once', '--json', '--interval', '0.2'])
    assert.equal(res.code, 0, res.stderr)
    const frame = JSON.parse(res.stdout) as TopFrame
    const metrics = parseMetricsText(await (await fetch(`${http()}/metrics`)).text())
    const topic = frame.topics.find((t) => t.topic === 'watched')
    assert.ok(topic, res.stdout)
    assert.equal(topic.bytesIn, sumOf(metrics, 'samsa_topic_bytes_in_total', { topic: 'watched' }))
    assert.ok(topic.bytesIn > 0)
    const produce = frame.apis.find((a) => a.api === 'Produce')
    assert.equal(produce?.requests, 1)
    assert.ok((frame.apis.find((a) => a.api === 'Metadata')?.requests ?? 0) >= 1)
    const group = frame.groups.find((g) => g.group === 'watchers')
    assert.equal(group?.lag, 6)
    assert.equal(frame.url, http())
  })

  it('--once prints one text frame with the topic, the APIs and the group', async () => {
    const res = await runCli(['top', '--http', http(), '--once', '--interval', '0.2'])
    assert.equal(res.code, 0, res.stderr)
    // The interval shown is the one measured between the two scrapes, to a tenth of a second.
    assert.match(res.stdout, /^samsa top: http:\/\/localhost:\d+, every \d+(\.\d)? s;/)
    assert.match(res.stdout, /^TOPIC +IN\/S/m)
    assert.match(res.stdout, /^watched /m)
    assert.match(res.stdout, /^Produce +\S+ +1 /m)
    assert.match(res.stdout, /^watchers +\S* *0 +6$/m)
    assert.match(res.stdout, /^storage: append p99 /m)
  })

  it('the live view prints frames until Ctrl-C, then exits 0', async () => {
    const child = spawn(process.execPath, [CLI, 'top', '--http', http(), '--interval', '0.1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
    const deadline = Date.now() + 15_000
    while ((out.match(/^samsa top:/gm)?.length ?? 0) < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    assert.ok((out.match(/^samsa top:/gm)?.length ?? 0) >= 2, out)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
  })

  it('says to start the broker with --http-port when nothing answers (exit code 3)', async () => {
    const port = await freePort()
    const res = await runCli(['top', '--http', `http://localhost:${port}`, '--once'])
    assert.equal(res.code, 3)
    assert.equal(res.stdout, '')
    const lines = res.stderr.trim().split('\n')
    assert.equal(lines.length, 1, res.stderr)
    assert.match(
      lines[0] as string,
      /^samsa: error: cannot reach the broker's HTTP port at http:\/\/localhost:\d+ .*--http-port/,
    )
  })

  it('refuses a bad --interval as a usage error', async () => {
    const res = await runCli(['top', '--interval', '0'])
    assert.equal(res.code, 2)
    assert.match(res.stderr, /invalid --interval/)
  })
})
